/**
 * GetChanges cursors and page tokens. A changes cursor is, per conversation
 * of the user, the last change seq the device has: changes of one
 * conversation commit in seq order (each takes the next seq under the
 * conversation row's lock), so a position per conversation never skips one
 * that commits late, which a single global position could.
 *
 * Encoding: base64url of "c1" + varint pairs (conversation id, seq).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";

const MAGIC = "c1";

export function encodeCursor(positions: ReadonlyMap<bigint, bigint>): string {
  const w = new BinaryWriter();
  for (const [conv, seq] of [...positions].sort((a, b) => (a[0] < b[0] ? -1 : 1))) w.uint64(conv).uint64(seq);
  return MAGIC + Buffer.from(w.finish()).toString("base64url");
}

export function decodeCursor(cursor: string): Map<bigint, bigint> {
  const bad = () => new ConnectError("cursor: not a cursor GetChanges returned", Code.InvalidArgument);
  if (!cursor.startsWith(MAGIC) || !/^[A-Za-z0-9_-]*$/.test(cursor.slice(MAGIC.length))) throw bad();
  const bytes = Buffer.from(cursor.slice(MAGIC.length), "base64url");
  const r = new BinaryReader(bytes);
  const out = new Map<bigint, bigint>();
  try {
    while (r.pos < bytes.length) {
      const conv = BigInt(r.uint64());
      const seq = BigInt(r.uint64());
      if (conv <= 0n || seq < 0n) throw bad();
      out.set(conv, seq);
    }
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    throw bad();
  }
  return out;
}

/** A page token of one or two int64 values ("p1:<a>[:<b>]"). */
export function encodeToken(...values: bigint[]): string {
  return Buffer.from(`p1:${values.join(":")}`).toString("base64url");
}

export function decodeToken(token: string, count: number): bigint[] {
  const m = /^p1:(-?\d{1,19})(?::(-?\d{1,19}))?$/.exec(Buffer.from(token, "base64url").toString("utf8"));
  const values = m ? [m[1], m[2]].filter((v) => v !== undefined).map((v) => BigInt(v!)) : [];
  if (values.length !== count) throw new ConnectError("page_token: not valid", Code.InvalidArgument);
  return values;
}
