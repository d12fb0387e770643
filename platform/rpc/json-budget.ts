/**
 * JSON request bodies checked while they arrive, before anything parses them:
 * a body larger than its byte budget is refused with resource_exhausted, and
 * one that nests arrays or objects deeper than its depth budget with
 * invalid_argument, as soon as the offending byte is seen. A scan is one pass
 * over the bytes (no allocation), so a 16 MB `[[[[…` costs the server the few
 * bytes it reads before the refusal, not seconds of JSON.parse.
 *
 * Enveloped JSON (gRPC, gRPC-Web and Connect streaming with `+json`) is
 * checked per message; a compressed message is decompressed here within the
 * byte budget and passed on uncompressed.
 */
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";

export interface JsonBudget {
  readonly maxBytes: number;
  readonly maxDepth: number;
}

export function tooLargeError(size: number | undefined, max: number): ConnectError {
  return new ConnectError(
    size === undefined
      ? `message size is larger than the limit of ${max} bytes`
      : `message size ${size} is larger than the limit of ${max} bytes`,
    Code.ResourceExhausted,
  );
}

function tooDeep(max: number): ConnectError {
  return new ConnectError(`JSON nests deeper than ${max} levels`, Code.InvalidArgument);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** Scans one JSON text in pieces: size and nesting, nothing else (the parser judges the rest). */
export class JsonScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private size = 0;

  constructor(private readonly budget: JsonBudget) {}

  /** Throws the refusal once the text so far is over budget. */
  push(chunk: Uint8Array): void {
    this.size += chunk.length;
    if (this.size > this.budget.maxBytes) throw tooLargeError(undefined, this.budget.maxBytes);
    const max = this.budget.maxDepth;
    let { depth, inString, escaped } = this;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) inString = false;
      } else if (b === QUOTE) {
        inString = true;
      } else if (b === OPEN_BRACKET || b === OPEN_BRACE) {
        if (++depth > max) throw tooDeep(max);
      } else if (b === CLOSE_BRACKET || b === CLOSE_BRACE) {
        depth--;
      }
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
  }
}

/** Checks a whole JSON text at once. */
export function checkJson(bytes: Uint8Array, budget: JsonBudget): void {
  new JsonScanner(budget).push(bytes);
}

/** A unary JSON body (Connect `application/json`), passed on piece by piece once each piece is checked. */
export async function* checkedJsonBody(
  body: AsyncIterable<Uint8Array>,
  budget: JsonBudget,
): AsyncGenerator<Uint8Array> {
  const scanner = new JsonScanner(budget);
  for await (const chunk of body) {
    scanner.push(chunk);
    yield chunk;
  }
}

/** A compressed unary JSON body: read (compressed size within budget), decompressed within budget, checked. */
export async function* checkedCompressedJsonBody(
  body: AsyncIterable<Uint8Array>,
  encoding: string,
  budget: JsonBudget,
): AsyncGenerator<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > budget.maxBytes) throw tooLargeError(undefined, budget.maxBytes);
    chunks.push(chunk);
  }
  const plain = decompress(Buffer.concat(chunks), encoding, budget.maxBytes);
  checkJson(plain, budget);
  yield plain;
}

/** The encodings this file can decompress (others are left to connect-es, which refuses them). */
export function canDecompress(encoding: string): boolean {
  return encoding === "gzip" || encoding === "br" || encoding === "deflate";
}

function decompress(bytes: Buffer, encoding: string, maxBytes: number): Buffer {
  try {
    const opts = { maxOutputLength: maxBytes };
    if (encoding === "gzip") return gunzipSync(bytes, opts);
    if (encoding === "br") return brotliDecompressSync(bytes, opts);
    if (encoding === "deflate") return inflateSync(bytes, opts);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw tooLargeError(undefined, maxBytes);
    throw new ConnectError(`cannot decompress the ${encoding} request`, Code.InvalidArgument);
  }
  throw new ConnectError(`unsupported request encoding ${encoding}`, Code.Unimplemented);
}

/**
 * Enveloped JSON messages (5-byte header: flags, length), each checked
 * whole before it is passed on; compressed ones are passed on decompressed.
 */
export async function* checkedJsonEnvelopes(
  body: AsyncIterable<Uint8Array>,
  encoding: string | undefined,
  budget: JsonBudget,
): AsyncGenerator<Uint8Array> {
  let buf: Buffer = Buffer.alloc(0);
  for await (const chunk of body) {
    buf = buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 5) break;
      const flags = buf[0]!;
      const length = buf.readUInt32BE(1);
      if (length > budget.maxBytes) throw tooLargeError(length, budget.maxBytes);
      if (buf.length < 5 + length) break;
      let message: Buffer = buf.subarray(5, 5 + length);
      buf = buf.subarray(5 + length);
      let outFlags = flags;
      // Bit 1 marks an end-of-stream/trailer envelope, which is not a message.
      if ((flags & 0b10) === 0) {
        if ((flags & 0b1) === 0b1) {
          if (!encoding || !canDecompress(encoding)) {
            throw new ConnectError("received a compressed message without a known encoding", Code.InvalidArgument);
          }
          message = decompress(message, encoding, budget.maxBytes);
          outFlags = flags & ~0b1;
        }
        checkJson(message, budget);
      }
      const header = Buffer.alloc(5);
      header[0] = outFlags;
      header.writeUInt32BE(message.length, 1);
      yield header;
      yield message;
    }
  }
  if (buf.length > 0) yield buf; // an incomplete envelope: connect-es reports it
}
