/**
 * Canonical column values (see WideValue) ↔ what cassandra-driver takes and
 * returns for each CQL type, with the client's encoding options
 * useBigIntAsLong / useBigIntAsVarint (bigint, counter, varint ↔ JS bigint).
 */
import type { ColumnSpec } from "../schema.js";
import type { WideValue } from "./store.js";

/** A canonical value as the driver takes it for the column's CQL type. */
export function toCql(c: ColumnSpec, v: WideValue): unknown {
  if (v === null) return null;
  if (v instanceof Uint8Array) return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === "number" && c.cql === "bigint") return BigInt(v); // uint32 is stored as bigint
  return v;
}

export function fromCql(c: ColumnSpec, v: unknown): WideValue {
  if (v === null || v === undefined) return null;
  switch (c.encoding) {
    case "int":
    case "enum":
    case "double":
      return typeof v === "number" ? v : Number(v);
    case "bigint":
      return typeof v === "bigint" ? v : BigInt(String(v));
    case "bool":
      return v === true;
    case "string":
    case "json":
      return String(v);
    case "bytes":
    case "proto": {
      const b = v as Uint8Array;
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    }
  }
}
