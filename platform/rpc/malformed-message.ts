/**
 * A request message that is not valid protobuf binary is the client's fault:
 * Orbit answers it with InvalidArgument, as connect-go does (the unary fast
 * path parses with that code itself). connect-es answers Internal ("parse
 * binary: premature EOF"), which makes a client's bug look like a server
 * fault, and offers no option to change it; so the node adapter
 * (node-adapter.ts) rewrites that one error in the responses of connect-es's
 * handlers, where each protocol carries its status:
 *
 *   Connect unary       HTTP 500 + JSON {"code":"internal",…}   → 400 invalid_argument
 *   Connect streaming   end-of-stream frame (flag 0x02), JSON    → invalid_argument
 *   gRPC                grpc-status 13 in the trailers           → 3
 *   gRPC-Web            trailer frame (flag 0x80), text          → 3
 *
 * Only errors whose message starts with connect-es's "parse binary:" change.
 */
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";

const PARSE_BINARY = "parse binary:";
const GRPC_INTERNAL = "13";
const GRPC_INVALID_ARGUMENT = "3";

export function parseErrorsAreInvalidArgument(res: UniversalServerResponse): UniversalServerResponse {
  const type = res.header?.get("content-type") ?? "";
  if (res.header?.has("content-encoding")) return res;
  if (type.startsWith("application/json") && res.status === 500 && res.body) {
    const out = { ...res };
    out.body = connectUnary(res.body as AsyncIterable<Uint8Array>, out);
    return out;
  }
  if (type.startsWith("application/grpc-web")) {
    return res.body ? { ...res, body: lastFrame(res.body as AsyncIterable<Uint8Array>, 0x80, grpcWebTrailer) } : res;
  }
  if (type.startsWith("application/grpc")) {
    if (res.header) grpcStatus(res.header);
    if (!res.trailer) return res;
    const trailer = res.trailer;
    return {
      ...res,
      body: after(res.body as AsyncIterable<Uint8Array> | undefined, () => grpcStatus(trailer)),
    };
  }
  if (type.startsWith("application/connect+") && res.body) {
    return { ...res, body: lastFrame(res.body as AsyncIterable<Uint8Array>, 0x02, connectEndStream) };
  }
  return res;
}

function isParseError(message: unknown): boolean {
  return typeof message === "string" && message.startsWith(PARSE_BINARY);
}

/** Connect unary: the error is the whole (small, single-chunk) JSON body. */
async function* connectUnary(body: AsyncIterable<Uint8Array>, res: UniversalServerResponse): AsyncIterable<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  const whole = Buffer.concat(chunks);
  let error: { code?: string; message?: unknown } | undefined;
  try {
    error = JSON.parse(whole.toString("utf8")) as typeof error;
  } catch {
    // not an error body of ours
  }
  if (error?.code !== "internal" || !isParseError(error.message)) {
    yield whole;
    return;
  }
  const fixed = Buffer.from(JSON.stringify({ ...error, code: "invalid_argument" }));
  // The head is written after the first body chunk is read (universalResponseToNodeResponse), so it sees this.
  (res as { status: number }).status = 400;
  res.header?.set("content-length", String(fixed.length));
  yield fixed;
}

function grpcStatus(h: Headers): void {
  if (h.get("grpc-status") !== GRPC_INTERNAL) return;
  const message = h.get("grpc-message");
  if (message !== null && isParseError(decodeURIComponent(message))) h.set("grpc-status", GRPC_INVALID_ARGUMENT);
}

async function* after(body: AsyncIterable<Uint8Array> | undefined, done: () => void): AsyncIterable<Uint8Array> {
  if (body) yield* body;
  done();
}

/** Passes the frames on, rewriting a chunk that is exactly one frame with `flag` (the status frame). */
async function* lastFrame(
  body: AsyncIterable<Uint8Array>,
  flag: number,
  rewrite: (payload: string) => string | undefined,
): AsyncIterable<Uint8Array> {
  for await (const chunk of body) {
    if (chunk.length >= 5 && chunk[0] === flag && Buffer.from(chunk).readUInt32BE(1) === chunk.length - 5) {
      const fixed = rewrite(Buffer.from(chunk.subarray(5)).toString("utf8"));
      if (fixed !== undefined) {
        const payload = Buffer.from(fixed, "utf8");
        const frame = Buffer.alloc(5 + payload.length);
        frame[0] = flag;
        frame.writeUInt32BE(payload.length, 1);
        payload.copy(frame, 5);
        yield frame;
        continue;
      }
    }
    yield chunk;
  }
}

/** gRPC-Web trailers: "grpc-status: 13\r\ngrpc-message: parse%20binary…\r\n". */
function grpcWebTrailer(text: string): string | undefined {
  const h = new Headers();
  for (const line of text.split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0) h.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const before = h.get("grpc-status");
  grpcStatus(h);
  if (h.get("grpc-status") === before) return undefined;
  return text.replace(/^grpc-status:\s*13\s*$/im, `grpc-status: ${GRPC_INVALID_ARGUMENT}`);
}

/** Connect end-of-stream: {"error":{"code":"internal","message":"parse binary: …"},…}. */
function connectEndStream(text: string): string | undefined {
  let end: { error?: { code?: string; message?: unknown } } | undefined;
  try {
    end = JSON.parse(text) as typeof end;
  } catch {
    return undefined;
  }
  if (end?.error?.code !== "internal" || !isParseError(end.error.message)) return undefined;
  return JSON.stringify({ ...end, error: { ...end.error, code: "invalid_argument" } });
}
