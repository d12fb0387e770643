/**
 * Raw HTTP/1.1 and HTTP/2 exchanges for tests that check Orbit's wire
 * behaviour byte by byte (node:http, node:http2 — no RPC client in between):
 * gRPC / gRPC-Web / Connect framing, trailers, resets.
 */
import http from "node:http";
import http2 from "node:http2";

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  /** HTTP/2 trailers (empty over HTTP/1.1). */
  readonly trailers: Record<string, string | string[] | undefined>;
}

/** One envelope of gRPC, gRPC-Web and Connect streaming: flags, 4-byte length, payload. */
export function envelope(payload: Uint8Array, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** The envelopes of a body. */
export function frames(body: Buffer): { flags: number; data: Buffer }[] {
  const out: { flags: number; data: Buffer }[] = [];
  for (let at = 0; at + 5 <= body.length; ) {
    const length = body.readUInt32BE(at + 1);
    out.push({ flags: body[at]!, data: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return out;
}

/** The trailers of a gRPC-Web body (its frame with flag 0x80), lower-case names. */
export function grpcWebTrailers(body: Buffer): Record<string, string> {
  const trailer = frames(body).find((f) => (f.flags & 0x80) === 0x80);
  const out: Record<string, string> = {};
  for (const line of trailer?.data.toString("utf8").split("\r\n") ?? []) {
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

/** An HTTP/1.1 request. */
export function h1(
  url: string,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer | string },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${opts.path}`, { method: opts.method ?? "POST", headers: opts.headers });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), trailers: {} }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** An HTTP/2 request on its own connection (prior knowledge, as gRPC clients use it). */
export async function h2(
  url: string,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer },
): Promise<RawResponse> {
  const session = http2.connect(url);
  const failed = new Promise<never>((_, reject) => session.once("error", reject));
  try {
    return await Promise.race([h2On(session, opts), failed]);
  } finally {
    session.close();
  }
}

/** An HTTP/2 request on an open session. */
export function h2On(
  session: http2.ClientHttp2Session,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer; endStream?: boolean },
): Promise<RawResponse> {
  const stream = h2Open(session, opts);
  return h2Result(stream);
}

export function h2Open(
  session: http2.ClientHttp2Session,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer; endStream?: boolean },
): http2.ClientHttp2Stream {
  const stream = session.request(
    { ":method": opts.method ?? "POST", ":path": opts.path, ...opts.headers },
    { endStream: false },
  );
  if (opts.body) stream.write(opts.body);
  if (opts.endStream !== false) stream.end();
  return stream;
}

/** The whole answer on `stream`; rejects if the stream errors or is reset before it ends. */
export function h2Result(stream: http2.ClientHttp2Stream): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (headers = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () =>
      resolve({ status: Number(headers[":status"]), headers, body: Buffer.concat(chunks), trailers }),
    );
    stream.on("error", reject);
  });
}

/** gRPC status and message of a response: from the trailers, or the headers of a trailers-only answer. */
export function grpcStatus(r: RawResponse): { status: string | undefined; message: string | undefined } {
  const pick = (name: string) => (r.trailers[name] ?? r.headers[name]) as string | undefined;
  const message = pick("grpc-message");
  return { status: pick("grpc-status"), message: message === undefined ? undefined : decodeURIComponent(message) };
}
