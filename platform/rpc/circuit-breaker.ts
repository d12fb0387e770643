/**
 * A circuit breaker per peer process. After `failureThreshold` consecutive
 * calls fail without an answer from the peer (connection refused or reset,
 * or no answer before the deadline), the circuit opens: calls fail at once with Unavailable,
 * without touching the network. After `openMs` one call is let through as a
 * probe (half-open): if it gets any answer from the peer the circuit closes,
 * otherwise it stays open for twice as long (up to `maxOpenMs`). So a dead
 * peer costs callers nothing, and a peer that comes back is used again
 * without anyone intervening.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { isTransportFailure } from "./errors.js";

export type CircuitState = "closed" | "open" | "half-open";

export interface CircuitBreakerOptions {
  /** Name for error messages and metrics (the peer). */
  readonly name: string;
  /** Consecutive failures that open the circuit. Default 5. */
  readonly failureThreshold?: number;
  /** First wait before a probe. Default 500 ms. */
  readonly openMs?: number;
  /** Longest wait before a probe. Default 5 s. */
  readonly maxOpenMs?: number;
  readonly now?: () => number;
  readonly onStateChange?: (state: CircuitState) => void;
}

/**
 * The errors that count against the peer: it could not be reached or did not
 * answer in time. Errors the peer answered with (NotFound, or Unavailable
 * from a handler) mean it is up.
 */
export function isPeerFailure(err: unknown): boolean {
  const e = ConnectError.from(err);
  return e.code === Code.DeadlineExceeded || isTransportFailure(e);
}

export class CircuitBreaker {
  private stateValue: CircuitState = "closed";
  private failures = 0;
  private openUntil = 0;
  private openMs: number;
  private probing = false;
  private readonly threshold: number;
  private readonly baseOpenMs: number;
  private readonly maxOpenMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: CircuitBreakerOptions) {
    this.threshold = opts.failureThreshold ?? 5;
    this.baseOpenMs = this.openMs = opts.openMs ?? 500;
    this.maxOpenMs = opts.maxOpenMs ?? 5_000;
    this.now = opts.now ?? Date.now;
  }

  get state(): CircuitState {
    return this.stateValue;
  }

  /** Runs `fn` unless the circuit is open; records how it went. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.stateValue === "closed") {
      try {
        const r = await fn();
        this.failures = 0;
        return r;
      } catch (err) {
        if (isPeerFailure(err)) {
          if (++this.failures >= this.threshold) this.trip();
        } else {
          this.failures = 0;
        }
        throw err;
      }
    }
    const now = this.now();
    if (this.stateValue === "open" && now >= this.openUntil) this.set("half-open");
    if (this.stateValue === "open" || this.probing) throw this.openError(now);
    this.probing = true;
    try {
      const r = await fn();
      this.close();
      return r;
    } catch (err) {
      if (isPeerFailure(err)) {
        this.openMs = Math.min(this.openMs * 2, this.maxOpenMs);
        this.trip();
      } else {
        this.close();
      }
      throw err;
    } finally {
      this.probing = false;
    }
  }

  private trip(): void {
    this.openUntil = this.now() + this.openMs;
    this.set("open");
  }

  private close(): void {
    this.failures = 0;
    this.openMs = this.baseOpenMs;
    this.set("closed");
  }

  private set(state: CircuitState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.opts.onStateChange?.(state);
  }

  private openError(now: number): ConnectError {
    const wait = Math.max(0, this.openUntil - now);
    return new ConnectError(
      `peer ${this.opts.name} is unavailable (circuit open after repeated failures; next attempt in ${wait} ms)`,
      Code.Unavailable,
    );
  }
}
