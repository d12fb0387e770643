/**
 * A column's declared `default` (an SQL literal) as the TypeScript literal a
 * generated DAO binds for an absent field, so a row written through the DAO
 * gets the same value as one the database defaults (a raw INSERT, or a row
 * the migrator backfilled when it added the column). Gen refuses a default
 * that is not a literal of the column's type before this runs
 * (generators/common/declaration-checks.ts); what is left here fails the
 * same way, as a backstop, rather than emitting a wrong literal.
 */
import { ScalarType, type DescField } from "@bufbuild/protobuf";
import type { ColumnSpec } from "../../platform/storage/schema.js";
import { codePoints } from "../../platform/text.js";
import { parseManifestDefault, type Literal } from "../../platform/storage/sql/sql-literal.js";
import { TableDeclarationError } from "../common/table-spec.js";

const ZERO: Record<ColumnSpec["encoding"], string> = {
  int: "0",
  bigint: "0n",
  double: "0",
  enum: "0",
  bool: "false",
  string: '""',
  bytes: "EMPTY",
  proto: "",
  json: "",
};

function integer(l: Literal): bigint | undefined {
  return l.kind === "number" && /^-?\d+$/.test(l.text) ? BigInt(l.text) : undefined;
}

/**
 * The TS literal for an absent `field` of column `col` (its proto3 zero
 * value when no default is declared; "null" for a nullable column declared
 * NULL; "" for message, repeated and map columns, which take no default but
 * their zero). `where` names file, message and field for errors; `maxLength`
 * is the column's declared length, which the default must fit.
 */
export function defaultOf(col: ColumnSpec, field: DescField, where: string, maxLength?: number): string {
  if (col.default === undefined) return ZERO[col.encoding];
  const text = col.default;
  const fail = (why: string): never => {
    throw new TableDeclarationError(`${where}: default ${JSON.stringify(text)} ${why}`);
  };
  let l: Literal;
  try {
    l = parseManifestDefault(text, where);
  } catch {
    return fail("is not an SQL literal (use a number, 'text', TRUE, FALSE, NULL or X'hex')");
  }
  if (l.kind === "null") return col.nullable ? "null" : fail("is NULL, but the column is not nullable");
  switch (col.encoding) {
    case "int":
    case "enum": {
      const unsigned = col.encoding === "int" && col.unsigned === true;
      const n = integer(l);
      const lo = unsigned ? 0n : -(2n ** 31n);
      const hi = unsigned ? 2n ** 32n - 1n : 2n ** 31n - 1n;
      if (n === undefined || n < lo || n > hi) fail(`is not a valid ${unsigned ? "uint32" : "int32"}`);
      return String(n);
    }
    case "bigint": {
      const n = integer(l);
      const lo = col.unsigned ? 0n : -(2n ** 63n);
      const hi = col.unsigned ? 2n ** 64n - 1n : 2n ** 63n - 1n;
      if (n === undefined || n < lo || n > hi) fail(`is not a valid ${col.unsigned ? "uint64" : "int64"}`);
      return `${n}n`;
    }
    case "double": {
      const n = l.kind === "number" ? Number(l.text) : NaN;
      if (!Number.isFinite(n)) fail("is not a finite number");
      const float = field.fieldKind === "scalar" && field.scalar === ScalarType.FLOAT;
      if (float && !Number.isFinite(Math.fround(n))) fail("is out of range for a float");
      return String(n);
    }
    case "bool":
      if (l.kind !== "number" || (l.text !== "0" && l.text !== "1")) fail("is not a bool (use TRUE, FALSE, 1 or 0)");
      return l.kind === "number" && l.text === "1" ? "true" : "false";
    case "string":
      if (l.kind !== "string") return fail("is not a quoted string ('text')");
      if (maxLength !== undefined && codePoints(l.value) > maxLength)
        fail(`is longer than the column's ${maxLength} characters`);
      return JSON.stringify(l.value);
    case "bytes": {
      let bytes: Buffer;
      if (l.kind === "bytes") bytes = Buffer.from(l.hex, "hex");
      else if (l.kind === "string" && l.value === "") bytes = Buffer.alloc(0);
      else return fail("is not bytes (use X'hex', or '')");
      if (maxLength !== undefined && bytes.length > maxLength) fail(`is longer than the column's ${maxLength} bytes`);
      return bytes.length === 0 ? "EMPTY" : `Uint8Array.of(${[...bytes].join(", ")})`;
    }
    case "proto":
    case "json":
      if (l.kind === "string" && l.value === "") return "";
      return fail("is not allowed: message, repeated and map columns take no default but their zero value ('')");
  }
}
