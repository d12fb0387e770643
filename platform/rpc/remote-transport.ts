/**
 * The transport to a service in another bundle process: the Connect
 * protocol (binary protobuf over HTTP/2) to the peer's base URL, behind the
 * peer's circuit breaker, with retries for idempotent unary methods (see
 * retry.ts). Unary calls take the lean client of unary-client.ts; streams
 * go through @connectrpc/connect-node's transport; both share one HTTP/2
 * connection (connect-node's Http2SessionManager). The deadline given to the call covers every
 * attempt; each attempt sends what is left of it (Connect-Timeout-Ms), so the
 * peer knows its deadline too.
 */
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import type { CircuitBreaker } from "./circuit-breaker.js";
import { backoffMs, DEFAULT_RETRY, isIdempotent, isRetryable, sleep, type RetryPolicy } from "./retry.js";
import { MAX_MESSAGE_BYTES } from "./limits.js";
import { createUnaryClient } from "./unary-client.js";

export interface RemoteTransportOptions {
  /** The peer's base URL, e.g. http://10.0.0.7:8080. */
  readonly baseUrl: string;
  readonly breaker: CircuitBreaker;
  readonly retry?: RetryPolicy;
}

export function createRemoteTransport(opts: RemoteTransportOptions): Transport {
  const sessionManager = new Http2SessionManager(opts.baseUrl, {
    // Notice a dead connection even while idle, and drop unused ones.
    pingIntervalMs: 15_000,
    pingTimeoutMs: 5_000,
    idleConnectionTimeoutMs: 120_000,
  });
  const inner = createConnectTransport({
    baseUrl: opts.baseUrl,
    httpVersion: "2",
    useBinaryFormat: true,
    sessionManager,
    readMaxBytes: MAX_MESSAGE_BYTES,
    writeMaxBytes: MAX_MESSAGE_BYTES,
  });
  const unary = createUnaryClient({ baseUrl: opts.baseUrl, sessionManager, readMaxBytes: MAX_MESSAGE_BYTES });
  const policy = opts.retry ?? DEFAULT_RETRY;
  const breaker = opts.breaker;

  return {
    async unary(method, signal, timeoutMs, header, input) {
      const attempts = isIdempotent(method) ? policy.maxAttempts : 1;
      const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
      for (let attempt = 1; ; attempt++) {
        const left = deadline === undefined ? undefined : deadline - Date.now();
        if (left !== undefined && left <= 0) {
          throw new ConnectError("the operation timed out", Code.DeadlineExceeded);
        }
        try {
          return await breaker.run(() => unary(method, signal, left, header, input));
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
