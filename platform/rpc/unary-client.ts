/**
 * The client side of the unary fast path: a Connect-protocol unary call
 * (binary protobuf, HTTP/2) written straight onto a stream of
 * connect-node's Http2SessionManager (which owns the connection: connect,
 * reconnect, keep-alive pings, idle close). It skips the general
 * transport's web Headers, async-iterable pipelines and per-call abort
 * controllers, and speaks the same wire format (Connect-Timeout-Ms, error
 * JSON via connect's own errorFromJsonBytes, `trailer-` headers), so a
 * caller sees the same UnaryResponse and ConnectError as with
 * createConnectTransport. Streaming calls still go through that transport.
 */
import http2 from "node:http2";
import { create, fromBinary, isMessage, toBinary, type DescMessage, type DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError, type UnaryResponse } from "@connectrpc/connect";
import { codeFromHttpStatus, errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import type { Http2SessionManager } from "@connectrpc/connect-node";

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_NO_ERROR } = http2.constants;

export interface UnaryClientOptions {
  /** The peer's base URL (a path prefix is kept). */
  readonly baseUrl: string;
  readonly sessionManager: Http2SessionManager;
  /** Largest response accepted. */
  readonly readMaxBytes: number;
}

export type UnaryCall = <I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  header: HeadersInit | undefined,
  input: unknown,
) => Promise<UnaryResponse<I, O>>;

export function createUnaryClient(opts: UnaryClientOptions): UnaryCall {
  const prefix = new URL(opts.baseUrl).pathname.replace(/\/+$/, "");
  const manager = opts.sessionManager;

  return function unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: unknown,
  ): Promise<UnaryResponse<I, O>> {
    if (signal?.aborted) return Promise.reject(ConnectError.from(signal.reason, Code.Canceled));
    if (timeoutMs !== undefined && timeoutMs <= 0) {
      return Promise.reject(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    }
    let body: Uint8Array;
    try {
      body = toBinary(method.input, isMessage(input, method.input) ? input : create(method.input, input as never));
    } catch (e) {
      return Promise.reject(new ConnectError(`serialize binary: ${(e as Error).message}`, Code.Internal));
    }
    const headers: http2.OutgoingHttpHeaders = {};
    copyHeaders(header, headers);
    headers["content-type"] = "application/proto";
    headers["connect-protocol-version"] = "1";
    if (timeoutMs !== undefined) headers["connect-timeout-ms"] = String(Math.max(1, Math.floor(timeoutMs)));
    const path = `${prefix}/${method.parent.typeName}/${method.name}`;

    return new Promise((resolve, reject) => {
      let stream: http2.ClientHttp2Stream | undefined;
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      let status = 0;
      let responseHeaders: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      let size = 0;

      const cleanup = () => {
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const fail = (err: ConnectError) => {
        if (settled) return;
        cleanup();
        if (stream && !stream.closed) stream.close(NGHTTP2_CANCEL);
        reject(err);
      };
      const onAbort = () => fail(ConnectError.from(signal!.reason, Code.Canceled));
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => fail(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeoutMs);
      }

      const finish = () => {
        if (settled) return;
        cleanup();
        const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        const contentType = responseHeaders["content-type"];
        if (status === 200 && contentType === "application/proto" && !responseHeaders["content-encoding"]) {
          let message;
          try {
            message = fromBinary(method.output, bytes);
          } catch (e) {
            return reject(new ConnectError(`parse binary: ${(e as Error).message}`, Code.Internal));
          }
          const split = splitTrailers(responseHeaders);
          return resolve({
            stream: false,
            service: method.parent,
            method,
            get header() {
              return split().header;
            },
            get trailer() {
              return split().trailer;
            },
            message,
          } as UnaryResponse<I, O>);
        }
        const metadata = allHeaders(responseHeaders);
        if (status === 200) {
          return reject(
            new ConnectError(`unexpected response content type ${String(contentType)}`, Code.Internal, metadata),
          );
        }
        const fallback = new ConnectError(`HTTP ${status}`, codeFromHttpStatus(status), metadata);
        reject(
          typeof contentType === "string" && contentType.startsWith("application/json")
            ? errorFromJsonBytes(bytes, metadata, fallback)
            : fallback,
        );
      };

      manager.request("POST", path, headers, {}).then(
        (s) => {
          if (settled) {
            s.close(NGHTTP2_CANCEL);
            return;
          }
          stream = s;
          s.on("response", (h) => {
            status = Number(h[":status"]);
            responseHeaders = h;
          });
          s.on("data", (chunk: Buffer) => {
            manager.notifyResponseByteRead(s);
            size += chunk.length;
            if (size > opts.readMaxBytes) {
              fail(
                new ConnectError(
                  `message size is larger than configured readMaxBytes ${opts.readMaxBytes}`,
                  Code.ResourceExhausted,
                ),
              );
              return;
            }
            chunks.push(chunk);
          });
          s.on("end", finish);
          s.on("error", (err: Error) => fail(fromNodeError(err)));
          s.on("close", () => {
            if (settled) return;
            const session = s.session;
            fail(
              !session || session.closed || session.destroyed
                ? new ConnectError(
                    "the connection to the peer was lost",
                    Code.Unavailable,
                    undefined,
                    undefined,
                    new Error(`stream closed with code ${s.rstCode}`),
                  )
                : fromResetCode(s.rstCode),
            );
          });
          s.end(body);
        },
        (err: unknown) => fail(ConnectError.from(err, Code.Unavailable)),
      );
    });
  };
}

function copyHeaders(from: HeadersInit | undefined, to: http2.OutgoingHttpHeaders): void {
  if (from === undefined) return;
  if (from instanceof Headers) from.forEach((v, k) => (to[k] = v));
  else if (Array.isArray(from)) for (const [k, v] of from) to[k!.toLowerCase()] = v;
  else for (const [k, v] of Object.entries(from)) to[k.toLowerCase()] = v;
}

function allHeaders(h: http2.IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith(":") || v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.append(k, x);
    else out.append(k, String(v));
  }
  return out;
}

/** Connect unary responses carry trailers as `trailer-` headers. */
function splitTrailers(h: http2.IncomingHttpHeaders): () => { header: Headers; trailer: Headers } {
  let done: { header: Headers; trailer: Headers } | undefined;
  return () => {
    if (done) return done;
    const header = new Headers();
    const trailer = new Headers();
    allHeaders(h).forEach((v, k) => {
      if (k.startsWith("trailer-")) trailer.append(k.slice(8), v);
      else header.append(k, v);
    });
    return (done = { header, trailer });
  };
}

/** As connect-node does: a connection that failed keeps its Node error as the cause. */
function fromNodeError(err: Error): ConnectError {
  const code = (err as { code?: string }).code ?? "";
  const c = ["ECONNREFUSED", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN"].includes(code)
    ? Code.Unavailable
    : ["ECONNRESET", "ERR_STREAM_DESTROYED", "ERR_HTTP2_INVALID_STREAM", "ERR_STREAM_WRITE_AFTER_END"].includes(code)
      ? Code.Aborted
      : Code.Internal;
  return new ConnectError(err.message, c, undefined, undefined, err);
}

function fromResetCode(rstCode: number): ConnectError {
  const message = `http/2 stream closed with error code 0x${rstCode.toString(16)}`;
  switch (rstCode) {
    case NGHTTP2_REFUSED_STREAM:
      return new ConnectError(message, Code.Unavailable);
    case NGHTTP2_CANCEL:
      return new ConnectError(message, Code.Canceled);
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return new ConnectError(message, Code.ResourceExhausted);
    case NGHTTP2_NO_ERROR:
      // Closed without an answer (the peer went away): the connection failed.
      return new ConnectError(
        "the peer closed the stream without an answer",
        Code.Unavailable,
        undefined,
        undefined,
        new Error(message),
      );
    default:
      return new ConnectError(message, Code.Internal);
  }
}
