import type http from "node:http";
import type http2 from "node:http2";

/** A request from the http (HTTP/1.1) or the http2 module. */
export type NodeServerRequest = http.IncomingMessage | http2.Http2ServerRequest;
/** A response of the http (HTTP/1.1) or the http2 module. */
export type NodeServerResponse = http.ServerResponse | http2.Http2ServerResponse;
