/**
 * SignUp and LogIn limits, declared as policies on `ctx.limits`
 * (platform/limits: in memory, or shared by every bundle through Redis with
 * `--redis`). They slow guessing without locking the owner out:
 *
 *   sign_up_per_address         a token bucket per client address (`--user-sign-up-per-address` an hour)
 *   log_in_per_address          a token bucket per address on every attempt, failed or not (`--user-log-in-per-address` a minute)
 *   login_backoff               per handle+address: after `--user-login-free-failures` failures each
 *                               further attempt waits 1 s, 2 s, 4 s… up to `--user-login-max-delay-s`;
 *                               the owner logging in from another address is not affected, and a
 *                               success from this address forgets them
 *   login_failures_per_address  per address, any handles (password spraying): the same backoff past
 *                               `--user-login-failures-per-address` failures in 15 min
 *   login_handle_cap            per handle, failures from addresses that never logged in to it: past
 *                               `--user-login-handle-cap` in 15 min, only addresses the handle logged in
 *                               from or signed up from (remembered 30 days) may try. A distributed attack can make
 *                               the owner use a familiar address; it can never lock them out of it.
 *
 * An attempt counts against its handle+address from the moment it starts
 * until it succeeds: checking only after the slow password hash would let a
 * burst of concurrent guesses through before the first is recorded.
 */
import type { HandlerContext } from "@connectrpc/connect";
import type { LimitsView } from "../../platform/kernel/parts/limits.js";

export interface LoginRules {
  readonly signUpPerHour: number;
  readonly logInPerMinute: number;
  readonly freeFailures: number;
  readonly maxDelayMs: number;
  readonly failuresPerAddress: number;
  readonly handleCap: number;
}

export const DEFAULT_LOGIN_RULES: LoginRules = {
  signUpPerHour: 100,
  logInPerMinute: 60,
  freeFailures: 5,
  maxDelayMs: 900_000,
  failuresPerAddress: 50,
  handleCap: 100,
};

/** How long failures count, and how long an address that logged in stays familiar. */
export const FAILURE_WINDOW_MS = 15 * 60_000;
export const FAMILIAR_MS = 30 * 24 * 3_600_000;
const FIRST_DELAY_MS = 1_000;

/** In-process calls carry no address: they share this key. */
const NO_ADDRESS = "in-process";

/** A login attempt in progress: it counts as a failure unless `succeeded` is called. */
export interface LoginAttempt {
  succeeded(): Promise<void>;
  failed(): Promise<void>;
}

export class LoginThrottle {
  private readonly signUps;
  private readonly logIns;
  private readonly pair;
  private readonly address;
  private readonly handle;
  private readonly familiar;

  constructor(limits: LimitsView, rules: LoginRules = DEFAULT_LOGIN_RULES) {
    this.signUps = limits.bucket("sign_up_per_address", {
      capacity: rules.signUpPerHour,
      periodMs: 3_600_000,
      refused: "too many sign-ups from your address",
    });
    this.logIns = limits.bucket("log_in_per_address", {
      capacity: rules.logInPerMinute,
      periodMs: 60_000,
      refused: "too many log-ins from your address",
    });
    this.pair = limits.backoff("login_backoff", {
      free: rules.freeFailures,
      baseMs: FIRST_DELAY_MS,
      maxMs: rules.maxDelayMs,
      windowMs: FAILURE_WINDOW_MS,
      refused: "too many failed logins",
    });
    this.address = limits.backoff("login_failures_per_address", {
      free: rules.failuresPerAddress,
      baseMs: FIRST_DELAY_MS,
      maxMs: rules.maxDelayMs,
      windowMs: FAILURE_WINDOW_MS,
      refused: "too many failed logins from your address",
    });
    this.handle = limits.window("login_handle_cap", {
      limit: rules.handleCap,
      windowMs: FAILURE_WINDOW_MS,
      refused:
        "too many failed logins for this account from unfamiliar addresses; log in from an address you used before",
    });
    this.familiar = limits.marks("login_familiar", FAMILIAR_MS);
  }

  /** Throws ResourceExhausted when `address` made too many sign-ups. */
  async signUp(hctx: HandlerContext | undefined, address: string | undefined): Promise<void> {
    if (address !== undefined) await this.signUps.take(hctx, address);
  }

  /** The address an account was created from is familiar to its handle (as after a log-in). */
  async signedUp(handleKey: string, address: string | undefined): Promise<void> {
    if (address !== undefined) await this.familiar.mark(`${handleKey}|${address}`);
  }

  /**
   * Starts an attempt to log in to `handleKey` from `address`: throws
   * ResourceExhausted when a limit refuses it, else counts it as a failure
   * of the handle+address until it succeeds.
   */
  async begin(hctx: HandlerContext | undefined, handleKey: string, address: string | undefined): Promise<LoginAttempt> {
    const from = address ?? NO_ADDRESS;
    const pairKey = `${handleKey}|${from}`;
    if (address !== undefined) {
      await this.logIns.take(hctx, address);
      await this.address.check(hctx, address);
    }
    const familiar = address !== undefined && (await this.familiar.has(pairKey));
    if (!familiar) await this.handle.check(hctx, handleKey);
    await this.pair.strike(hctx, pairKey);
    return {
      succeeded: async () => {
        await this.pair.forgive(pairKey);
        if (address !== undefined) await this.familiar.mark(pairKey);
      },
      failed: async () => {
        if (address !== undefined) await this.address.record(address);
        if (!familiar) await this.handle.add(handleKey);
      },
    };
  }
}
