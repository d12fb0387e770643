import type http from "node:http";
import type http2 from "node:http2";

/** A request from the http (HTTP/1.1) or the http2 module. */
export type NodeServerRequest = http.IncomingMessage | http2.Http2ServerRequest;
/** A response of the http (HTTP/1.1) or the http2 module. */
export type NodeServerResponse = http.ServerResponse | http2.Http2ServerResponse;

/** The client is gone: nothing can be written to `res` any more (HTTP/2 reports a reset stream as finished). */
export function responseGone(res: NodeServerResponse): boolean {
  const stream = (res as { stream?: { destroyed: boolean } }).stream;
  return stream ? stream.destroyed : (res as { destroyed: boolean }).destroyed;
}

/** `value` added to the Vary header already set on `res` (CORS sets "Origin"), for a writeHead that would replace it. */
export function varyWith(res: NodeServerResponse, value: string): string {
  const set = res.getHeader("vary");
  return set === undefined ? value : `${String(set)}, ${value}`;
}
