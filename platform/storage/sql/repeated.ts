/**
 * Repeated scalar fields in one column, without going through a whole
 * message: the generated DAOs store `repeated int64 media_ids` as the
 * protobuf encoding of that one field (what `toBinary` of the row message with
 * only that field set gives, byte for byte), and `repeated string tags` with
 * `json = true` as a JSON array. Building and reflecting over the whole row
 * message for each such column cost more than the rest of a row's conversion.
 */
import { ScalarType } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

type Scalar = string | number | bigint | boolean | Uint8Array;

function wireTypeOf(type: ScalarType): WireType {
  switch (type) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.LengthDelimited;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.Bit32;
    default:
      return WireType.Varint;
  }
}

function writeValue(w: BinaryWriter, type: ScalarType, v: Scalar): void {
  switch (type) {
    case ScalarType.STRING:
      w.string(v as string);
      break;
    case ScalarType.BYTES:
      w.bytes(v as Uint8Array);
      break;
    case ScalarType.BOOL:
      w.bool(v as boolean);
      break;
    case ScalarType.DOUBLE:
      w.double(v as number);
      break;
    case ScalarType.FLOAT:
      w.float(v as number);
      break;
    case ScalarType.INT32:
      w.int32(v as number);
      break;
    case ScalarType.UINT32:
      w.uint32(v as number);
      break;
    case ScalarType.SINT32:
      w.sint32(v as number);
      break;
    case ScalarType.FIXED32:
      w.fixed32(v as number);
      break;
    case ScalarType.SFIXED32:
      w.sfixed32(v as number);
      break;
    case ScalarType.INT64:
      w.int64(v as bigint);
      break;
    case ScalarType.UINT64:
      w.uint64(v as bigint);
      break;
    case ScalarType.SINT64:
      w.sint64(v as bigint);
      break;
    case ScalarType.FIXED64:
      w.fixed64(v as bigint);
      break;
    case ScalarType.SFIXED64:
      w.sfixed64(v as bigint);
      break;
  }
}

function readValue(r: BinaryReader, type: ScalarType): Scalar {
  switch (type) {
    case ScalarType.STRING:
      return r.string();
    case ScalarType.BYTES:
      return r.bytes();
    case ScalarType.BOOL:
      return r.bool();
    case ScalarType.DOUBLE:
      return r.double();
    case ScalarType.FLOAT:
      return r.float();
    case ScalarType.INT32:
      return r.int32();
    case ScalarType.UINT32:
      return r.uint32();
    case ScalarType.SINT32:
      return r.sint32();
    case ScalarType.FIXED32:
      return r.fixed32();
    case ScalarType.SFIXED32:
      return r.sfixed32();
    case ScalarType.INT64:
      return BigInt(r.int64());
    case ScalarType.UINT64:
      return BigInt(r.uint64());
    case ScalarType.SINT64:
      return BigInt(r.sint64());
    case ScalarType.FIXED64:
      return BigInt(r.fixed64());
    case ScalarType.SFIXED64:
      return BigInt(r.sfixed64());
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Field `fieldNo` holding `values`, as protobuf binary: packed (one
 * length-delimited record) when `packed` (proto3's default for numeric
 * types), else one record per value (strings and bytes always).
 */
export function encodeRepeated<T extends Scalar>(
  fieldNo: number,
  type: ScalarType,
  packed: boolean,
  values: readonly T[] | undefined,
): Uint8Array {
  if (!values || values.length === 0) return EMPTY;
  const w = new BinaryWriter();
  const canPack = packed && type !== ScalarType.STRING && type !== ScalarType.BYTES;
  if (canPack) {
    w.tag(fieldNo, WireType.LengthDelimited).fork();
    for (const v of values) writeValue(w, type, v);
    w.join();
  } else {
    const wt = wireTypeOf(type);
    for (const v of values) writeValue(w.tag(fieldNo, wt), type, v);
  }
  return w.finish();
}

/**
 * The values of field `fieldNo` in `bytes`, packed or not (a reader must take
 * both); other fields are skipped, as a message parser would.
 */
export function decodeRepeated<T extends Scalar>(bytes: Uint8Array, fieldNo: number, type: ScalarType): T[] {
  const out: Scalar[] = [];
  const r = new BinaryReader(bytes);
  const packable = type !== ScalarType.STRING && type !== ScalarType.BYTES;
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no !== fieldNo) {
      r.skip(wt, no);
      continue;
    }
    if (packable && wt === WireType.LengthDelimited) {
      const end = r.uint32() + r.pos;
      while (r.pos < end) out.push(readValue(r, type));
    } else {
      if (wt !== wireTypeOf(type))
        throw new Error(`field ${fieldNo}: wire type ${wt} does not hold ${ScalarType[type]}`);
      out.push(readValue(r, type));
    }
  }
  return out as T[];
}

/** A JSON array of strings from a column (protobuf JSON of `repeated string`). */
export function jsonStrings(text: string, column: string): string[] {
  const v: unknown = JSON.parse(text);
  if (v === null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) {
    throw new TypeError(`column ${column}: expected a JSON array of strings`);
  }
  return v as string[];
}
