import type { NodeServerResponse } from "./types.js";

/** Sends a small JSON body (health endpoints, HTTP errors of the kernel). */
export function sendJson(
  res: NodeServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}
