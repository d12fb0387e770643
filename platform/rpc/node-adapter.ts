/**
 * Serves Connect services on Node's http/http2 requests — what
 * @connectrpc/connect-node's connectNodeAdapter does (route by path, hand the
 * request to connect-es's protocol handlers, write the answer) — plus the
 * wire behaviour Orbit's clients need and connect-es lacks:
 *
 *  - gRPC-Web text (`application/grpc-web-text`): translated to and from
 *    binary gRPC-Web around connect-es (grpc-web-text.ts);
 *  - a malformed binary message answers invalid_argument, not internal
 *    (malformed-message.ts);
 *  - an answer given without reading the request body (unsupported media
 *    type, wrong HTTP method) waits until the body has arrived: HTTP/2
 *    clients built on gRPC's C core take a response that ends while they are
 *    still sending for a broken stream (see drainRequest);
 *  - Connect unary answers carry `Vary: Accept-Encoding`, since connect-es
 *    compresses them (gzip, br) when the client accepts it.
 */
import {
  Code,
  ConnectError,
  createConnectRouter,
  type ConnectRouter,
  type ConnectRouterOptions,
} from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import { varyWith, type NodeServerRequest, type NodeServerResponse } from "../http/types.js";
import { drainRequest } from "../http/drain.js";
import { decodeTextRequest, encodeTextResponse, isGrpcWebText } from "./grpc-web-text.js";
import { parseErrorsAreInvalidArgument } from "./malformed-message.js";

export interface NodeAdapterOptions extends ConnectRouterOptions {
  readonly routes: (router: ConnectRouter) => void;
  /** Requests for paths no service here serves. */
  readonly fallback: (req: NodeServerRequest, res: NodeServerResponse) => void;
}

export type NodeHandler = (req: NodeServerRequest, res: NodeServerResponse) => void;

export function createNodeAdapter(opts: NodeAdapterOptions): NodeHandler {
  const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], ...opts });
  opts.routes(router);
  const paths = new Map<string, UniversalHandler>();
  for (const h of router.handlers) paths.set(h.requestPath, h);
  const readMaxBytes = opts.readMaxBytes ?? 0xffffffff;

  return (req, res) => {
    const url = req.url ?? "";
    const q = url.indexOf("?");
    const handler = paths.get(q === -1 ? url : url.slice(0, q));
    if (!handler) {
      opts.fallback(req, res);
      return;
    }
    void serve(handler, req, res).catch((reason) => {
      // The client went away, or writing failed half way: nothing left to tell it.
      if (ConnectError.from(reason).code !== Code.Aborted && !res.headersSent) res.writeHead(500);
      if (!res.writableEnded) res.end();
    });
  };

  async function serve(handler: UniversalHandler, req: NodeServerRequest, res: NodeServerResponse): Promise<void> {
    const text = isGrpcWebText(req.headers["content-type"]);
    let uReq = universalRequestFromNodeRequest(req as never, res as never, undefined, undefined);
    if (text) uReq = decodeTextRequest(uReq);
    let uRes = parseErrorsAreInvalidArgument(await handler(uReq));
    if (text) uRes = encodeTextResponse(uRes);
    const type = uRes.header?.get("content-type") ?? "";
    if (type === "application/json" || type === "application/proto") {
      uRes.header?.set("vary", varyWith(res, "Accept-Encoding"));
    }
    // connect-es refuses some requests (415, 405) without reading their body.
    if (uRes.status !== 200 && !req.readableEnded) await drainRequest(req, readMaxBytes);
    await universalResponseToNodeResponse(uRes, res as never);
  }
}
