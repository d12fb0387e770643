/**
 * The transport behind every typed client the kernel hands out. It wraps the
 * in-process or the remote transport and carries the current call
 * (call-scope.ts) on to the callee:
 *
 *  - deadline: the call gets the smaller of its own timeout and what is left
 *    of the caller's deadline; with neither, a remote call gets the default
 *    (`--rpc-timeout`) and an in-process call none;
 *  - cancellation: it is cancelled when the caller's call ends;
 *  - identity, trace and request id: in-process as a context value the
 *    callee trusts; over the network as `x-request-id`, `traceparent` and an
 *    `orbit-identity` header signed with the cluster secret (also for a call
 *    made for no user when the secret is shared, so the callee knows a
 *    service called);
 *  - metrics: orbit_rpc_client_* for remote calls (an in-process call is
 *    counted once, by the callee, with protocol "in-process").
 */
import type { DescMethod } from "@bufbuild/protobuf";
import { ConnectError, type Transport } from "@connectrpc/connect";
import { currentCall, type CallScope, type InProcessOrigin } from "./call-scope.js";
import type { InProcessTransport } from "./inprocess-transport.js";
import { IDENTITY_HEADER, type ClusterSigner } from "./cluster-signer.js";
import { codeLabel } from "./errors.js";
import { REQUEST_ID_HEADER } from "./instrument.js";
import type { RpcMetrics } from "./metrics.js";
import { formatTraceparent, TRACEPARENT_HEADER } from "./trace.js";

export type Target = "in-process" | "remote";

export type ClientTransportOptions = ClientTransportCommon &
  (
    | { readonly target: "in-process"; readonly transport: InProcessTransport }
    | { readonly target: "remote"; readonly transport: Transport }
  );

interface ClientTransportCommon {
  readonly metrics: RpcMetrics;
  /** Signs the caller's identity for a remote callee. */
  readonly signer: ClusterSigner;
  /** Deadline of a remote call that has none of its own and no caller's deadline to inherit. */
  readonly defaultTimeoutMs: number;
}

export function createClientTransport(opts: ClientTransportOptions): Transport {
  const { target, metrics } = opts;

  // A co-located callee cannot be lost on the way, so an in-process call
  // without a deadline of its own or its caller's gets none.
  const defaultTimeoutMs = target === "remote" ? opts.defaultTimeoutMs : undefined;

  function timeout(given: number | undefined, scope: CallScope | undefined): number | undefined {
    const inherited = scope?.deadline === undefined ? undefined : scope.deadline - Date.now();
    if (given === undefined) return inherited ?? defaultTimeoutMs;
    return inherited === undefined ? given : Math.min(given, inherited);
  }

  function origin(scope: CallScope | undefined): InProcessOrigin | undefined {
    return scope && { requestId: scope.requestId, trace: scope.trace, identity: scope.identity };
  }

  function headers(
    method: DescMethod,
    scope: CallScope | undefined,
    given: HeadersInit | undefined,
  ): HeadersInit | undefined {
    if (target !== "remote" || (!scope && !opts.signer.shared)) return given;
    const h: Record<string, string> = {};
    if (given !== undefined) new Headers(given).forEach((v, k) => (h[k] = v));
    if (scope) {
      h[REQUEST_ID_HEADER] = scope.requestId;
      h[TRACEPARENT_HEADER] = formatTraceparent(scope.trace);
    }
    if (scope?.identity || opts.signer.shared) {
      h[IDENTITY_HEADER] = opts.signer.sign(scope?.identity, `/${method.parent.typeName}/${method.name}`);
    }
    return h;
  }

  function observe(method: DescMethod, t0: number, err?: unknown): void {
    if (target === "in-process") return;
    const code = err === undefined ? "ok" : codeLabel(ConnectError.from(err).code);
    metrics.client(method).record(target, code, (performance.now() - t0) / 1000);
  }

  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      const scope = currentCall();
      const link = linkSignals(signal, scope?.signal);
      const t0 = performance.now();
      try {
        const t = timeout(timeoutMs, scope);
        const res =
          opts.target === "in-process"
            ? await opts.transport.unaryFrom(origin(scope), method, link.signal, t, header, input, contextValues)
            : await opts.transport.unary(method, link.signal, t, headers(method, scope, header), input, contextValues);
        observe(method, t0);
        return res;
      } catch (err) {
        observe(method, t0, err);
        throw err;
      } finally {
        link.dispose();
      }
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      const scope = currentCall();
      const link = linkSignals(signal, scope?.signal);
      const t0 = performance.now();
      try {
        const t = timeout(timeoutMs, scope);
        const res =
          opts.target === "in-process"
            ? await opts.transport.streamFrom(origin(scope), method, link.signal, t, header, input, contextValues)
            : await opts.transport.stream(method, link.signal, t, headers(method, scope, header), input, contextValues);
        return {
          ...res,
          message: observed(
            res.message,
            () => observe(method, t0),
            (e) => observe(method, t0, e),
            link.dispose,
          ),
        };
      } catch (err) {
        observe(method, t0, err);
        link.dispose();
        throw err;
      }
    },
  };
}

async function* observed<T>(
  messages: AsyncIterable<T>,
  ok: () => void,
  failed: (err: unknown) => void,
  dispose: () => void,
): AsyncGenerator<T> {
  try {
    for await (const m of messages) yield m;
    ok();
  } catch (err) {
    failed(err);
    throw err;
  } finally {
    dispose();
  }
}

/** A signal that aborts when either does; `dispose` detaches it again. */
function linkSignals(
  a: AbortSignal | undefined,
  b: AbortSignal | undefined,
): { signal: AbortSignal | undefined; dispose: () => void } {
  if (!a || !b) return { signal: a ?? b, dispose: noop };
  const controller = new AbortController();
  const onA = () => controller.abort(a.reason);
  const onB = () => controller.abort(b.reason);
  if (a.aborted) onA();
  else if (b.aborted) onB();
  else {
    a.addEventListener("abort", onA, { once: true });
    b.addEventListener("abort", onB, { once: true });
  }
  return {
    signal: controller.signal,
    dispose() {
      a.removeEventListener("abort", onA);
      b.removeEventListener("abort", onB);
    },
  };
}

function noop(): void {}
