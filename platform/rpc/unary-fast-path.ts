/**
 * A fast path for the calls that make up most traffic between services:
 * unary, binary protobuf, uncompressed, over the Connect protocol
 * (`application/proto`, HTTP/1.1 or HTTP/2) or gRPC (`application/grpc`,
 * HTTP/2). It serves them straight from the Node request and response,
 * skipping the adapter's conversion to web Headers and async-iterable
 * bodies, with the same wire behaviour: built from @connectrpc/connect's own
 * protocol helpers (timeouts, error JSON, HTTP status mapping, gRPC trailer
 * status). Answers of 1 KiB or more are gzipped when the client accepts it
 * (Accept-Encoding, grpc-accept-encoding), as connect-es does. Anything else
 * (JSON, compressed requests, streams, GET, gRPC-Web, odd content types) is
 * left to the Connect adapter (node-adapter.ts): `serve` returns false.
 *
 * Handlers see a CallContext (call-context.ts): the same HandlerContext
 * contract, with the signal aborting on deadline, client disconnect,
 * completion and (at the drain deadline) shutdown.
 */
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { create, fromBinary, isMessage, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type MethodImplSpec } from "@connectrpc/connect";
import {
  codeToHttpStatus,
  errorToJsonBytes,
  parseTimeout as parseConnectTimeout,
} from "@connectrpc/connect/protocol-connect";
import { parseTimeout as parseGrpcTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { drainRequest } from "../http/drain.js";
import { responseGone, varyWith, type NodeServerRequest, type NodeServerResponse } from "../http/types.js";
import { CallContext } from "./call-context.js";
import { handlerError } from "./errors.js";
import { methodLimits, type RequestLimitDefaults } from "./limits.js";

export interface UnaryFastPathOptions {
  /** The (instrumented) unary implementation served at a path ("/pkg.Service/Method"). */
  readonly lookup: (path: string) => MethodImplSpec | undefined;
  readonly readMaxBytes: number;
  readonly writeMaxBytes: number;
  /** The bundle's request limits; a method's own (its proto) may lower readMaxBytes. */
  readonly limits?: RequestLimitDefaults;
  /** When it aborts, running calls end with its reason. */
  readonly shutdownSignal?: AbortSignal;
}

type Protocol = "connect" | "grpc";

/** Returns `serve(req, res)`: true if it took the request, false to leave it to the Connect adapter. */
export function createUnaryFastPath(
  opts: UnaryFastPathOptions,
): (req: NodeServerRequest, res: NodeServerResponse) => boolean {
  const running = new Set<CallContext>();
  opts.shutdownSignal?.addEventListener(
    "abort",
    () => {
      const reason = ConnectError.from(opts.shutdownSignal!.reason, Code.Unavailable);
      for (const call of running) call.fail(reason);
    },
    { once: true },
  );

  async function handle(
    spec: MethodImplSpec,
    protocol: Protocol,
    req: NodeServerRequest,
    res: NodeServerResponse,
  ): Promise<void> {
    const method = spec.method;
    const h = req.headers;
    const timeout =
      protocol === "connect"
        ? parseConnectTimeout(single(h["connect-timeout-ms"]), Number.MAX_SAFE_INTEGER)
        : parseGrpcTimeout(single(h["grpc-timeout"]), Number.MAX_SAFE_INTEGER);
    const call = new CallContext({
      method,
      protocolName: protocol,
      url: `http://${single(h.host) ?? single(h[":authority"]) ?? "localhost"}${req.url}`,
      timeoutMs: timeout.error ? undefined : timeout.timeoutMs,
      signal: undefined,
      header: h,
      values: undefined,
    });
    running.add(call);
    // (res.writableFinished cannot tell: HTTP/2 reports it true for a reset stream.)
    let answered = false;
    const onClose = () => {
      if (!answered) call.fail(new ConnectError("the client closed the request", Code.Canceled));
    };
    res.once("close", onClose);
    try {
      if (timeout.error) throw timeout.error;
      const max = Math.min(
        opts.readMaxBytes,
        methodLimits(method, opts.limits).maxBinaryBytes + (protocol === "grpc" ? 5 : 0),
      );
      const body = await call.run(readBody(req, max, protocol === "connect" ? single(h["content-length"]) : null));
      const input = parse(method.input, protocol === "connect" ? body : unwrapEnvelope(body));
      const impl = spec.impl as (req: unknown, ctx: HandlerContext) => unknown;
      const output = await call.run(impl(input, call));
      let bytes = serialize(method.output, output, opts.writeMaxBytes);
      const gzipped = acceptsGzip(protocol, h) && bytes.length >= COMPRESS_MIN_BYTES;
      if (gzipped) bytes = await gzipAsync(bytes);
      if (!responseGone(res)) {
        answered = true;
        (protocol === "connect" ? connectOk : grpcOk)(call, res, bytes, gzipped);
      }
    } catch (err) {
      // An error found before the whole body arrived (a bad timeout header, a deadline) waits for it (http/drain.ts).
      if (!req.readableEnded) await drainRequest(req, opts.readMaxBytes);
      if (!responseGone(res) && !res.headersSent) {
        answered = true;
        (protocol === "connect" ? connectError : grpcError)(call, res, call.abortReason ?? handlerError(err));
      }
    } finally {
      res.off("close", onClose);
      call.complete();
      running.delete(call);
    }
  }

  return (req, res) => {
    if (req.method !== "POST") return false;
    const spec = opts.lookup(req.url ?? "");
    if (spec?.kind !== "unary") return false;
    const h = req.headers;
    const contentType = h["content-type"];
    let protocol: Protocol;
    if (contentType === "application/proto" && identity(h["content-encoding"])) {
      protocol = "connect";
    } else if (
      (contentType === "application/grpc" || contentType === "application/grpc+proto") &&
      req.httpVersionMajor === 2 &&
      identity(h["grpc-encoding"])
    ) {
      protocol = "grpc";
    } else {
      return false;
    }
    handle(spec, protocol, req, res).catch(() => {
      // Writing the answer failed (the stream went away meanwhile): nothing left to tell.
      if (!responseGone(res)) (res as { destroy(): void }).destroy();
    });
    return true;
  };
}

function single(v: string | string[] | undefined): string | null {
  return v === undefined ? null : Array.isArray(v) ? (v[0] ?? null) : v;
}

function identity(encoding: string | string[] | undefined): boolean {
  return encoding === undefined || encoding === "identity";
}

function tooLarge(size: number, max: number, known: boolean): ConnectError {
  return new ConnectError(
    known
      ? `message size ${size} is larger than configured readMaxBytes ${max}`
      : `message size is larger than configured readMaxBytes ${max}`,
    Code.ResourceExhausted,
  );
}

function readBody(req: NodeServerRequest, max: number, lengthHint: string | null): Promise<Buffer> {
  if (lengthHint !== null && /^\d+$/.test(lengthHint) && Number(lengthHint) > max) {
    return Promise.reject(tooLarge(Number(lengthHint), max, true));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        reject(tooLarge(size, max, false));
        req.removeAllListeners("data");
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.once("error", (err) =>
      reject(new ConnectError("the request body could not be read", Code.Canceled, undefined, undefined, err)),
    );
  });
}

/** The message of a unary gRPC request: exactly one uncompressed envelope. */
function unwrapEnvelope(body: Buffer): Buffer {
  if (body.length === 0) {
    throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  }
  if (body.length < 5) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  const flags = body[0]!;
  const length = body.readUInt32BE(1);
  if (5 + length > body.length) {
    throw new ConnectError(
      `protocol error: promised ${length} bytes in enveloped message, got ${body.length - 5} bytes`,
      Code.InvalidArgument,
    );
  }
  if (5 + length < body.length) {
    throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
  }
  if ((flags & 0b1) === 0b1) {
    throw new ConnectError("protocol error: received compressed message without grpc-encoding", Code.Internal);
  }
  return body.subarray(5);
}

function parse(schema: DescMessage, bytes: Uint8Array): unknown {
  try {
    return fromBinary(schema, bytes);
  } catch (e) {
    // The client's bug, not ours: InvalidArgument (as connect-go; connect-es says Internal, see malformed-message.ts).
    throw new ConnectError(`parse binary: ${e instanceof Error ? e.message : String(e)}`, Code.InvalidArgument);
  }
}

function serialize(schema: DescMessage, output: unknown, max: number): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = toBinary(schema, isMessage(output, schema) ? output : create(schema, output as never));
  } catch (e) {
    throw new ConnectError(`serialize binary: ${e instanceof Error ? e.message : String(e)}`, Code.Internal);
  }
  if (bytes.length > max) {
    throw new ConnectError(
      `message size ${bytes.length} is larger than configured writeMaxBytes ${max}`,
      Code.ResourceExhausted,
    );
  }
  return bytes;
}

/** Headers that belong to the protocol, never copied from handlers or error metadata. */
const PROTOCOL_HEADER =
  /^(content-(type|length|encoding)|accept-encoding|connect-.*|grpc-.*|trailer-.*|te|transfer-encoding|connection|keep-alive|upgrade|host|:.*)$/i;

function userHeaders(call: CallContext, into: Record<string, string>, extra?: Headers): Record<string, string> {
  call.forEachResponseHeader((v, k) => {
    if (!PROTOCOL_HEADER.test(k)) into[k] = v;
  });
  extra?.forEach((v, k) => {
    if (!PROTOCOL_HEADER.test(k)) into[k] = v;
  });
  return into;
}

/**
 * Answers are gzipped, as connect-es does, when the client accepts it (Connect unary: Accept-Encoding;
 * gRPC: grpc-accept-encoding) and they are at least this large.
 */
const COMPRESS_MIN_BYTES = 1024;
const gzipAsync = promisify(gzip);

function acceptsGzip(protocol: Protocol, h: NodeServerRequest["headers"]): boolean {
  const accepted = single(h[protocol === "connect" ? "accept-encoding" : "grpc-accept-encoding"]);
  if (!accepted) return false;
  return accepted.split(",").some((part) => {
    const [name, ...params] = part.split(";").map((x) => x.trim());
    return name === "gzip" && !params.some((p) => /^q=0(\.0*)?$/.test(p));
  });
}

function connectOk(call: CallContext, res: NodeServerResponse, bytes: Uint8Array, gzipped: boolean): void {
  const headers = userHeaders(call, {
    "content-type": "application/proto",
    "content-length": String(bytes.length),
    vary: varyWith(res, "Accept-Encoding"),
  });
  if (gzipped) headers["content-encoding"] = "gzip";
  call.forEachResponseTrailer((v, k) => (headers[`trailer-${k}`] = v));
  res.writeHead(200, headers);
  res.end(bytes);
}

function connectError(call: CallContext, res: NodeServerResponse, err: ConnectError): void {
  const body = errorToJsonBytes(err, undefined);
  const headers = userHeaders(
    call,
    {
      "content-type": "application/json",
      "content-length": String(body.length),
      vary: varyWith(res, "Accept-Encoding"),
    },
    err.metadata,
  );
  call.forEachResponseTrailer((v, k) => (headers[`trailer-${k}`] = v));
  res.writeHead(codeToHttpStatus(err.code), headers);
  res.end(body);
}

function grpcOk(call: CallContext, res: NodeServerResponse, bytes: Uint8Array, gzipped: boolean): void {
  const headers = userHeaders(call, { "content-type": "application/grpc+proto" });
  if (gzipped) headers["grpc-encoding"] = "gzip";
  res.writeHead(200, headers);
  const trailers: Record<string, string> = {};
  call.forEachResponseTrailer((v, k) => (trailers[k] = v));
  trailers["grpc-status"] = "0";
  (res as { addTrailers(t: Record<string, string>): void }).addTrailers(trailers);
  const envelope = Buffer.allocUnsafe(5 + bytes.length);
  envelope[0] = gzipped ? 1 : 0; // the compressed-flag
  envelope.writeUInt32BE(bytes.length, 1);
  envelope.set(bytes, 5);
  res.end(envelope);
}

function grpcError(call: CallContext, res: NodeServerResponse, err: ConnectError): void {
  res.writeHead(200, userHeaders(call, { "content-type": "application/grpc+proto" }));
  const trailer = new Headers();
  call.forEachResponseTrailer((v, k) => trailer.set(k, v));
  // Only the error's own metadata, without protocol headers (a relayed error carries the upstream's).
  const metadata = new Headers();
  err.metadata.forEach((v, k) => {
    if (!PROTOCOL_HEADER.test(k)) metadata.set(k, v);
  });
  const clean = new ConnectError(err.rawMessage, err.code, metadata);
  clean.details = err.details;
  setTrailerStatus(trailer, clean);
  const trailers: Record<string, string> = {};
  trailer.forEach((v, k) => (trailers[k] = v));
  (res as { addTrailers(t: Record<string, string>): void }).addTrailers(trailers);
  res.end();
}
