/**
 * Checks of the values a generated DAO binds, so both engines refuse the
 * same bad input with the same clear error instead of one storing it and the
 * other failing (or storing something else). Each error names the table and
 * column (`where` is "table.column"). RPC handlers answer SqlInputError with
 * InvalidArgument (platform/rpc/errors.ts).
 */
import { codePoints } from "../../text.js";
import type { Dialect } from "../driver.js";
import { uint64ForDialect } from "./convert.js";

/** A value a SQL DAO cannot store or look up: out of range, too long, or a key field missing. */
export class SqlInputError extends Error {
  override readonly name = "SqlInputError";
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

function show(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  return String(v);
}

/** Throws for a key (or finder) field that is missing: `get({})`. */
export function missingKey(where: string, field: string): never {
  throw new SqlInputError(`${where}: key field ${field} is missing`);
}

/** An int32/uint32 column value. */
export function int32Param(v: number, where: string, unsigned = false): number {
  const lo = unsigned ? 0 : -2147483648;
  const hi = unsigned ? 4294967295 : 2147483647;
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
    throw new SqlInputError(`${where}: ${show(v)} is not a valid ${unsigned ? "uint32" : "int32"}`);
  }
  return v;
}

/** An int64 column value: a bigint in [-2^63, 2^63). */
export function int64Param(v: bigint, where: string): bigint {
  if (typeof v !== "bigint" || v < INT64_MIN || v > INT64_MAX) {
    throw new SqlInputError(`${where}: ${show(v)} is not a valid int64 (a bigint in -2^63..2^63-1)`);
  }
  return v;
}

/**
 * A uint64 column value: a bigint in [0, 2^64). SQLite keeps it as its
 * two's-complement int64 (INTEGER is signed).
 */
export function uint64Param(v: bigint, dialect: Dialect, where: string): bigint {
  if (typeof v !== "bigint" || v < 0n || v > UINT64_MAX) {
    throw new SqlInputError(`${where}: ${show(v)} is not a valid uint64 (a bigint in 0..2^64-1)`);
  }
  return uint64ForDialect(v, dialect);
}

/** A VARCHAR(n)/CHAR(n) column value: at most `max` characters, on every engine. */
export function textParam(v: string, max: number, where: string): string {
  if (v.length <= max) return v;
  const n = codePoints(v);
  if (n > max) throw new SqlInputError(`${where}: text of ${n} characters is longer than the column's ${max}`);
  return v;
}

/** A VARBINARY(n)/BINARY(n) column value: at most `max` bytes, on every engine. */
export function bytesParam(v: Uint8Array, max: number, where: string): Uint8Array {
  if (v.length > max) throw new SqlInputError(`${where}: ${v.length} bytes is longer than the column's ${max}`);
  return v;
}
