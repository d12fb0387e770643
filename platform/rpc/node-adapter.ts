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
 *    compresses them (gzip, br) when the client accepts it;
 *  - request limits per content type and per method (limits.ts): a body
 *    that declares more than its limit is refused before it is read, and
 *    JSON is checked for size and nesting while it arrives (json-budget.ts),
 *    so no JSON.parse ever blocks the event loop on a hostile body.
 */
import {
  Code,
  ConnectError,
  createConnectRouter,
  type ConnectRouter,
  type ConnectRouterOptions,
} from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import { varyWith, type NodeServerRequest, type NodeServerResponse } from "../http/types.js";
import { drainRequest } from "../http/drain.js";
import { decodeTextRequest, encodeTextResponse, isGrpcWebText } from "./grpc-web-text.js";
import {
  canDecompress,
  checkedCompressedJsonBody,
  checkedJsonBody,
  checkedJsonEnvelopes,
  checkJson,
  tooLargeError,
} from "./json-budget.js";
import {
  DEFAULT_REQUEST_LIMITS,
  isEnveloped,
  isJsonContentType,
  methodLimits,
  type RequestLimitDefaults,
} from "./limits.js";
import { parseErrorsAreInvalidArgument } from "./malformed-message.js";

export interface NodeAdapterOptions extends ConnectRouterOptions {
  readonly routes: (router: ConnectRouter) => void;
  /** Requests for paths no service here serves. */
  readonly fallback: (req: NodeServerRequest, res: NodeServerResponse) => void;
  /** The bundle's request limits (methods may lower them in their proto). */
  readonly limits?: RequestLimitDefaults;
}

export type NodeHandler = (req: NodeServerRequest, res: NodeServerResponse) => void;

export function createNodeAdapter(opts: NodeAdapterOptions): NodeHandler {
  const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], ...opts });
  opts.routes(router);
  const paths = new Map<string, UniversalHandler>();
  for (const h of router.handlers) paths.set(h.requestPath, h);
  const readMaxBytes = opts.readMaxBytes ?? 0xffffffff;
  const defaults = opts.limits ?? DEFAULT_REQUEST_LIMITS;

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
    const limits = methodLimits(handler.method, defaults);
    const contentType = uReq.header.get("content-type") ?? undefined;
    const json = isJsonContentType(contentType);
    const budget = { maxBytes: json ? limits.maxJsonBytes : limits.maxBinaryBytes, maxDepth: limits.maxJsonDepth };
    const declared = Number(req.headers["content-length"] ?? 0);
    // Text bodies are base64: a third larger on the wire.
    const wireMax = text
      ? Math.ceil((budget.maxBytes * 4) / 3) + 8
      : budget.maxBytes + (isEnveloped(contentType) ? 5 : 0);
    let uRes;
    if (declared > wireMax) {
      uRes = await handler({ ...uReq, body: refused(tooLargeError(declared, budget.maxBytes)) });
    } else {
      if (json) uReq = { ...uReq, ...checkedJson({ ...uReq, body: bodyOf(req) }, contentType!, budget) };
      else if (req.method === "GET") {
        const refusal = checkQueryMessage(uReq.url, budget);
        if (refusal) {
          const body = errorToJsonBytes(refusal, {});
          res.writeHead(codeToHttpStatus(refusal.code), {
            "content-type": "application/json",
            "content-length": String(body.length),
          });
          res.end(body);
          return;
        }
      }
      uRes = await handler(uReq);
    }
    uRes = parseErrorsAreInvalidArgument(uRes);
    if (text) uRes = encodeTextResponse(uRes);
    const type = uRes.header?.get("content-type") ?? "";
    if (type === "application/json" || type === "application/proto") {
      uRes.header?.set("vary", varyWith(res, "Accept-Encoding"));
    }
    // connect-es refuses some requests (415, 405) without reading their body.
    if (uRes.status !== 200 && !req.readableEnded) await drainRequest(req, readMaxBytes);
    // Over HTTP/1.1 connect-node (≥ 2.3) reads up to 256 KiB of an unread body before it answers, to
    // keep the connection: a client that sends a body larger than we take only after the answer
    // would wait forever. Such a connection cannot be reused anyway: answer at once, and close it.
    if (declared > wireMax && req.httpVersionMajor === 1 && !req.complete) uRes.header?.set("connection", "close");
    await universalResponseToNodeResponse(uRes, res as never);
  }
}

type UReq = ReturnType<typeof universalRequestFromNodeRequest>;

/**
 * The request body as an async iterable that, unlike a Readable's own
 * iterator, does not destroy the request when it is left early: a refused
 * body is answered first, and the rest is read and dropped by the server
 * (http/server.ts) — destroying it would reset the connection before the
 * client read the answer.
 */
function bodyOf(req: NodeServerRequest): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const queue: Buffer[] = [];
      let ended = false;
      let failed: Error | undefined;
      let wake: (() => void) | undefined;
      const onData = (chunk: Buffer) => {
        queue.push(chunk);
        req.pause();
        wake?.();
      };
      const onEnd = () => {
        ended = true;
        wake?.();
      };
      const onError = (err: Error) => {
        failed = err;
        wake?.();
      };
      const stop = () => {
        req.off("data", onData);
        req.off("end", onEnd);
        req.off("error", onError);
        req.off("close", onEnd);
      };
      req.on("data", onData);
      req.once("end", onEnd);
      req.once("close", onEnd);
      req.once("error", onError);
      return {
        async next(): Promise<IteratorResult<Uint8Array>> {
          for (;;) {
            const chunk = queue.shift();
            if (chunk) return { done: false, value: chunk };
            if (failed) {
              stop();
              throw ConnectError.from(failed, Code.Canceled);
            }
            if (ended) {
              stop();
              return { done: true, value: undefined };
            }
            await new Promise<void>((resolve) => {
              wake = resolve;
              req.resume();
            });
            wake = undefined;
          }
        },
        async return(): Promise<IteratorResult<Uint8Array>> {
          stop();
          return { done: true, value: undefined };
        },
      };
    },
  };
}

/** A body that fails with `err` when read (connect-es answers it in the caller's protocol). */
async function* refused(err: Error): AsyncGenerator<Uint8Array> {
  yield* [];
  throw err;
}

/** The request with its JSON body checked as it is read (and decompressed here when compressed). */
function checkedJson(
  uReq: UReq,
  contentType: string,
  budget: { maxBytes: number; maxDepth: number },
): Pick<UReq, "body" | "header"> {
  const body = uReq.body as AsyncIterable<Uint8Array>;
  if (isEnveloped(contentType)) {
    const encoding = uReq.header.get("grpc-encoding") ?? uReq.header.get("connect-content-encoding") ?? undefined;
    return { body: checkedJsonEnvelopes(body, encoding, budget), header: uReq.header };
  }
  const encoding = uReq.header.get("content-encoding");
  if (encoding && encoding !== "identity" && canDecompress(encoding)) {
    const header = new Headers(uReq.header);
    header.delete("content-encoding");
    header.delete("content-length");
    return { body: checkedCompressedJsonBody(body, encoding, budget), header };
  }
  return { body: checkedJsonBody(body, budget), header: uReq.header };
}

/** A Connect GET carries its message in the query (`encoding=json&message=…`): checked the same way. */
function checkQueryMessage(url: string, budget: { maxBytes: number; maxDepth: number }): ConnectError | undefined {
  const q = url.indexOf("?");
  if (q === -1) return undefined;
  const params = new URLSearchParams(url.slice(q + 1));
  if (params.get("encoding") !== "json" || params.has("compression")) return undefined;
  const message = params.get("message") ?? "";
  const bytes = params.get("base64") === "1" ? Buffer.from(message, "base64url") : Buffer.from(message);
  try {
    checkJson(bytes, budget);
    return undefined;
  } catch (err) {
    return ConnectError.from(err);
  }
}
