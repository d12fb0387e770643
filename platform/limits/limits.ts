/**
 * Abuse limits as policy (docs/operations.md, "Rate limits and login
 * throttling"): services declare named policies on `ctx.limits` and apply
 * them to the keys they choose (an address, a user, a handle+address), in
 * their handlers before the expensive work.
 *
 *   const signUps = ctx.limits.bucket("sign_up_per_address", { capacity: 20, periodMs: 3_600_000 });
 *   await signUps.take(hctx, address);   // ResourceExhausted with a retry hint when over
 *
 * A refusal is a ConnectError `resource_exhausted` whose message says when to
 * retry ("…; try again in 12 s") and whose metadata carries `retry-after`
 * (seconds, as HTTP's header); it is counted in
 * `orbit_limits_throttled_total{service,method,reason}` and logged once per
 * episode (the first refusal of a key after 60 s without one), never per
 * request. State lives in a LimitStore: this bundle's memory, or Redis shared
 * by every bundle (`--redis`).
 */
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { Counter, type Registry } from "prom-client";
import { CLIENT_ADDRESS_HEADER } from "../http/client-address.js";
import type { Logger } from "../log.js";
import { callScope } from "../rpc/call-scope.js";
import type { BackoffRule, BucketRule, LimitStore } from "./store.js";

export type { BackoffRule, BucketRule } from "./store.js";

/** A token bucket per key. A capacity of 0 turns the policy off. */
export interface RatePolicy {
  /** Takes one call's token for `key`, or throws ResourceExhausted. */
  take(hctx: HandlerContext | undefined, key: string): Promise<void>;
}

/** Exponential backoff per key: strikes past `free` impose doubling penalties. */
export interface BackoffPolicy {
  /** Throws ResourceExhausted while `key` serves a penalty; else counts a strike. */
  strike(hctx: HandlerContext | undefined, key: string): Promise<void>;
  /** Throws ResourceExhausted while `key` serves a penalty; counts nothing. */
  check(hctx: HandlerContext | undefined, key: string): Promise<void>;
  /** Counts a strike without refusing (the attempt already happened). */
  record(key: string): Promise<void>;
  forgive(key: string): Promise<void>;
}

/** A fixed-window cap per key. A limit of 0 turns the policy off. */
export interface WindowPolicy {
  /** Counts one for `key`; throws ResourceExhausted once the window holds more than `limit`. */
  count(hctx: HandlerContext | undefined, key: string): Promise<void>;
  /** Throws ResourceExhausted while the window of `key` holds `limit` or more; counts nothing. */
  check(hctx: HandlerContext | undefined, key: string): Promise<void>;
  /** Counts one for `key` without refusing (the attempt already happened). */
  add(key: string): Promise<void>;
}

/** Flags per key that last `ttlMs` (e.g. the addresses a handle logged in from). */
export interface MarkSet {
  mark(key: string): Promise<void>;
  has(key: string): Promise<boolean>;
}

export interface PolicyText {
  /** What was refused, for the message: "too many sign-ups from your address". */
  readonly refused: string;
}

/** What a service sees as `ctx.limits`. */
export interface LimitsView {
  bucket(reason: string, rule: BucketRule & PolicyText): RatePolicy;
  backoff(reason: string, rule: BackoffRule & PolicyText): BackoffPolicy;
  window(reason: string, rule: { readonly limit: number; readonly windowMs: number } & PolicyText): WindowPolicy;
  marks(name: string, ttlMs: number): MarkSet;
}

/**
 * The key of "per caller" limits: the signed-in user (`user:<id>`), else the
 * client address the kernel stamped (`address:<a>`), else `in-process`.
 */
export function callerKey(hctx: HandlerContext): string {
  const user = callScope(hctx).identity?.userId;
  if (user !== undefined) return `user:${user}`;
  const address = hctx.requestHeader.get(CLIENT_ADDRESS_HEADER);
  return address ? `address:${address}` : "in-process";
}

/** A quiet gap this long ends a throttling episode (the next refusal logs again). */
const EPISODE_GAP_MS = 60_000;
const MAX_EPISODES = 10_000;

export class Limits {
  private readonly throttled: Counter<"service" | "method" | "reason">;
  private readonly episodes = new Map<string, { since: number; last: number; refused: number }>();

  constructor(
    readonly store: LimitStore,
    private readonly log: Logger,
    registry: Registry | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.throttled = new Counter({
      name: "orbit_limits_throttled_total",
      help: "Calls refused by an abuse limit (resource_exhausted), by method and the limit's reason.",
      labelNames: ["service", "method", "reason"],
      registers: registry ? [registry] : [],
    });
  }

  /** The view of service `service`: its policies' keys are its own. */
  view(service: string): LimitsView {
    const ns = (reason: string, key: string) => `${service}:${reason}:${key}`;
    const refuse = (hctx: HandlerContext | undefined, reason: string, key: string, text: PolicyText, ms: number) =>
      this.refuse(service, hctx, reason, key, text.refused, ms);
    return {
      bucket: (reason, rule) => ({
        take: async (hctx, key) => {
          if (rule.capacity <= 0) return;
          const ms = await this.store.take(ns(reason, key), rule, this.now());
          if (ms > 0) refuse(hctx, reason, key, rule, ms);
        },
      }),
      backoff: (reason, rule) => ({
        strike: async (hctx, key) => {
          const ms = await this.store.strike(ns(reason, key), rule, this.now());
          if (ms > 0) refuse(hctx, reason, key, rule, ms);
        },
        check: async (hctx, key) => {
          const ms = await this.store.penalty(ns(reason, key), this.now());
          if (ms > 0) refuse(hctx, reason, key, rule, ms);
        },
        record: async (key) => void (await this.store.strike(ns(reason, key), rule, this.now())),
        forgive: (key) => this.store.forgive(ns(reason, key)),
      }),
      window: (reason, rule) => ({
        count: async (hctx, key) => {
          if (rule.limit <= 0) return;
          const { n, resetMs } = await this.store.count(ns(reason, key), rule.windowMs, rule.limit, this.now());
          if (n > rule.limit) refuse(hctx, reason, key, rule, resetMs);
        },
        check: async (hctx, key) => {
          if (rule.limit <= 0) return;
          const { n, resetMs } = await this.store.peek(ns(reason, key), this.now());
          if (n >= rule.limit) refuse(hctx, reason, key, rule, resetMs);
        },
        add: async (key) => {
          if (rule.limit > 0) await this.store.count(ns(reason, key), rule.windowMs, rule.limit, this.now());
        },
      }),
      marks: (name, ttlMs) => ({
        mark: (key) => this.store.mark(ns(name, key), ttlMs, this.now()),
        has: (key) => this.store.has(ns(name, key), this.now()),
      }),
    };
  }

  private refuse(
    service: string,
    hctx: HandlerContext | undefined,
    reason: string,
    key: string,
    refused: string,
    ms: number,
  ): never {
    const method = hctx?.method.name ?? "";
    this.throttled.inc({ service, method, reason });
    const retryS = Math.max(1, Math.ceil(ms / 1000));
    const now = this.now();
    const id = `${service}:${reason}:${key}`;
    const ep = this.episodes.get(id);
    if (ep && now - ep.last < EPISODE_GAP_MS) {
      ep.last = now;
      ep.refused++;
    } else {
      if (this.episodes.size >= MAX_EPISODES) this.episodes.delete(this.episodes.keys().next().value!);
      this.episodes.delete(id);
      this.episodes.set(id, { since: now, last: now, refused: 1 });
      this.log.warn(
        { service, method, reason, key, retryS },
        `limits: throttling ${reason} for ${key} (logged once per episode; counted in orbit_limits_throttled_total)`,
      );
    }
    throw new ConnectError(`${refused}; try again in ${retryS} s`, Code.ResourceExhausted, {
      "retry-after": String(retryS),
    });
  }
}
