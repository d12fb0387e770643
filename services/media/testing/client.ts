/** Helpers of the media tests and bench: a bundle's clients, tus-style uploads, waiting for READY. */
import http from "node:http";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { type Media, MediaService, MediaState } from "../../../gen/orbit/media/v1/media_pb.js";

export function mediaClient(baseUrl: string, token?: string): Client<typeof MediaService> {
  return createClient(
    MediaService,
    createConnectTransport({
      baseUrl,
      httpVersion: "2",
      interceptors: token
        ? [
            (next) => (req) => {
              req.header.set("authorization", `Bearer ${token}`);
              return next(req);
            },
          ]
        : [],
    }),
  );
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP/1.1 request (fetch cannot send PATCH bodies with a cut, or read HEAD's headers simply). */
export function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? "GET", headers: opts.headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

/**
 * Sends `body` as a PATCH but cuts the connection once `cutAfter` bytes have
 * been written (the client's network dropped). Resolves once the socket is closed.
 */
export function cutPatch(url: string, token: string, offset: number, body: Buffer, cutAfter: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request(url, {
      method: "PATCH",
      agent: false,
      headers: {
        authorization: `Bearer ${token}`,
        "upload-offset": String(offset),
        "content-type": "application/offset+octet-stream",
        "content-length": String(body.length),
        "tus-resumable": "1.0.0",
      },
    });
    req.on("error", () => resolve());
    req.on("close", () => resolve());
    req.write(body.subarray(0, cutAfter), () => {
      // Give the bytes to the kernel, then drop the connection.
      setImmediate(() => req.destroy());
    });
  });
}

export function patch(base: string, path: string, token: string, offset: number, body: Buffer): Promise<HttpAnswer> {
  return request(base + path, {
    method: "PATCH",
    headers: {
      authorization: `Bearer ${token}`,
      "upload-offset": String(offset),
      "content-type": "application/offset+octet-stream",
      "tus-resumable": "1.0.0",
    },
    body,
  });
}

export async function headOffset(base: string, path: string, token: string): Promise<number> {
  const r = await request(base + path, { method: "HEAD", headers: { authorization: `Bearer ${token}` } });
  if (r.status !== 200) throw new Error(`HEAD ${path}: ${r.status}`);
  return Number(r.headers["upload-offset"]);
}

/** CreateUpload and one PATCH of the whole file. */
export async function upload(
  base: string,
  token: string,
  bytes: Buffer,
  contentType: string,
): Promise<{ mediaId: bigint; answer: HttpAnswer }> {
  const c = mediaClient(base, token);
  const { mediaId, uploadUrl } = await c.createUpload({ contentType, sizeBytes: BigInt(bytes.length), fileName: "f" });
  const answer = await patch(base, uploadUrl, token, 0, bytes);
  return { mediaId, answer };
}

/** Polls GetMedia until the media is READY or FAILED. */
export async function settled(base: string, token: string, mediaId: bigint, timeoutMs = 60_000): Promise<Media> {
  const c = mediaClient(base, token);
  const until = Date.now() + timeoutMs;
  for (;;) {
    const m = (await c.getMedia({ mediaId })).media!;
    if (m.state === MediaState.READY || m.state === MediaState.FAILED) return m;
    if (Date.now() > until) throw new Error(`media ${mediaId} still ${MediaState[m.state]} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
