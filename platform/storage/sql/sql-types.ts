/**
 * Column types as comparable values. MariaDB reports `bigint(20)`,
 * `int(10) unsigned`, `tinyint(1)`; MySQL 8 drops the widths; the manifest
 * says BIGINT, INT UNSIGNED, TINYINT(1); SQLite keeps whatever text the
 * CREATE statement had and only its affinity matters. Types are normalised
 * so an unchanged schema compares equal, and classified so a change can be
 * called a widening (safe) or not (destructive).
 */
import type { ValueClass } from "./sql-literal.js";

export interface MysqlType {
  /** Base name, lower case, aliases resolved: int, bigint, varchar, text, … */
  readonly base: string;
  /** Arguments that matter: varchar(64) → [64]; decimal → [10, 0]. Empty for ints. */
  readonly args: readonly number[];
  readonly unsigned: boolean;
  /** Anything else (enum values, …), kept verbatim. */
  readonly rest: string;
}

export const INT_RANK: Record<string, number> = { tinyint: 1, smallint: 2, mediumint: 3, int: 4, bigint: 5 };
export const TEXT_RANK: Record<string, number> = { tinytext: 1, text: 2, mediumtext: 3, longtext: 4 };
export const BLOB_RANK: Record<string, number> = { tinyblob: 1, blob: 2, mediumblob: 3, longblob: 4 };
/** Bytes each TEXT/BLOB kind holds, by rank. */
export const LOB_BYTES = [0, 255, 65_535, 16_777_215, 4_294_967_295];

const ALIASES: Record<string, string> = {
  integer: "int",
  int1: "tinyint",
  int2: "smallint",
  int3: "mediumint",
  int4: "int",
  int8: "bigint",
  middleint: "mediumint",
  bool: "tinyint",
  boolean: "tinyint",
  "double precision": "double",
  real: "double",
  dec: "decimal",
  numeric: "decimal",
  fixed: "decimal",
  "character varying": "varchar",
  character: "char",
  "long varchar": "mediumtext",
  "long varbinary": "mediumblob",
  long: "mediumtext",
  json: "longtext",
};

/** Parses a MySQL/MariaDB column type as written in DDL or COLUMN_TYPE. */
export function parseMysqlType(text: string): MysqlType {
  const t = text.trim().toLowerCase().replace(/\s+/g, " ");
  const m = /^([a-z][a-z0-9]*(?: (?:precision|varying|varchar|varbinary))?)\s*(?:\(([^)]*)\))?\s*(.*)$/.exec(t);
  if (!m) return { base: t, args: [], unsigned: false, rest: "" };
  let base = ALIASES[m[1]!] ?? m[1]!;
  let args = (m[2] ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const flags = (m[3] ?? "").split(" ").filter(Boolean);
  const unsigned = flags.includes("unsigned") || flags.includes("zerofill");
  const rest = flags.filter((f) => f !== "unsigned" && f !== "signed" && f !== "zerofill").join(" ");
  if (m[1] === "bool" || m[1] === "boolean") args = [];
  if (base in INT_RANK) args = [];
  if (base === "decimal") args = [args[0] ?? "10", args[1] ?? "0"];
  if ((base === "char" || base === "binary") && args.length === 0) args = ["1"];
  if (base === "float" && args.length >= 1) {
    const p = Number(args[0]);
    if (args.length === 1) base = p > 24 ? "double" : "float";
    args = [];
  }
  if (base === "double") args = [];
  const numeric = args.map(Number);
  if (numeric.some((n) => !Number.isFinite(n)))
    return { base, args: [], unsigned, rest: `(${args.join(",")}) ${rest}`.trim() };
  return { base, args: numeric, unsigned, rest };
}

/** Canonical spelling, e.g. "bigint unsigned", "varchar(64)". */
export function canonicalMysqlType(text: string): string {
  const p = parseMysqlType(text);
  return [p.base + (p.args.length ? `(${p.args.join(",")})` : ""), p.unsigned ? "unsigned" : "", p.rest]
    .filter(Boolean)
    .join(" ");
}

/** Characters (text) or bytes (binary) a string type holds, if it is one. */
function stringCapacity(t: MysqlType): { kind: "text" | "binary"; size: number; fixed: boolean } | undefined {
  if (t.base === "varchar" || t.base === "char")
    return { kind: "text", size: t.args[0] ?? 1, fixed: t.base === "char" };
  if (t.base === "varbinary" || t.base === "binary")
    return { kind: "binary", size: t.args[0] ?? 1, fixed: t.base === "binary" };
  // utf8mb4: up to 4 bytes a character, so a TEXT of N bytes holds N/4 characters for sure.
  if (t.base in TEXT_RANK) return { kind: "text", size: Math.floor(LOB_BYTES[TEXT_RANK[t.base]!]! / 4), fixed: false };
  if (t.base in BLOB_RANK) return { kind: "binary", size: LOB_BYTES[BLOB_RANK[t.base]!]!, fixed: false };
  return undefined;
}

/**
 * True if every value of type `from` fits unchanged in type `to`: wider
 * integers (of the same sign, or unsigned into a larger signed), float into
 * double, larger decimals, longer strings and binaries.
 */
export function mysqlWidens(fromText: string, toText: string): boolean {
  const from = parseMysqlType(fromText);
  const to = parseMysqlType(toText);
  if (from.rest || to.rest) return false;
  if (from.base in INT_RANK && to.base in INT_RANK) {
    const a = INT_RANK[from.base]!;
    const b = INT_RANK[to.base]!;
    if (from.unsigned === to.unsigned) return b >= a;
    return from.unsigned && !to.unsigned && b > a;
  }
  if (from.unsigned !== to.unsigned) return false;
  if (from.base === "float" && to.base === "double") return true;
  if (from.base === "decimal" && to.base === "decimal") {
    const [p1 = 10, s1 = 0] = from.args;
    const [p2 = 10, s2 = 0] = to.args;
    return p2 - s2 >= p1 - s1 && s2 >= s1;
  }
  const a = stringCapacity(from);
  const b = stringCapacity(to);
  if (a && b && a.kind === b.kind) {
    // A fixed-width CHAR pads with spaces; moving to a variable type keeps the value.
    if (b.fixed && !a.fixed) return false;
    return b.size >= a.size;
  }
  return false;
}

/** How values of a MySQL type compare (for matching defaults). */
export function mysqlValueClass(text: string): ValueClass {
  const t = parseMysqlType(text);
  if (t.base in INT_RANK || ["float", "double", "decimal", "bit", "year"].includes(t.base)) return "numeric";
  const cap = stringCapacity(t);
  if (cap) return cap.kind;
  return "other";
}

/** SQLite column affinity (https://sqlite.org/datatype3.html §3.1). */
export type Affinity = "INTEGER" | "TEXT" | "BLOB" | "REAL" | "NUMERIC";

export function sqliteAffinity(declared: string): Affinity {
  const t = declared.toUpperCase();
  if (t.includes("INT")) return "INTEGER";
  if (t.includes("CHAR") || t.includes("CLOB") || t.includes("TEXT")) return "TEXT";
  if (t.includes("BLOB") || t.trim() === "") return "BLOB";
  if (t.includes("REAL") || t.includes("FLOA") || t.includes("DOUB")) return "REAL";
  return "NUMERIC";
}

export function sqliteValueClass(declared: string): ValueClass {
  switch (sqliteAffinity(declared)) {
    case "INTEGER":
    case "REAL":
    case "NUMERIC":
      return "numeric";
    case "TEXT":
      return "text";
    case "BLOB":
      return "binary";
  }
}

const INT_BITS: Record<string, number> = { tinyint: 8, smallint: 16, mediumint: 24, int: 32, bigint: 64 };

/**
 * True if a column declared `fromText` (MySQL spelling, see
 * DesiredColumn.declared) would be narrowed by declaring it `toText`: the
 * types differ and not every value of the first fits the second.
 */
export function declaredNarrows(fromText: string, toText: string): boolean {
  return canonicalMysqlType(fromText) !== canonicalMysqlType(toText) && !mysqlWidens(fromText, toText);
}

/**
 * An SQLite condition on `column` that is true for the values that do not
 * fit the declared type `declared` (MySQL spelling): an integer out of its
 * range, a string or binary longer than its size. Undefined when SQLite
 * cannot tell (or every value fits).
 */
export function sqliteMisfitCondition(column: string, declared: string): string | undefined {
  const t = parseMysqlType(declared);
  const c = `"${column.replace(/"/g, '""')}"`;
  const bits = INT_BITS[t.base];
  if (bits !== undefined) {
    if (t.unsigned) return bits === 64 ? `${c} < 0` : `${c} NOT BETWEEN 0 AND ${2n ** BigInt(bits) - 1n}`;
    if (bits === 64) return undefined;
    return `${c} NOT BETWEEN ${-(2n ** BigInt(bits - 1))} AND ${2n ** BigInt(bits - 1) - 1n}`;
  }
  if (t.rest) return undefined;
  const cap = stringCapacity(t);
  if (!cap) return undefined;
  // LENGTH counts characters of text and bytes of a blob.
  const bytesOfText = t.base in TEXT_RANK;
  return cap.kind === "text" && !bytesOfText
    ? `LENGTH(${c}) > ${cap.size}`
    : `LENGTH(CAST(${c} AS BLOB)) > ${bytesOfText ? LOB_BYTES[TEXT_RANK[t.base]!] : cap.size}`;
}
