/**
 * The media service's HTTP routes on the bundle's port:
 *
 *   HEAD  /media/upload/<id>      Upload-Offset, Upload-Length (tus 1.0 core)
 *   PATCH /media/upload/<id>      bytes at Upload-Offset (application/offset+octet-stream)
 *   GET   /media/f/<sha256>.<ext> a stored file: ETag, Range, HEAD, immutable
 *   GET   /media/img/<sig>/<options>/<id>   a signed on-the-fly transform (cached on disk)
 *
 * Errors answer `{"code", "message"}` with the HTTP status of the case
 * (409 offset mismatch, 413 over a limit, 415 not a type we take, 422 a
 * broken file, 403 a bad signature).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { sendJson } from "../../platform/http/json.js";
import type { NodeServerRequest, NodeServerResponse } from "../../platform/http/types.js";
import type { Route, RouteCall } from "../../platform/kernel/routes.js";
import { codeLabel } from "../../platform/rpc/errors.js";
import type { DiskCache } from "./cache.js";
import { CONTENT_TYPES, MediaRefused, transform } from "./images.js";
import { IMG_PREFIX, type UrlSigner } from "./signing.js";
import { MediaState } from "../../gen/orbit/media/v1/media_pb.js";
import { FILE_PREFIX, type MediaStore, UPLOAD_PREFIX } from "./store.js";

const TUS = { "tus-resumable": "1.0.0" };
const IMMUTABLE = "public, max-age=31536000, immutable";

function fail(
  res: NodeServerResponse,
  status: number,
  code: Code,
  message: string,
  headers: Record<string, string> = {},
) {
  sendJson(res, status, { code: codeLabel(code), message }, headers);
}

function statusOf(err: ConnectError): number {
  switch (err.code) {
    case Code.NotFound:
      return 404;
    case Code.Aborted:
      return 409;
    case Code.FailedPrecondition:
      return 409;
    case Code.ResourceExhausted:
      return 413;
    case Code.PermissionDenied:
      return 403;
    case Code.Unauthenticated:
      return 401;
    default:
      return 400;
  }
}

export function mediaRoutes(store: MediaStore, signer: UrlSigner, cache: DiskCache): Route[] {
  return [
    {
      path: `${UPLOAD_PREFIX}*`,
      methods: ["HEAD", "PATCH"],
      auth: "required",
      body: "eager", // a cut PATCH keeps every byte that reached the node, however busy the handler was
      handle: (req, res, call) => upload(store, req, res, call),
    },
    { path: `${FILE_PREFIX}*`, handle: (req, res, call) => download(store, req, res, call) },
    { path: `${IMG_PREFIX}*`, handle: (req, res, call) => image(store, signer, cache, req, res, call) },
  ];
}

async function upload(store: MediaStore, req: NodeServerRequest, res: NodeServerResponse, call: RouteCall) {
  const me = BigInt(call.identity!.userId);
  if (!/^\d{1,19}$/.test(call.rest)) return fail(res, 404, Code.NotFound, "no such upload", TUS);
  const mediaId = BigInt(call.rest);
  try {
    const up = await store.uploadOf(mediaId, me);
    if (req.method === "HEAD") {
      res.writeHead(200, {
        ...TUS,
        "upload-offset": String(up.offset),
        "upload-length": String(up.sizeBytes),
        "cache-control": "no-store",
      });
      res.end();
      return;
    }
    const header = req.headers["upload-offset"];
    if (typeof header !== "string" || !/^\d{1,15}$/.test(header)) {
      return fail(res, 400, Code.InvalidArgument, "Upload-Offset: give the byte offset (HEAD tells it)", TUS);
    }
    const result = await store.receive(up, BigInt(header), call.body ?? (req as AsyncIterable<Uint8Array>));
    if (res.writableEnded || (res as { destroyed?: boolean }).destroyed) return;
    res.writeHead(204, {
      ...TUS,
      "upload-offset": String(result.offset),
      ...(result.media ? { "orbit-media-state": MediaState[result.media.state] } : {}),
    });
    res.end();
  } catch (err) {
    if (err instanceof MediaRefused) {
      const unsupported = err.message.includes("not a supported");
      return fail(
        res,
        unsupported ? 415 : err.kind === "too_large" ? 413 : 422,
        err.kind === "too_large" ? Code.ResourceExhausted : Code.InvalidArgument,
        err.message,
        TUS,
      );
    }
    if (err instanceof ConnectError) {
      const extra: Record<string, string> = {};
      if (err.code === Code.Aborted) {
        const up = await store.uploads.get({ mediaId });
        if (up) extra["upload-offset"] = String(up.offset);
      }
      return fail(res, statusOf(err), err.code, err.rawMessage, { ...TUS, ...extra });
    }
    throw err;
  }
}

interface ByteRange {
  start: number;
  end: number;
}

/** One `bytes=` range of a file of `size` bytes; undefined: serve it whole; null: unsatisfiable. */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined | null {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined; // multiple or malformed ranges: the whole file (allowed by RFC 9110)
  const [, a, b] = m;
  if (a === "" && b === "") return undefined;
  if (a === "") {
    const n = Number(b);
    if (n === 0) return null;
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === "" ? size - 1 : Math.min(Number(b), size - 1);
  if (start >= size || end < start) return null;
  return { start, end };
}

async function download(store: MediaStore, req: NodeServerRequest, res: NodeServerResponse, call: RouteCall) {
  const m = /^([0-9a-f]{64})\.([a-z0-9]{1,5})$/.exec(call.rest);
  if (!m) return fail(res, 404, Code.NotFound, "no such file");
  const sha = m[1]!;
  const blob = await store.blobs.get(sha);
  if (!blob) return fail(res, 404, Code.NotFound, "no such file");
  const size = Number(blob.sizeBytes);
  const etag = `"${sha}"`;
  const base = {
    etag,
    "cache-control": IMMUTABLE,
    "accept-ranges": "bytes",
    "content-type": blob.contentType || "application/octet-stream",
    "access-control-allow-origin": "*",
  };
  const inm = req.headers["if-none-match"];
  if (typeof inm === "string" && inm.split(",").some((t) => t.trim() === etag || t.trim() === "*")) {
    res.writeHead(304, base);
    res.end();
    return;
  }
  let range = parseRange(req.headers.range as string | undefined, size);
  const ifRange = req.headers["if-range"];
  if (range && typeof ifRange === "string" && ifRange !== etag) range = undefined;
  if (range === null) {
    res.writeHead(416, { ...base, "content-range": `bytes */${size}`, "content-length": "0" });
    res.end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  res.writeHead(range ? 206 : 200, {
    ...base,
    "content-length": String(end - start + 1),
    ...(range ? { "content-range": `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === "HEAD" || size === 0) {
    res.end();
    return;
  }
  for await (const part of store.blobs.read(blob, start, end)) {
    if (call.signal.aborted) return;
    if (!(res as { write(b: Uint8Array): boolean }).write(part)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
    }
  }
  res.end();
}

async function image(
  store: MediaStore,
  signer: UrlSigner,
  cache: DiskCache,
  req: NodeServerRequest,
  res: NodeServerResponse,
  call: RouteCall,
) {
  const v = signer.verify(call.rest);
  if ("error" in v) return fail(res, 403, Code.PermissionDenied, `refused: ${v.error}`);
  const src = await store.imageSource(v.mediaId);
  if (!src) return fail(res, 404, Code.NotFound, "no such image");
  const etag = `"${src.slice(0, 32)}-${Buffer.from(call.rest.slice(call.rest.indexOf("/"))).toString("base64url")}"`;
  const headers = {
    "content-type": CONTENT_TYPES[v.options.format]!,
    "cache-control": IMMUTABLE,
    etag,
    "access-control-allow-origin": "*",
  };
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const key = `${src}/${call.rest.slice(call.rest.indexOf("/"))}`;
  const data = await cache.get(key, async () => {
    const blob = await store.blobs.get(src);
    if (!blob) throw new ConnectError("the image's bytes are gone", Code.NotFound);
    return transform(await store.blobs.readAll(blob), v.options);
  });
  res.writeHead(200, { ...headers, "content-length": String(data.length) });
  if (req.method === "HEAD") res.end();
  else res.end(data);
}
