/**
 * Which calls may be retried, and how long to wait between attempts. Only
 * methods the proto marks `idempotency_level = NO_SIDE_EFFECTS` or
 * `IDEMPOTENT` are retried, only when the peer answered Unavailable or could
 * not be reached (connection refused or reset), and never past the call's
 * deadline: a method with side effects runs at most once per call.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { isTransportFailure } from "./errors.js";

export interface RetryPolicy {
  /** Attempts in all, including the first. Default 3. */
  readonly maxAttempts: number;
  /** Wait before the second attempt; doubles for each further one (with jitter). Default 25 ms. */
  readonly baseDelayMs: number;
  /** Longest wait between attempts. Default 500 ms. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 25, maxDelayMs: 500 };

export function isIdempotent(method: DescMethod): boolean {
  return (
    method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS ||
    method.idempotency === MethodOptions_IdempotencyLevel.IDEMPOTENT
  );
}

export function isRetryable(err: unknown): boolean {
  return err instanceof ConnectError && (err.code === Code.Unavailable || isTransportFailure(err));
}

/** Full-jitter exponential backoff before attempt `attempt + 1`. */
export function backoffMs(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/** Waits `ms`, or rejects with Canceled when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(ConnectError.from(signal.reason, Code.Canceled));
    const onAbort = () => {
      clearTimeout(timer);
      reject(ConnectError.from(signal!.reason, Code.Canceled));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
