import { create, fromBinary, ScalarType, toBinary, type DescField } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { compileProto } from "../../../test/support/compile-proto.js";
import { decodeRepeated, encodeRepeated, jsonStrings } from "./repeated.js";

const { registry } = compileProto({
  "demo/v1/lists.proto": `
    syntax = "proto3";
    package demo.v1;
    enum Mood { MOOD_UNSPECIFIED = 0; MOOD_HAPPY = 1; MOOD_SAD = -2; }
    message Lists {
      repeated int64 i64 = 1;
      repeated uint64 u64 = 2;
      repeated sint64 s64 = 3;
      repeated fixed64 f64 = 4;
      repeated sfixed64 sf64 = 5;
      repeated int32 i32 = 6;
      repeated uint32 u32 = 7;
      repeated sint32 s32 = 8;
      repeated fixed32 f32 = 9;
      repeated sfixed32 sf32 = 10;
      repeated double dbl = 11;
      repeated float flt = 12;
      repeated bool flags = 13;
      repeated string names = 14;
      repeated bytes blobs = 15;
      repeated Mood moods = 16;
      repeated int64 unpacked = 17 [packed = false];
      string other = 18;
    }
  `,
});
const Lists = registry.getMessage("demo.v1.Lists")!;

const MAX64 = 2n ** 63n - 1n;
const MIN64 = -(2n ** 63n);
const U64 = 2n ** 64n - 1n;
const values: Record<string, unknown[]> = {
  i64: [0n, 1n, -1n, MAX64, MIN64, 300n],
  u64: [0n, 1n, U64, 2n ** 53n + 1n],
  s64: [0n, -1n, MIN64, MAX64],
  f64: [0n, U64, 12345678901234n],
  sf64: [MIN64, MAX64, -5n],
  i32: [0, -1, 2 ** 31 - 1, -(2 ** 31)],
  u32: [0, 2 ** 32 - 1, 7],
  s32: [-(2 ** 31), 2 ** 31 - 1, -3],
  f32: [0, 2 ** 32 - 1],
  sf32: [-(2 ** 31), 5],
  dbl: [0, -0.5, 1e300, Number.NaN, Number.POSITIVE_INFINITY],
  flt: [1.5, -2.25, 0],
  flags: [true, false, true],
  names: ["", "ä😀", "plain", "x".repeat(300)],
  blobs: [new Uint8Array([]), new Uint8Array([0, 255, 7])],
  moods: [0, 1, -2],
  unpacked: [1n, -1n, MAX64],
};

function scalarOf(f: DescField): ScalarType {
  return f.fieldKind === "list" && f.listKind === "scalar" ? f.scalar : ScalarType.INT32;
}

describe("encodeRepeated / decodeRepeated", () => {
  for (const f of Lists.fields.filter((x) => x.fieldKind === "list")) {
    it(`${f.name}: the same bytes as toBinary of the message, and back`, () => {
      const v = values[f.localName]!;
      const bytes = encodeRepeated(f.number, scalarOf(f), f.fieldKind === "list" && f.packed, v as never[]);
      expect(Buffer.from(bytes).toString("hex")).toBe(
        Buffer.from(toBinary(Lists, create(Lists, { [f.localName]: v }))).toString("hex"),
      );
      expect(decodeRepeated(bytes, f.number, scalarOf(f))).toEqual(v);
      // What protobuf-es reads from our bytes is the same list.
      expect((fromBinary(Lists, bytes) as unknown as Record<string, unknown>)[f.localName]).toEqual(v);
    });
  }

  it("an empty or missing list is zero bytes, as toBinary writes it", () => {
    expect(encodeRepeated(1, ScalarType.INT64, true, [])).toHaveLength(0);
    expect(encodeRepeated(1, ScalarType.INT64, true, undefined)).toHaveLength(0);
    expect(decodeRepeated(new Uint8Array(0), 1, ScalarType.INT64)).toEqual([]);
  });

  it("reads a numeric list packed or not, and skips other fields", () => {
    const w = new BinaryWriter();
    w.tag(18, WireType.LengthDelimited).string("ignored");
    w.tag(1, WireType.Varint).int64(5n);
    w.tag(1, WireType.LengthDelimited).fork().int64(6n).int64(-7n).join();
    w.tag(1, WireType.Varint).int64(8n);
    expect(decodeRepeated(w.finish(), 1, ScalarType.INT64)).toEqual([5n, 6n, -7n, 8n]);
  });

  it("refuses bytes that do not hold the field's type, and values out of range", () => {
    const fixed = new BinaryWriter().tag(9, WireType.Bit32).fixed32(1).finish();
    expect(() => decodeRepeated(fixed, 9, ScalarType.STRING)).toThrow(/wire type/);
    expect(() => decodeRepeated(new Uint8Array([0x08]), 1, ScalarType.INT64)).toThrow();
    expect(() => encodeRepeated(6, ScalarType.INT32, true, [2 ** 31])).toThrow();
    expect(() => encodeRepeated(1, ScalarType.INT64, true, [2n ** 64n])).toThrow();
  });
});

describe("jsonStrings", () => {
  it("reads a JSON array of strings", () => {
    expect(jsonStrings('["a","ä😀",""]', "tags")).toEqual(["a", "ä😀", ""]);
    expect(jsonStrings("null", "tags")).toEqual([]);
  });

  it("names the column when the JSON is not a list of strings", () => {
    expect(() => jsonStrings('["a",1]', "tags")).toThrow(/column tags: expected a JSON array of strings/);
    expect(() => jsonStrings('{"a":1}', "tags")).toThrow(/column tags/);
    expect(() => jsonStrings("[", "tags")).toThrow(SyntaxError);
  });
});
