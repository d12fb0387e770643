/**
 * Services' HTTP routes (uploads, downloads, web pages) on the bundle's one
 * port, with what RPCs get: the caller authenticated from the same bearer
 * tokens, a request id and trace, a CallScope (typed clients called from the
 * handler carry the caller on), metrics, logs, and the bundle's drain on
 * shutdown. A route answers once the bundle is ready; while it starts or
 * drains the kernel answers 503 (platform/kernel/bundle.ts).
 *
 *   routes: [{
 *     path: "/media/*",                 // exact, or a prefix ending in "/*"
 *     methods: ["GET", "HEAD"],         // the default
 *     auth: "optional",                 // the default; "required": 401 for anonymous callers
 *     handle(req, res, call) { … call.identity, call.rest, call.query, call.log, call.signal … },
 *   }]
 *
 * A handler that throws a ConnectError answers its HTTP status (NotFound →
 * 404) with `{"code", "message"}`; anything else is logged with its stack and
 * answers 500 "internal error".
 */
import { performance } from "node:perf_hooks";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import { eagerBody } from "../http/eager-body.js";
import { sendJson } from "../http/json.js";
import type { HttpMetrics } from "../http/metrics.js";
import type { HttpRoute } from "../http/routes.js";
import type { NodeServerRequest, NodeServerResponse } from "../http/types.js";
import type { Logger } from "../log.js";
import { runInCall } from "../rpc/call-scope.js";
import { codeLabel, handlerError, isClientError } from "../rpc/errors.js";
import type { Identity } from "../rpc/identity.js";
import { REQUEST_ID_HEADER } from "../rpc/instrument.js";
import { authenticateEdge, edgeRequest, type EdgeAuth, type EdgeDeps } from "./edge.js";

export interface Route {
  /** Exact path ("/testing/echo"), or a prefix ending in "/*" ("/media/*"). */
  readonly path: string;
  /** Methods the handler takes; others get 405. Default GET and HEAD. */
  readonly methods?: readonly string[];
  /** Default "optional": anonymous callers get in (a bad token is still 401); "required": signed-in only. */
  readonly auth?: EdgeAuth;
  /**
   * "eager": a request with a body (not GET/HEAD) is read from its first byte, before the caller
   * is authenticated, and handed to the handler as `call.body`, so a connection cut while the
   * handler is still busy keeps every byte that reached the node (resumable uploads). Queued
   * bytes are bounded (platform/http/eager-body.ts). Default: the handler reads `req` itself.
   */
  readonly body?: "eager";
  readonly handle: (req: NodeServerRequest, res: NodeServerResponse, call: RouteCall) => void | Promise<void>;
}

export interface RouteCall {
  /** The signed-in caller, or undefined (auth "optional"). */
  readonly identity: Identity | undefined;
  readonly requestId: string;
  /** Lines carry requestId, traceId, route and userId. */
  readonly log: Logger;
  /** Aborted when the client goes away, or the bundle's shutdown deadline passes. */
  readonly signal: AbortSignal;
  /** The requested path, without the query. */
  readonly path: string;
  /** For a prefix route ("/media/*"), the path after the prefix ("a/b.jpg"); "" otherwise. */
  readonly rest: string;
  readonly query: URLSearchParams;
  /** The body as it arrived, for a route with `body: "eager"` and a method that has one. */
  readonly body?: AsyncIterable<Uint8Array>;
}

export interface RouteDeps extends EdgeDeps {
  readonly metrics: HttpMetrics;
  readonly shutdownSignal: AbortSignal;
}

function errorBody(err: ConnectError): { code: string; message: string } {
  return { code: codeLabel(err.code), message: err.rawMessage };
}

/** The route as the kernel's route table serves it. */
export function serveRoute(route: Route, owner: string, deps: RouteDeps): HttpRoute {
  const auth = route.auth ?? "optional";
  const prefix = route.path.endsWith("/*") ? route.path.slice(0, -1) : undefined;
  return {
    path: route.path,
    methods: route.methods,
    handle: async (req, res) => {
      const t0 = performance.now();
      const method = req.method ?? "GET";
      const body = route.body === "eager" && method !== "GET" && method !== "HEAD" ? eagerBody(req) : undefined;
      const edge = edgeRequest(req, `${method} ${route.path}`, "http", deps);
      res.setHeader(REQUEST_ID_HEADER, edge.requestId);
      const controller = new AbortController();
      const onShutdown = () => controller.abort(deps.shutdownSignal.reason);
      deps.shutdownSignal.addEventListener("abort", onShutdown, { once: true });
      let log: Logger = deps.log;
      res.once("close", () => {
        deps.shutdownSignal.removeEventListener("abort", onShutdown);
        if (!res.writableEnded) controller.abort(new ConnectError("the client went away", Code.Canceled));
        const seconds = (performance.now() - t0) / 1000;
        const status = res.writableEnded ? res.statusCode : 499;
        deps.metrics.request(route.path, method, status, seconds);
        const fields = { status, ms: Math.round(seconds * 1e6) / 1e3, owner };
        if (status >= 500) log.warn(fields, "http");
        else if (status >= 400) log.info(fields, "http");
        else if (log.isLevelEnabled("debug")) log.debug(fields, "http");
      });
      try {
        const identity = await authenticateEdge(req, edge.procedure, auth, deps, controller.signal);
        const scope = edge.scope(identity, controller.signal, () =>
          controller.signal.aborted ? ConnectError.from(controller.signal.reason, Code.Canceled) : undefined,
        );
        log = scope.log;
        const url = new URL(req.url ?? "/", "http://orbit.invalid");
        const call: RouteCall = {
          identity,
          requestId: edge.requestId,
          log: scope.log,
          signal: controller.signal,
          path: url.pathname,
          rest: prefix !== undefined && url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : "",
          query: url.searchParams,
          ...(body ? { body } : {}),
        };
        await runInCall(scope, () => route.handle(req, res, call));
      } catch (err) {
        const error = handlerError(err, controller.signal);
        if (!(err instanceof ConnectError) && error.cause === err) {
          log.error({ err, route: route.path, owner }, "http route failed");
        } else if (!isClientError(error.code)) {
          log.warn({ code: codeLabel(error.code), error: error.rawMessage }, "http route failed");
        }
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const headers: Record<string, string> =
          error.code === Code.Unauthenticated ? { "www-authenticate": 'Bearer realm="orbit"' } : {};
        sendJson(res, codeToHttpStatus(error.code), errorBody(error), headers);
      }
    },
  };
}
