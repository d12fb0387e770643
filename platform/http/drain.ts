/**
 * Reads (and drops) what is left of a request body before an answer that
 * does not need it is written.
 *
 * Over HTTP/2, ending a response while the client is still sending makes Node
 * reset the stream (RST_STREAM NO_ERROR). The HTTP/2 spec allows it, but gRPC
 * clients built on the C core (Python, C++, Ruby, PHP, Objective-C) then
 * report "Stream removed" (UNKNOWN) or INTERNAL instead of the status the
 * trailers carried, e.g. UNIMPLEMENTED for an unknown method or UNAVAILABLE
 * while the bundle starts. Reading the body first lets the answer arrive as
 * the end of an ordinary exchange.
 *
 * Only HTTP/2 needs it (over HTTP/1.1 Node reads and drops the rest of the
 * body itself). A body that declares more than `maxBytes` (content-length),
 * or turns out to carry more, is answered at once: no request may be that
 * large, and the client may be waiting for the answer before sending it.
 * Nor is more than DRAIN_MAX_BYTES read: a larger body is cut short after the
 * answer (the server resets the stream with NO_ERROR, http/server.ts), as
 * HTTP/2 allows for a response that needs no more of the request.
 */
import type { NodeServerRequest } from "./types.js";

/** The most a refused request's body is read before its answer (1 MiB). */
export const DRAIN_MAX_BYTES = 1024 * 1024;

export function drainRequest(req: NodeServerRequest, limit: number): Promise<void> {
  if (req.httpVersionMajor !== 2 || req.readableEnded || req.destroyed) return Promise.resolve();
  const maxBytes = Math.min(limit, DRAIN_MAX_BYTES);
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > maxBytes) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const done = () => {
      req.off("data", onData);
      req.off("end", done);
      req.off("close", done);
      req.off("error", done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) done();
    };
    req.on("data", onData);
    req.once("end", done);
    req.once("close", done);
    req.once("error", done);
    req.resume();
  });
}
