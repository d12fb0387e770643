/**
 * gRPC-Web's text mode (`application/grpc-web-text`, the default of
 * protoc-gen-grpc-web clients): the same frames as binary gRPC-Web, base64
 * encoded both ways. connect-es speaks only binary gRPC-Web, so the node
 * adapter (node-adapter.ts) translates around it: the request body is decoded
 * and relabelled `application/grpc-web+proto`, the response body is encoded
 * and relabelled `application/grpc-web-text+proto`.
 *
 * A sender may base64 each chunk on its own (padding in the middle of the
 * stream), so decoding goes four characters at a time and accepts padding
 * anywhere a group ends; encoding keeps the stream one valid base64 text.
 */
import type { UniversalServerRequest, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { Code, ConnectError } from "@connectrpc/connect";

const TEXT = /^application\/grpc-web-text(\+proto)?(;|$)/i;

/** Whether a request's content type is gRPC-Web text (only proto: JSON has no text mode). */
export function isGrpcWebText(contentType: string | null | undefined): boolean {
  return contentType != null && TEXT.test(contentType);
}

/** The binary gRPC-Web request that `req` (gRPC-Web text) stands for. */
export function decodeTextRequest(req: UniversalServerRequest): UniversalServerRequest {
  const header = new Headers(req.header);
  header.set("content-type", "application/grpc-web+proto");
  header.delete("content-length");
  return { ...req, header, body: base64Decoded(req.body as AsyncIterable<Uint8Array>) };
}

/** The gRPC-Web text response for a binary gRPC-Web `res`. */
export function encodeTextResponse(res: UniversalServerResponse): UniversalServerResponse {
  const header = new Headers(res.header);
  const type = header.get("content-type");
  if (type?.startsWith("application/grpc-web")) header.set("content-type", "application/grpc-web-text+proto");
  header.delete("content-length");
  return { ...res, header, body: res.body && base64Encoded(res.body as AsyncIterable<Uint8Array>) };
}

async function* base64Decoded(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  let pending = "";
  for await (const chunk of body) {
    pending += Buffer.from(chunk).toString("latin1").replace(/\s+/g, "");
    // Decode whole groups of four; a group may end in padding (a chunk boundary of the sender).
    const whole = pending.length - (pending.length % 4);
    if (whole > 0) {
      yield decodeGroups(pending.slice(0, whole));
      pending = pending.slice(whole);
    }
  }
  if (pending.length > 0) throw invalidText("the base64 body does not end on a 4-character boundary");
}

const PLAIN = /^[A-Za-z0-9+/]*$/;
const PADDED = /^[A-Za-z0-9+/]*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)$/;

/** Decodes base64 whose length is a multiple of 4; a padded group may end any 4-character group. */
function decodeGroups(text: string): Uint8Array {
  if (!text.includes("=")) {
    if (!PLAIN.test(text)) throw invalidText("not base64");
    return Buffer.from(text, "base64");
  }
  const parts: Buffer[] = [];
  let start = 0;
  while (start < text.length) {
    const pad = text.indexOf("=", start);
    const end = pad === -1 ? text.length : (Math.floor(pad / 4) + 1) * 4;
    const segment = text.slice(start, end);
    if (!(pad === -1 ? PLAIN : PADDED).test(segment)) throw invalidText("not base64");
    parts.push(Buffer.from(segment, "base64"));
    start = end;
  }
  return Buffer.concat(parts);
}

function invalidText(why: string): ConnectError {
  return new ConnectError(`protocol error: gRPC-Web text body: ${why}`, Code.InvalidArgument);
}

async function* base64Encoded(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of body) {
    const all = carry.length
      ? Buffer.concat([carry, chunk])
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    const whole = all.length - (all.length % 3);
    carry = Buffer.from(all.subarray(whole));
    if (whole > 0) yield Buffer.from(all.subarray(0, whole).toString("base64"), "latin1");
  }
  if (carry.length > 0) yield Buffer.from(carry.toString("base64"), "latin1");
}
