/**
 * Value conversions between proto fields and driver values, used by the
 * generated DAOs. SQLite returns integers as bigint (safeIntegers); mysql2
 * returns BIGINT as a decimal string, INT as number and BLOB as Buffer.
 */
import type { Dialect } from "../driver.js";

export function toBigInt(v: unknown): bigint {
  return typeof v === "bigint" ? v : BigInt(v as string | number);
}

export function toUint64(v: unknown): bigint {
  return BigInt.asUintN(64, toBigInt(v));
}

/** uint64 on SQLite is kept as its two's-complement int64 (INTEGER is signed). */
export function uint64ForDialect(v: bigint, dialect: Dialect): bigint {
  return dialect === "sqlite" ? BigInt.asIntN(64, v) : v;
}

export function toNumber(v: unknown): number {
  return typeof v === "number" ? v : Number(v);
}

export function toBool(v: unknown): boolean {
  return v === 1 || v === 1n || v === true || v === "1";
}

const EMPTY = new Uint8Array(0);

/** Blob columns come back as Buffer (a Uint8Array) from both drivers; kept as is. */
export function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (v == null || v === "") return EMPTY;
  if (typeof v === "string") return new Uint8Array(Buffer.from(v, "utf8"));
  throw new TypeError(`cannot read ${typeof v} as bytes`);
}

export function toText(v: unknown): string {
  if (typeof v === "string") return v;
  if (v == null) return "";
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("utf8");
  return String(v);
}
