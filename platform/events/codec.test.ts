/**
 * The fast event codec must be indistinguishable from protobuf-es: the same
 * bytes from `encode` as `toBinary`, the same message from `decode` as
 * `fromBinary` (properties, their order, values), the same errors.
 */
import { describe, expect, it } from "vitest";
import { create, fromBinary, toBinary, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { ContractHappenedSchema } from "../../gen/orbit/contract/v1/events_pb.js";
import { PostCreatedSchema } from "../../gen/orbit/post/v1/events_pb.js";
import { compileProto } from "../../test/support/compile-proto.js";
import { codecFor } from "./codec.js";
import { encodeEvent } from "./encode.js";
import { loadGeneratedEvents } from "./generated-events.js";

const KINDS = compileProto({
  "codec/v1/kinds.proto": `
syntax = "proto3";
package codec.v1;
enum Color { COLOR_UNSPECIFIED = 0; COLOR_RED = 1; COLOR_BLUE = 2; }
message Kinds {
  int32 i32 = 1;
  int64 i64 = 2;
  uint32 u32 = 3;
  uint64 u64 = 4;
  bool b = 5;
  string s = 6;
  bytes by = 7;
  Color color = 8;
  repeated int64 li64 = 9;
  repeated string ls = 10;
  repeated int32 li32 = 11;
  repeated bool lb = 12;
  repeated Color lcolor = 13;
  repeated bytes lby = 14;
  repeated uint64 lu64 = 15 [packed = false];
  string big_numbered = 100000;
}
message Nested {
  Kinds inner = 1;
  int64 id = 2;
}
message WithOneof {
  oneof v { int64 a = 1; string b = 2; }
}
message WithOptional {
  optional int64 a = 1;
}
message WithDouble {
  double d = 1;
}
`,
}).registry;
const Kinds = KINDS.getMessage("codec.v1.Kinds")!;

/** A deterministic pseudo-random generator (xorshift). */
function rng(seed: number) {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const STRINGS = [
  "",
  "a",
  "user-42",
  "héllo wörld",
  "日本語のテキスト",
  "emoji 🎉",
  "x".repeat(42),
  "y".repeat(43),
  "z".repeat(200),
  "é".repeat(60),
  "ab\ud800cd",
  "k".repeat(20_000),
];
const I64 = [
  0n,
  1n,
  -1n,
  127n,
  128n,
  2n ** 31n,
  -(2n ** 31n),
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 62n,
  2n ** 63n - 1n,
  -(2n ** 63n),
  1234567890123n,
];
const U64 = [0n, 1n, 127n, 128n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];
const I32 = [0, 1, -1, 127, 128, 300, 2 ** 31 - 1, -(2 ** 31), 16384, -300];
const U32 = [0, 1, 127, 128, 2 ** 28, 2 ** 32 - 1];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function scalarValue(r: () => number, f: DescField): unknown {
  if (f.fieldKind === "enum" || (f.fieldKind === "list" && f.listKind === "enum")) {
    return pick(r, f.enum!.values).number;
  }
  const scalar = (f as { scalar: number }).scalar;
  switch (scalar) {
    case 3: // int64
    case 18: // sint64
      return pick(r, I64);
    case 4: // uint64
      return pick(r, U64);
    case 5: // int32
      return pick(r, I32);
    case 13: // uint32
      return pick(r, U32);
    case 8:
      return r() < 0.5;
    case 9:
      return pick(r, STRINGS);
    case 12:
      return new Uint8Array(Math.floor(r() * 40)).map(() => Math.floor(r() * 256));
    case 1:
      return r() * 1e6;
    default:
      throw new Error(`no generator for scalar ${scalar}`);
  }
}

/** A message with random values in a random subset of fields. */
function randomInit(r: () => number, schema: DescMessage): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const f of schema.fields) {
    if (r() < 0.3) continue;
    if (f.fieldKind === "list") {
      init[f.localName] = Array.from({ length: Math.floor(r() * 4) }, () => scalarValue(r, f));
    } else if (f.fieldKind === "scalar" || f.fieldKind === "enum") {
      init[f.localName] = scalarValue(r, f);
    }
  }
  return init;
}

/** The message as comparable data: property names in order, and values. */
function shape(m: unknown): unknown {
  const o = m as Record<string, unknown>;
  return Object.keys(o).map((k) => [k, o[k] instanceof Uint8Array ? [...(o[k] as Uint8Array)] : o[k]]);
}

function expectSameAsProtobufEs(schema: DescMessage, init: Record<string, unknown>): void {
  const codec = codecFor(schema);
  const message = create(schema, init);
  const bytes = toBinary(schema, message);
  expect([...codec.encode(message)]).toEqual([...bytes]);
  expect([...codec.encode(init as never)]).toEqual([...bytes]);
  const decoded = codec.decode(bytes);
  expect(shape(decoded)).toEqual(shape(fromBinary(schema, bytes)));
}

describe("event codec", () => {
  it("takes the fast path for every event type in proto/, and for the flat test message", async () => {
    const events = await loadGeneratedEvents();
    for (const topic of events.topics()) expect(codecFor(events.byTopic(topic).schema).fast, topic).toBe(true);
    expect(codecFor(Kinds).fast).toBe(true);
  });

  it("encodes and decodes exactly like protobuf-es, for every event type and every kind of field", async () => {
    const events = await loadGeneratedEvents();
    const schemas = [Kinds, ...events.topics().map((t) => events.byTopic(t).schema)];
    const r = rng(7);
    for (const schema of schemas) {
      for (let i = 0; i < 100; i++) expectSameAsProtobufEs(schema, randomInit(r, schema));
    }
  });

  it("handles the edge values of each kind", () => {
    for (const i64 of I64) expectSameAsProtobufEs(Kinds, { i64, li64: [i64, 0n, i64] });
    for (const u64 of U64) expectSameAsProtobufEs(Kinds, { u64, lu64: [u64, u64] });
    for (const i32 of I32) expectSameAsProtobufEs(Kinds, { i32, li32: [i32], color: 2, lcolor: [0, 1, 7] });
    for (const u32 of U32) expectSameAsProtobufEs(Kinds, { u32 });
    for (const s of STRINGS) expectSameAsProtobufEs(Kinds, { s, ls: [s, "", s], bigNumbered: s });
    expectSameAsProtobufEs(Kinds, { b: true, lb: [true, false] });
    expectSameAsProtobufEs(Kinds, { by: new Uint8Array(0), lby: [new Uint8Array(0), new Uint8Array([1, 2])] });
    expectSameAsProtobufEs(Kinds, {});
  });

  it("gives the zero values of absent fields, and shares nothing mutable between decoded messages", () => {
    const codec = codecFor(Kinds);
    const a = codec.decode(new Uint8Array(0)) as Record<string, unknown>;
    const b = codec.decode(new Uint8Array(0)) as Record<string, unknown>;
    expect(a.li64).toEqual([]);
    (a.li64 as bigint[]).push(1n);
    expect(b.li64).toEqual([]);
    expect(a.$typeName).toBe("codec.v1.Kinds");
  });

  it("decodes encodings protobuf-es does not write: unpacked lists, packed where unpacked is declared, repeated and reordered fields", () => {
    const codec = codecFor(Kinds);
    // li64 (9) unpacked: 9<<3|0 = 72; lu64 (15) packed: 15<<3|2 = 122; s (6) twice, last wins; i32 (1) after s.
    const bytes = new Uint8Array([72, 5, 72, 6, 122, 2, 1, 2, 50, 1, 97, 50, 1, 98, 8, 3]);
    expect(shape(codec.decode(bytes))).toEqual(shape(fromBinary(Kinds, bytes)));
    expect((codec.decode(bytes) as Record<string, unknown>).li64).toEqual([5n, 6n]);
  });

  it("leaves unknown fields, bad input and unusual schemas to protobuf-es (same result, same error)", () => {
    const codec = codecFor(ContractHappenedSchema);
    const known = toBinary(ContractHappenedSchema, create(ContractHappenedSchema, { key: "k", seq: 3n }));
    const withUnknown = new Uint8Array([...known, (15 << 3) | 0, 5]); // field 15: not in the message
    const viaCodec = codec.decode(withUnknown);
    expect(viaCodec).toEqual(fromBinary(ContractHappenedSchema, withUnknown));
    expect(viaCodec.$unknown).toHaveLength(1);
    // Re-encoding keeps the unknown field, as toBinary does.
    expect([...codec.encode(viaCodec)]).toEqual([...withUnknown]);

    const truncated = known.subarray(0, known.length - 1);
    expect(() => codec.decode(truncated)).toThrow();
    expect(() => codec.decode(truncated)).toThrow(
      (() => {
        try {
          fromBinary(ContractHappenedSchema, truncated);
        } catch (err) {
          return (err as Error).message;
        }
        return "no error";
      })(),
    );
    const badUtf8 = new Uint8Array([(1 << 3) | 2, 2, 0xc3, 0x28]);
    expect(() => fromBinary(ContractHappenedSchema, badUtf8)).toThrow();
    expect(() => codec.decode(badUtf8)).toThrow();

    // Values of another JS type go through create() like before: int64 from a number, bytes from an array.
    expect([...codec.encode({ seq: 5 as never, body: [1, 2] as never })]).toEqual([
      ...toBinary(ContractHappenedSchema, create(ContractHappenedSchema, { seq: 5 as never, body: [1, 2] as never })),
    ]);
    expect(() => codec.encode({ seq: "x" as never })).toThrow();

    for (const name of ["Nested", "WithOneof", "WithOptional", "WithDouble"]) {
      const schema = KINDS.getMessage(`codec.v1.${name}`)!;
      expect(codecFor(schema).fast, name).toBe(false);
    }
    const Nested = KINDS.getMessage("codec.v1.Nested")!;
    const n = create(Nested, { id: 4n, inner: { s: "x", li64: [1n] } as never });
    const nb = toBinary(Nested, n);
    expect([...codecFor(Nested).encode(n)]).toEqual([...nb]);
    expect(codecFor(Nested).decode(nb)).toEqual(fromBinary(Nested, nb));
  });

  it("keeps earlier payloads intact while later ones fill the arena", () => {
    const codec = codecFor(PostCreatedSchema);
    const r = rng(11);
    const made: Array<[Uint8Array, Uint8Array]> = [];
    for (let i = 0; i < 5000; i++) {
      const m = create(PostCreatedSchema, randomInit(r, PostCreatedSchema) as never);
      made.push([codec.encode(m), toBinary(PostCreatedSchema, m)]);
    }
    for (const [fast, ref] of made) expect(Buffer.from(fast).equals(Buffer.from(ref))).toBe(true);
  });

  it("encodeEvent gives an init object the key and payload of the message create() makes of it", async () => {
    const events = await loadGeneratedEvents();
    const r = rng(3);
    for (const topic of events.topics()) {
      const schema = events.byTopic(topic).schema;
      for (let i = 0; i < 30; i++) {
        const init = randomInit(r, schema);
        const keyField = events.byTopic(topic).keyField?.localName;
        if (keyField && typeof init[keyField] === "string") init[keyField] = (init[keyField] as string).slice(0, 80);
        const fromInit = encodeEvent(schema, init as never, 1 << 30, 1);
        const fromMessage = encodeEvent(schema, create(schema, init), 1 << 30, 1);
        expect(fromInit.key, topic).toBe(fromMessage.key);
        expect([...fromInit.payload], topic).toEqual([...fromMessage.payload]);
      }
      // No init at all: the zero message, as create(schema, undefined) gives.
      expect([...encodeEvent(schema, undefined as never).payload]).toEqual([...toBinary(schema, create(schema))]);
      // An absent key field: the zero value's key ("0" for a number, "" for a string).
      expect(encodeEvent(schema, {} as never).key).toBe(encodeEvent(schema, create(schema)).key);
    }
  });
});
