/**
 * A specialised protobuf codec for flat event messages: the bus's per-event
 * encode and decode without protobuf-es's generic writer and reader (a
 * `BinaryWriter` per message, a `[fieldNo, wireType]` array per tag, a Map
 * lookup per field), which were the largest single cost per event in the
 * profile of `npm run bench -- events`.
 *
 * It handles messages whose fields are all singular implicit-presence
 * (proto3) or repeated scalars of the kinds events use: int32, int64, uint32,
 * uint64, bool, string, bytes, enum (64-bit fields as bigint). Every event
 * type in proto/ is of this shape. For any other schema, and for any input
 * it is not sure about (a value of an unexpected JS type, unknown fields, a
 * wire type it does not expect, invalid UTF-8), it hands the whole message to
 * protobuf-es (`toBinary` / `fromBinary`), so results and errors are exactly
 * protobuf-es's:
 *
 *  - `encode` writes the bytes `toBinary` writes (fields in number order,
 *    zero values omitted, packed repeated numbers), byte for byte;
 *  - `decode` returns the message `fromBinary` returns (same properties in
 *    the same order, `bytes` as views of the payload), accepting fields in
 *    any order, repeated singular fields (last wins), and packed or unpacked
 *    repeated numbers.
 *
 * Payloads are written into a shared arena (64 KiB chunks) and returned as
 * Buffer views of it: one small object per event, no copy.
 */
import { create, fromBinary, isMessage, ScalarType, toBinary } from "@bufbuild/protobuf";
import type { DescField, DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";

const IMPLICIT = 2;

const enum Kind {
  Int32,
  Int64,
  Uint32,
  Uint64,
  Bool,
  String,
  Bytes,
}

interface Field {
  readonly no: number;
  readonly name: string;
  readonly kind: Kind;
  readonly list: boolean;
  /** Repeated numbers written packed (one length-delimited record). */
  readonly packed: boolean;
  /** The tag varint (field number and the wire type it is written with), < 2^28. */
  readonly tag: number;
  /** Strings: invalid UTF-8 fails the decode (protobuf-es's `utf8Validation`). */
  readonly strict: boolean;
  /** The zero value (singular fields). */
  readonly zero: unknown;
}

export interface EventCodec<Desc extends DescMessage = DescMessage> {
  /** True when the fast path applies to this schema (otherwise every call goes to protobuf-es). */
  readonly fast: boolean;
  /** protobuf binary of a message or of an init object (`create(schema, init)` semantics). */
  encode(input: MessageShape<Desc> | MessageInitShape<Desc>): Uint8Array;
  decode(payload: Uint8Array): MessageShape<Desc>;
}

const codecs = new WeakMap<DescMessage, EventCodec>();

/** The codec of `schema` (built once per schema). */
export function codecFor<Desc extends DescMessage>(schema: Desc): EventCodec<Desc> {
  let c = codecs.get(schema);
  if (!c) {
    const fields = flatFields(schema);
    c = fields ? new FlatCodec(schema, fields) : new ProtobufEsCodec(schema);
    codecs.set(schema, c);
  }
  return c as EventCodec<Desc>;
}

class ProtobufEsCodec implements EventCodec {
  readonly fast = false;
  constructor(private readonly schema: DescMessage) {}
  encode(input: object): Uint8Array {
    const m = isMessage(input, this.schema) ? input : create(this.schema, input as never);
    return toBinary(this.schema, m);
  }
  decode(payload: Uint8Array) {
    return fromBinary(this.schema, payload);
  }
}

function kindOf(scalar: ScalarType): Kind | undefined {
  switch (scalar) {
    case ScalarType.INT32:
      return Kind.Int32;
    case ScalarType.INT64:
      return Kind.Int64;
    case ScalarType.UINT32:
      return Kind.Uint32;
    case ScalarType.UINT64:
      return Kind.Uint64;
    case ScalarType.BOOL:
      return Kind.Bool;
    case ScalarType.STRING:
      return Kind.String;
    case ScalarType.BYTES:
      return Kind.Bytes;
    default:
      return undefined;
  }
}

/** The fields of a schema the fast path handles, in number order; undefined if it does not handle it. */
function flatFields(schema: DescMessage): Field[] | undefined {
  if (schema.oneofs.length > 0 || schema.members.length !== schema.fields.length) return undefined;
  const zeroMessage = create(schema) as unknown as Record<string, unknown>;
  if (Object.getPrototypeOf(zeroMessage) !== Object.prototype) return undefined;
  const out: Field[] = [];
  for (const f of schema.fields as readonly DescField[]) {
    let kind: Kind | undefined;
    let list = false;
    let packed = false;
    if (f.fieldKind === "scalar" || f.fieldKind === "enum") {
      if (f.presence !== IMPLICIT || f.oneof) return undefined;
      kind = f.fieldKind === "enum" ? Kind.Int32 : kindOf(f.scalar);
      if (f.fieldKind === "scalar" && f.longAsString) return undefined;
    } else if (f.fieldKind === "list" && (f.listKind === "scalar" || f.listKind === "enum")) {
      kind = f.listKind === "enum" ? Kind.Int32 : kindOf(f.scalar);
      if (f.listKind === "scalar" && f.longAsString) return undefined;
      list = true;
      packed = f.packed;
    } else {
      return undefined;
    }
    if (kind === undefined) return undefined;
    if (f.number >= 1 << 25) return undefined;
    const lengthDelimited = kind === Kind.String || kind === Kind.Bytes || packed;
    out.push({
      no: f.number,
      name: f.localName,
      kind,
      list,
      packed: packed && kind !== Kind.String && kind !== Kind.Bytes,
      tag: (f.number << 3) | (lengthDelimited ? 2 : 0),
      strict: kind === Kind.String && f.utf8Validation,
      zero: list ? undefined : zeroMessage[f.localName],
    });
    if (list && packed && (kind === Kind.String || kind === Kind.Bytes)) return undefined;
  }
  // The properties of a decoded message, in the order create() sets them.
  const order = Object.keys(zeroMessage).filter((k) => k !== "$typeName");
  if (order.length !== out.length) return undefined;
  return out.sort((a, b) => a.no - b.no);
}

// ---- arena ------------------------------------------------------------------

const CHUNK = 64 * 1024;
let arena = Buffer.allocUnsafeSlow(CHUNK);
let used = 0;

/** Room for `bytes` more bytes at `used` (a fresh chunk when this one is full). */
function reserve(bytes: number): void {
  if (used + bytes <= arena.length) return;
  arena = Buffer.allocUnsafeSlow(Math.max(CHUNK, bytes));
  used = 0;
}

/** Not sure about a value: the whole message goes to protobuf-es. */
const FALLBACK = -1;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const UINT32_MAX = 2 ** 32 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const TWO_53 = 2n ** 53n;

function varintSize(v: number): number {
  // v is a non-negative integer below 2^53.
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 5;
  for (v = Math.floor(v / 0x800000000); v > 0; v = Math.floor(v / 128)) n++;
  return n;
}

/** Writes a non-negative integer below 2^53 as a varint at `pos`; returns the new position. */
function writeVarint(buf: Buffer, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** Writes a 64-bit two's-complement value (as a bigint in [0, 2^64)) as a varint. */
function writeVarintBig(buf: Buffer, pos: number, v: bigint): number {
  if (v < TWO_53) return writeVarint(buf, pos, Number(v));
  let lo = Number(v & 0xffffffffn);
  let hi = Number(v >> 32n);
  // 28 bits at a time from lo, then mixed, like protobuf-es's varint64write.
  for (let i = 0; i < 4; i++) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  // bits 28..34: 4 from lo, 3 from hi
  let b = (lo & 0x0f) | ((hi & 0x07) << 4);
  hi >>>= 3;
  if (hi === 0) {
    buf[pos++] = b;
    return pos;
  }
  buf[pos++] = b | 0x80;
  while (hi >= 0x80) {
    buf[pos++] = (hi & 0x7f) | 0x80;
    hi >>>= 7;
  }
  buf[pos++] = hi;
  return pos;
}

/** Size of one value's varint / payload (not the tag); FALLBACK when the value is not of the expected type. */
function valueSize(kind: Kind, v: unknown): number {
  switch (kind) {
    case Kind.Int32:
      if (typeof v !== "number" || !Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) return FALLBACK;
      return v < 0 ? 10 : varintSize(v);
    case Kind.Uint32:
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > UINT32_MAX) return FALLBACK;
      return varintSize(v);
    case Kind.Int64:
      if (typeof v !== "bigint" || v < INT64_MIN || v > INT64_MAX) return FALLBACK;
      return v < 0n ? 10 : v < TWO_53 ? varintSize(Number(v)) : bigVarintSize(v);
    case Kind.Uint64:
      if (typeof v !== "bigint" || v < 0n || v > UINT64_MAX) return FALLBACK;
      return v < TWO_53 ? varintSize(Number(v)) : bigVarintSize(v);
    case Kind.Bool:
      return typeof v === "boolean" ? 1 : FALLBACK;
    default:
      return FALLBACK;
  }
}

function bigVarintSize(v: bigint): number {
  let n = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    n++;
  }
  return n;
}

/** Writes a number-like value whose size valueSize accepted. */
function writeValue(buf: Buffer, pos: number, kind: Kind, v: unknown): number {
  switch (kind) {
    case Kind.Int32:
      return (v as number) < 0
        ? writeVarintBig(buf, pos, BigInt.asUintN(64, BigInt(v as number)))
        : writeVarint(buf, pos, v as number);
    case Kind.Uint32:
      return writeVarint(buf, pos, v as number);
    case Kind.Int64:
    case Kind.Uint64:
      if ((v as bigint) >= 0n && (v as bigint) < TWO_53) return writeVarint(buf, pos, Number(v));
      return writeVarintBig(buf, pos, BigInt.asUintN(64, v as bigint));
    case Kind.Bool:
      buf[pos] = v ? 1 : 0;
      return pos + 1;
  }
  throw new Error("unreachable");
}

/** Upper bound of a value's bytes with its tag (NaN when not of the expected JS type). */
function boundOf(kind: Kind, v: unknown): number {
  if (kind === Kind.String) return typeof v === "string" ? 10 + 3 * v.length : Number.NaN;
  if (kind === Kind.Bytes) return v instanceof Uint8Array ? 10 + v.byteLength : Number.NaN;
  return 15;
}

/** Writes the length and UTF-8 of `s` at `pos`. */
function writeString(buf: Buffer, pos: number, s: string): number {
  const len = s.length;
  if (len < 43) {
    // The byte length is below 128: a one-byte prefix. ASCII in JavaScript,
    // anything else through the native encoder.
    const start = pos + 1;
    let i = 0;
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      buf[start + i] = c;
    }
    const n = i === len ? len : buf.write(s, start, "utf8");
    buf[pos] = n;
    return start + n;
  }
  const n = Buffer.byteLength(s, "utf8");
  pos = writeVarint(buf, pos, n);
  buf.write(s, pos, n, "utf8");
  return pos + n;
}

function writeBytes(buf: Buffer, pos: number, b: Uint8Array): number {
  pos = writeVarint(buf, pos, b.byteLength);
  buf.set(b, pos);
  return pos + b.byteLength;
}

/** Writes a repeated field (room reserved by the caller); FALLBACK on a value of an unexpected type. */
function writeList(buf: Buffer, pos: number, f: Field, v: readonly unknown[]): number {
  if (v.length === 0) return pos;
  if (f.kind === Kind.String) {
    for (const item of v) pos = writeString(buf, writeVarint(buf, pos, f.tag), item as string);
    return pos;
  }
  if (f.kind === Kind.Bytes) {
    for (const item of v) pos = writeBytes(buf, writeVarint(buf, pos, f.tag), item as Uint8Array);
    return pos;
  }
  let body = 0;
  for (const item of v) {
    const s = valueSize(f.kind, item);
    if (s === FALLBACK) return FALLBACK;
    body += s;
  }
  if (f.packed) {
    pos = writeVarint(buf, writeVarint(buf, pos, f.tag), body);
    for (const item of v) pos = writeValue(buf, pos, f.kind, item);
    return pos;
  }
  for (const item of v) pos = writeValue(buf, writeVarint(buf, pos, f.tag), f.kind, item);
  return pos;
}

// ---- decoding ---------------------------------------------------------------

const utf8 = new TextDecoder("utf-8");
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** Thrown inside decode to hand the payload to protobuf-es. */
const NOT_SURE = Symbol("not sure");

class Reader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly end: number,
  ) {}

  /**
   * A varint of at most 7 bytes (below 2^49) as a number; -1 (position
   * unchanged) for a longer one, which `varintBig` reads.
   */
  varint(): number {
    const buf = this.buf;
    const start = this.pos;
    let v = 0;
    let mul = 1;
    for (let p = start; p < start + 7; p++) {
      if (p >= this.end) throw NOT_SURE;
      const b = buf[p]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        this.pos = p + 1;
        return v;
      }
      mul *= 128;
    }
    return -1;
  }

  /** A varint as a 64-bit unsigned bigint. */
  varintBig(): bigint {
    const n = this.varint();
    if (n >= 0) return BigInt(n);
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    for (;;) {
      if (p >= this.end || p - start === 10) throw NOT_SURE;
      if (buf[p++]! < 0x80) break;
    }
    let v = 0n;
    for (let i = p - 1; i >= start; i--) v = (v << 7n) | BigInt(buf[i]! & 0x7f);
    this.pos = p;
    return BigInt.asUintN(64, v);
  }

  value(kind: Kind): unknown {
    switch (kind) {
      case Kind.Int32: {
        const n = this.varint();
        return n >= 0 ? n | 0 : Number(BigInt.asIntN(32, this.varintBig()));
      }
      case Kind.Uint32: {
        const n = this.varint();
        return n >= 0 ? n >>> 0 : Number(BigInt.asUintN(32, this.varintBig()));
      }
      case Kind.Int64: {
        const n = this.varint();
        return n >= 0 ? BigInt(n) : BigInt.asIntN(64, this.varintBig());
      }
      case Kind.Uint64:
        return this.varintBig();
      case Kind.Bool: {
        const n = this.varint();
        return n >= 0 ? n !== 0 : this.varintBig() !== 0n;
      }
    }
    throw NOT_SURE;
  }

  /** A field's tag (below 2^32). */
  tag(): number {
    const n = this.varint();
    if (n < 0 || n > 0xffffffff) throw NOT_SURE;
    return n;
  }

  /** The length of a length-delimited record, checked against the end. */
  length(): number {
    const n = this.varint();
    if (n < 0 || this.pos + n > this.end) throw NOT_SURE;
    return n;
  }
}

class FlatCodec implements EventCodec {
  readonly fast = true;
  private readonly byNo: Array<Field | undefined> = [];
  private readonly typeName: string;
  /** The fields in declaration order (the order of a created message's properties). */
  private readonly declared: Field[];

  constructor(
    private readonly schema: DescMessage,
    private readonly fields: Field[],
  ) {
    this.typeName = schema.typeName;
    for (const f of fields) this.byNo[f.no] = f;
    this.declared = schema.fields.map((d) => fields.find((f) => f.no === d.number)!);
    this.zero = zeroFactory(this.typeName, this.declared);
  }

  /** A new zero message: an object literal of one fixed shape per schema. */
  private readonly zero: () => Record<string, unknown>;

  encode(input: object): Uint8Array {
    const m = input as Record<string, unknown>;
    const typed = m.$typeName;
    if ((typed !== undefined && typed !== this.typeName) || m.$unknown !== undefined) return this.slow(input);
    // One pass for an upper bound of the size (so the message is written in
    // one chunk of the arena), one to write.
    let bound = 0;
    for (const f of this.fields) {
      const v = m[f.name];
      if (v === undefined || v === null) continue; // an init object without the field: its zero value
      if (!f.list) bound += boundOf(f.kind, v);
      else if (!Array.isArray(v)) return this.slow(input);
      else for (const item of v) bound += boundOf(f.kind, item);
    }
    if (bound !== bound) return this.slow(input); // NaN: a value of an unexpected type
    reserve(bound + 10 * this.fields.length);
    const buf = arena;
    const start = used;
    let pos = start;
    for (const f of this.fields) {
      const v = m[f.name];
      if (v === undefined || v === null) continue;
      if (f.list) pos = writeList(buf, pos, f, v as unknown[]);
      else if (f.kind === Kind.String) {
        if (v !== "") pos = writeString(buf, writeVarint(buf, pos, f.tag), v as string);
      } else if (f.kind === Kind.Bytes) {
        if ((v as Uint8Array).byteLength > 0) pos = writeBytes(buf, writeVarint(buf, pos, f.tag), v as Uint8Array);
      } else if (v !== f.zero) {
        if (valueSize(f.kind, v) === FALLBACK) pos = FALLBACK;
        else pos = writeValue(buf, writeVarint(buf, pos, f.tag), f.kind, v);
      }
      if (pos === FALLBACK) return this.slow(input);
    }
    used = pos;
    return buf.subarray(start, pos);
  }

  private slow(input: object): Uint8Array {
    const m = isMessage(input, this.schema) ? input : create(this.schema, input as never);
    return toBinary(this.schema, m);
  }

  decode(payload: Uint8Array) {
    try {
      return this.decodeFast(payload);
    } catch (err) {
      if (err !== NOT_SURE) throw err;
      return fromBinary(this.schema, payload);
    }
  }

  private decodeFast(payload: Uint8Array) {
    const m = this.zero();
    const r = new Reader(payload, payload.byteLength);
    const buf = payload;
    while (r.pos < r.end) {
      const tag = r.tag();
      const f = this.byNo[Math.floor(tag / 8)];
      if (f === undefined) throw NOT_SURE; // unknown field: protobuf-es keeps it in $unknown
      const wire = tag & 7;
      if (f.kind === Kind.String || f.kind === Kind.Bytes) {
        if (wire !== 2) throw NOT_SURE;
        const n = r.length();
        const s = r.pos;
        r.pos += n;
        let v: unknown;
        if (f.kind === Kind.Bytes) v = buf.subarray(s, s + n);
        else v = decodeString(buf, s, n, f.strict);
        if (f.list) (m[f.name] as unknown[]).push(v);
        else m[f.name] = v;
      } else if (wire === 0) {
        const v = r.value(f.kind);
        if (f.list) (m[f.name] as unknown[]).push(v);
        else m[f.name] = v;
      } else if (wire === 2 && f.list) {
        const n = r.length();
        const end = r.pos + n;
        const list = m[f.name] as unknown[];
        const inner = new Reader(buf, end);
        inner.pos = r.pos;
        while (inner.pos < end) list.push(inner.value(f.kind));
        if (inner.pos !== end) throw NOT_SURE;
        r.pos = end;
      } else {
        throw NOT_SURE;
      }
      if (r.pos > r.end) throw NOT_SURE;
    }
    return m as MessageShape<DescMessage>;
  }
}

function decodeString(buf: Uint8Array, start: number, n: number, strict: boolean): string {
  if (n < 64) {
    let s = "";
    for (let i = start; i < start + n; i++) {
      const c = buf[i]!;
      if (c > 0x7f) return decodeUtf8(buf, start, n, strict);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decodeUtf8(buf, start, n, strict);
}

function decodeUtf8(buf: Uint8Array, start: number, n: number, strict: boolean): string {
  const view = buf.subarray(start, start + n);
  if (!strict) return utf8.decode(view);
  try {
    return utf8Strict.decode(view);
  } catch {
    throw NOT_SURE; // protobuf-es reports the invalid UTF-8 its own way
  }
}

/**
 * A function returning the zero message of a schema as one object literal
 * (`{ $typeName, a: 0n, b: "", c: [] }`): every decoded message of the schema
 * gets the same hidden class at once, instead of growing one property at a
 * time. Property names are the schema's local names (identifiers), quoted.
 */
function zeroFactory(typeName: string, declared: readonly Field[]): () => Record<string, unknown> {
  const zeros = declared.map((f) => f.zero);
  const props = declared.map((f, i) => `${JSON.stringify(f.name)}: ${f.list ? "[]" : `z[${i}]`}`);
  const body = `return () => ({ $typeName: t, ${props.join(", ")} });`;
  return new Function("t", "z", body)(typeName, zeros) as () => Record<string, unknown>;
}
