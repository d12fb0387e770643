/**
 * What HTTP routes and WebSocket upgrades share with RPCs at the edge of the
 * bundle: the request id (x-request-id, kept if well-formed), the trace
 * (traceparent), the client address (--trust-proxy), and the caller's
 * identity from the same Authenticator (bearer token or a signed
 * orbit-identity header). A handler runs inside a CallScope, so the typed
 * clients it uses carry the caller's identity and trace on to other
 * services, as from an RPC handler.
 */
import type http from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { stampClientAddress } from "../http/client-address.js";
import type { NodeServerRequest } from "../http/types.js";
import type { Logger } from "../log.js";
import type { Authenticator } from "../rpc/authenticator.js";
import type { CallScope } from "../rpc/call-scope.js";
import { IDENTITY_HEADER } from "../rpc/cluster-signer.js";
import type { Identity } from "../rpc/identity.js";
import { REQUEST_ID_HEADER } from "../rpc/instrument.js";
import { childSpan, incomingRequestId, parseTraceparent, TRACEPARENT_HEADER } from "../rpc/trace.js";

/** Who may use a route or a socket: anyone ("optional": a bad token is still refused), or signed-in users. */
export type EdgeAuth = "optional" | "required";

export interface EdgeDeps {
  readonly authenticator: Authenticator;
  readonly log: Logger;
  /** Proxies in front whose X-Forwarded-For entries are believed (--trust-proxy). */
  readonly trustProxy: number;
}

export interface EdgeRequest {
  readonly requestId: string;
  /** "GET /media/*", "WS /chat": the declared path, as metrics and logs name it. */
  readonly procedure: string;
  /**
   * The call scope a handler runs in. `early`: why the call ended before its
   * handler did (a route whose client went away), so that writes still
   * running for it do not commit (rpc/commit-guard.ts).
   */
  readonly scope: (
    identity: Identity | undefined,
    signal: AbortSignal,
    early?: () => ConnectError | undefined,
  ) => CallScope;
}

function header(req: NodeServerRequest | http.IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
}

/** Request id, trace and client address of an incoming request or upgrade. */
export function edgeRequest(
  req: NodeServerRequest | http.IncomingMessage,
  procedure: string,
  protocol: string,
  deps: EdgeDeps,
): EdgeRequest {
  stampClientAddress(req, deps.trustProxy);
  const requestId = incomingRequestId(header(req, REQUEST_ID_HEADER));
  const trace = childSpan(parseTraceparent(header(req, TRACEPARENT_HEADER)));
  return {
    requestId,
    procedure,
    scope: (identity, signal, early) => ({
      get failedEarly() {
        return early?.();
      },
      procedure,
      protocol,
      requestId,
      trace,
      identity,
      // A signed header has verified by now (authentication throws otherwise).
      fromService: header(req, IDENTITY_HEADER) !== null,
      deadline: undefined,
      signal,
      log: deps.log.child({
        requestId,
        traceId: trace.traceId,
        [protocol === "websocket" ? "socket" : "route"]: procedure,
        ...(identity ? { userId: identity.userId } : {}),
      }),
    }),
  };
}

/** The caller's identity from the request headers; throws Unauthenticated for a bad token or a required one missing. */
export async function authenticateEdge(
  req: NodeServerRequest | http.IncomingMessage,
  procedure: string,
  auth: EdgeAuth,
  deps: EdgeDeps,
  signal: AbortSignal,
): Promise<Identity | undefined> {
  const identity = await deps.authenticator.authenticate((name) => header(req, name), procedure, { signal });
  if (!identity && auth === "required") {
    throw new ConnectError(
      "this endpoint requires a signed-in user (authorization: Bearer <token>)",
      Code.Unauthenticated,
    );
  }
  return identity;
}
