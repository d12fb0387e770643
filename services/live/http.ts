/**
 * Viewers' URLs of live streams, served on the bundle's port:
 *
 *   GET /live/<streamId>/index.m3u8      HLS playlist (no-cache)
 *   GET /live/<streamId>/<epoch>-init.mp4, /<epoch>-<n>.m4s   fMP4 (immutable)
 *   GET /live/<streamId>.flv             HTTP-FLV (proxied from the ingest; lowest latency)
 *
 * A stream that is not live (never was, or ended) answers 404: its files are
 * deleted when it ends. The key never appears in a viewer's URL.
 */
import http from "node:http";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { HttpRoute } from "../../platform/http/routes.js";
import type { NodeServerRequest, NodeServerResponse } from "../../platform/http/types.js";
import { sendJson } from "../../platform/http/json.js";
import { PLAYLIST } from "./hls.js";

/** What the handler needs from the live node. */
export interface LiveHttpSource {
  /** The stream's HLS directory while it is live; undefined otherwise. */
  hlsDir(streamId: string): string | undefined;
  /** NMS's loopback HTTP-FLV URL while the stream is live. */
  flvUpstreamUrl(streamId: string): string | undefined;
}

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const FILE_RE = /^(?:index\.m3u8|[a-z0-9]{1,16}-(?:init|\d{1,9})\.(?:mp4|m4s))$/;
const CORS = { "access-control-allow-origin": "*" };

export const LIVE_PATH_PREFIX = "/live/";

/** The routes to register on the bundle (one prefix route). */
export function liveRoutes(source: LiveHttpSource): HttpRoute[] {
  return [{ path: `${LIVE_PATH_PREFIX}*`, handle: createLiveHandler(source) }];
}

export function createLiveHandler(source: LiveHttpSource) {
  return async function serveLive(req: NodeServerRequest, res: NodeServerResponse): Promise<void> {
    const url = req.url ?? "/";
    const path = url.slice(0, url.indexOf("?") === -1 ? undefined : url.indexOf("?"));
    const rest = path.slice(LIVE_PATH_PREFIX.length);
    if (rest.endsWith(".flv") && !rest.includes("/")) return serveFlv(source, rest.slice(0, -4), req, res);
    const slash = rest.indexOf("/");
    const streamId = slash === -1 ? rest : rest.slice(0, slash);
    const file = slash === -1 ? "" : rest.slice(slash + 1);
    if (!ID_RE.test(streamId) || !FILE_RE.test(file))
      return sendJson(res, 404, { error: "no such live resource" }, CORS);
    return serveHlsFile(source, streamId, file, req, res);
  };
}

async function serveHlsFile(
  source: LiveHttpSource,
  streamId: string,
  file: string,
  req: NodeServerRequest,
  res: NodeServerResponse,
): Promise<void> {
  const dir = source.hlsDir(streamId);
  if (!dir) return sendJson(res, 404, { error: `stream ${streamId} is not live` }, CORS);
  let body: Buffer;
  try {
    body = await readFile(join(dir, file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    const what = file === PLAYLIST ? "the playlist is not ready yet" : "segment no longer (or not yet) available";
    return sendJson(res, 404, { error: what }, CORS);
  }
  const playlist = file === PLAYLIST;
  res.writeHead(200, {
    "content-type": playlist ? "application/vnd.apple.mpegurl" : "video/mp4",
    "content-length": String(body.length),
    "cache-control": playlist ? "no-cache" : "public, max-age=31536000, immutable",
    ...CORS,
  });
  if (req.method === "HEAD") res.end();
  else res.end(body);
}

function serveFlv(source: LiveHttpSource, streamId: string, req: NodeServerRequest, res: NodeServerResponse): void {
  const upstream = ID_RE.test(streamId) ? source.flvUpstreamUrl(streamId) : undefined;
  if (!upstream) return sendJson(res, 404, { error: `stream ${streamId} is not live` }, CORS);
  const up = http.get(upstream, (upRes) => {
    if (upRes.statusCode !== 200) {
      upRes.resume();
      return sendJson(res, 502, { error: `ingest answered ${upRes.statusCode}` }, CORS);
    }
    res.writeHead(200, { "content-type": "video/x-flv", "cache-control": "no-store", ...CORS });
    if (req.method === "HEAD") {
      up.destroy();
      return void res.end();
    }
    const out = res as http.ServerResponse; // HTTP-FLV is an HTTP/1.1 stream
    upRes.on("data", (chunk: Buffer) => {
      // A viewer that cannot keep up is dropped rather than buffered without bound.
      if (!out.write(chunk) && out.writableLength > 8 * 1024 * 1024) up.destroy();
    });
    upRes.on("end", () => res.end());
    upRes.on("error", () => res.end());
    upRes.on("close", () => res.end());
  });
  up.on("error", () => {
    if (!res.headersSent) sendJson(res, 502, { error: "ingest unavailable" }, CORS);
    else res.end();
  });
  res.on("close", () => up.destroy());
}
