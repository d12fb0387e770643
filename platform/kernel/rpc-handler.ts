/**
 * The adapter that serves a bundle's RPCs over Connect, gRPC and gRPC-Web
 * (binary and text; HTTP/1.1 and HTTP/2), behind the unary fast path for
 * binary Connect and gRPC calls (rpc/unary-fast-path.ts). Requests are
 * refused with Unavailable (HTTP 503) before the bundle is ready and once it
 * drains; bodies are limited per content type and method (rpc/limits.ts); unknown procedures get 404 (clients
 * see Unimplemented). Those refusals are written once the request body has
 * arrived (http/drain.ts). Each request is stamped with the client's address
 * (http/client-address.ts).
 */
import type { MethodImplSpec, ServiceImplSpec } from "@connectrpc/connect";
import { stampClientAddress } from "../http/client-address.js";
import { drainRequest } from "../http/drain.js";
import { sendJson } from "../http/json.js";
import type { RequestHandler } from "../http/server.js";
import { responseGone, type NodeServerRequest, type NodeServerResponse } from "../http/types.js";
import { MAX_MESSAGE_BYTES, type RequestLimitDefaults } from "../rpc/limits.js";
import { createNodeAdapter } from "../rpc/node-adapter.js";
import { createUnaryFastPath } from "../rpc/unary-fast-path.js";

export interface RpcHandlerOptions {
  /** Instrumented implementations (rpc/instrument.ts). */
  readonly services: readonly ServiceImplSpec[];
  readonly state: () => "starting" | "ready" | "draining" | "stopped";
  readonly shutdownSignal: AbortSignal;
  /** Proxies in front whose X-Forwarded-For entries are believed (http/client-address.ts); 0 = none. */
  readonly trustProxy?: number;
  /** The bundle's request limits (rpc/limits.ts). */
  readonly limits?: RequestLimitDefaults;
}

export function createRpcHandler(opts: RpcHandlerOptions): RequestHandler {
  const byPath = new Map<string, MethodImplSpec>();
  for (const s of opts.services) {
    for (const m of Object.values(s.methods)) byPath.set(`/${s.service.typeName}/${m.method.name}`, m);
  }
  const fast = createUnaryFastPath({
    lookup: (path) => byPath.get(path),
    readMaxBytes: MAX_MESSAGE_BYTES,
    writeMaxBytes: MAX_MESSAGE_BYTES,
    shutdownSignal: opts.shutdownSignal,
    limits: opts.limits,
  });
  const handler = createNodeAdapter({
    routes(router) {
      for (const s of opts.services) {
        const impl = Object.fromEntries(Object.values(s.methods).map((m) => [m.method.localName, m.impl]));
        router.service(s.service, impl as never);
      }
    },
    shutdownSignal: opts.shutdownSignal,
    readMaxBytes: MAX_MESSAGE_BYTES,
    writeMaxBytes: MAX_MESSAGE_BYTES,
    limits: opts.limits,
    fallback(req, res) {
      rpcError(req, res, "unimplemented", `no procedure or route at ${req.url?.split("?")[0]}`);
    },
  });
  return (req, res) => {
    const state = opts.state();
    if (state !== "ready") {
      rpcError(
        req,
        res,
        "unavailable",
        state === "starting" ? "the bundle is starting" : "the bundle is shutting down",
      );
      return;
    }
    stampClientAddress(req, opts.trustProxy ?? 0);
    if (!fast(req, res)) handler(req, res);
  };
}

const GRPC_STATUS = { unimplemented: 12, unavailable: 14 } as const;
const HTTP_STATUS = { unimplemented: 404, unavailable: 503 } as const;

/**
 * An error answered before Connect sees the request, in the caller's
 * protocol: gRPC and gRPC-Web get a trailers-only response (grpc-status),
 * anything else the Connect JSON error with its HTTP status. It is written
 * once the request body has been read (http/drain.ts).
 */
export function rpcError(
  req: NodeServerRequest,
  res: NodeServerResponse,
  code: keyof typeof GRPC_STATUS,
  message: string,
): void {
  void drainRequest(req, MAX_MESSAGE_BYTES).then(() => {
    if (!res.headersSent && !res.writableEnded && !responseGone(res)) writeRpcError(req, res, code, message);
  });
}

function writeRpcError(
  req: NodeServerRequest,
  res: NodeServerResponse,
  code: keyof typeof GRPC_STATUS,
  message: string,
): void {
  const contentType = String(req.headers["content-type"] ?? "");
  if (contentType.startsWith("application/grpc")) {
    res.writeHead(200, {
      "content-type": contentType,
      "grpc-status": String(GRPC_STATUS[code]),
      "grpc-message": encodeURIComponent(message),
    });
    res.end();
    return;
  }
  sendJson(res, HTTP_STATUS[code], { code, message });
}
