/**
 * The transport to a service in another bundle process: a Connect client
 * (binary protobuf over HTTP/2, @connectrpc/connect-node) to the peer's base
 * URL, behind the peer's circuit breaker, with retries for idempotent unary
 * methods (see retry.ts). The deadline given to the call covers every
 * attempt; each attempt sends what is left of it (Connect-Timeout-Ms), so the
 * peer knows its deadline too.
 */
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { CircuitBreaker } from "./circuit-breaker.js";
import { backoffMs, DEFAULT_RETRY, isIdempotent, isRetryable, sleep, type RetryPolicy } from "./retry.js";

export interface RemoteTransportOptions {
  /** The peer's base URL, e.g. http://10.0.0.7:8080. */
  readonly baseUrl: string;
  readonly breaker: CircuitBreaker;
  readonly retry?: RetryPolicy;
}

export function createRemoteTransport(opts: RemoteTransportOptions): Transport {
  const inner = createConnectTransport({
    baseUrl: opts.baseUrl,
    httpVersion: "2",
    useBinaryFormat: true,
    // Notice a dead connection even while idle, and drop unused ones.
    pingIntervalMs: 15_000,
    pingTimeoutMs: 5_000,
    idleConnectionTimeoutMs: 120_000,
  });
  const policy = opts.retry ?? DEFAULT_RETRY;
  const breaker = opts.breaker;

  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      const attempts = isIdempotent(method) ? policy.maxAttempts : 1;
      const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
      for (let attempt = 1; ; attempt++) {
        const left = deadline === undefined ? undefined : deadline - Date.now();
        if (left !== undefined && left <= 0) {
          throw new ConnectError("the operation timed out", Code.DeadlineExceeded);
        }
        try {
          return await breaker.run(() => inner.unary(method, signal, left, header, input, contextValues));
        } catch (err) {
          if (attempt >= attempts || !isRetryable(err) || breaker.state !== "closed" || signal?.aborted) {
            throw err;
          }
          const wait = backoffMs(policy, attempt);
          if (deadline !== undefined && Date.now() + wait >= deadline) throw err;
          await sleep(wait, signal);
        }
      }
    },
    stream(method, signal, timeoutMs, header, input, contextValues) {
      return breaker.run(() => inner.stream(method, signal, timeoutMs, header, input, contextValues));
    },
  };
}
