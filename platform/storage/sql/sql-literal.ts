/**
 * Column defaults as values. The manifest writes a default as a standard SQL
 * literal ("0", "''", "'it''s'", "1.5", "TRUE", "NULL", "X'00'"); the live
 * database reports it in its own spelling (MariaDB quotes strings and escapes
 * backslashes, MySQL 8 reports raw text or an expression, SQLite returns the
 * text of the CREATE statement). Both sides are parsed into a `Literal` and
 * compared by value, then rendered back for each dialect.
 */
import type { Dialect } from "../driver.js";
import { InvalidManifestError } from "../schema.js";

export type Literal =
  | { readonly kind: "null" }
  | { readonly kind: "number"; readonly text: string }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "bytes"; readonly hex: string }
  | { readonly kind: "expr"; readonly text: string };

export const NULL_LITERAL: Literal = { kind: "null" };

/** How a column's values compare: decides how two defaults are matched. */
export type ValueClass = "numeric" | "text" | "binary" | "other";

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Canonical text of a number: no sign on zero, no redundant zeros. */
export function canonicalNumber(text: string): string {
  const t = text.trim();
  if (/[eE]/.test(t)) return String(Number(t));
  let sign = "";
  let body = t;
  if (body[0] === "+" || body[0] === "-") {
    sign = body[0] === "-" ? "-" : "";
    body = body.slice(1);
  }
  let [int = "", frac = ""] = body.split(".");
  int = int.replace(/^0+(?=\d)/, "") || "0";
  frac = frac.replace(/0+$/, "");
  const out = frac ? `${int}.${frac}` : int;
  return out === "0" ? "0" : sign + out;
}

/** Reads a quoted string starting at text[0] === "'"; returns value and end index. */
function readQuoted(text: string, backslashEscapes: boolean): { value: string; end: number } | undefined {
  let value = "";
  let i = 1;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === "'") {
      if (text[i + 1] === "'") {
        value += "'";
        i += 2;
        continue;
      }
      return { value, end: i + 1 };
    }
    if (ch === "\\" && backslashEscapes && i + 1 < text.length) {
      const next = text[i + 1]!;
      const map: Record<string, string> = { n: "\n", t: "\t", r: "\r", "0": "\0", b: "\b", Z: "\x1a" };
      value += map[next] ?? next;
      i += 2;
      continue;
    }
    value += ch;
    i++;
  }
  return undefined;
}

/**
 * Parses a manifest default (standard SQL: strings in single quotes with ''
 * as the only escape). Throws InvalidManifestError for anything else, so no
 * arbitrary text reaches DDL.
 */
export function parseManifestDefault(text: string, where: string): Literal {
  const t = text.trim();
  if (/^null$/i.test(t)) return NULL_LITERAL;
  if (/^true$/i.test(t)) return { kind: "number", text: "1" };
  if (/^false$/i.test(t)) return { kind: "number", text: "0" };
  if (NUMBER.test(t)) return { kind: "number", text: canonicalNumber(t) };
  const hex = /^[xX]'([0-9a-fA-F]*)'$/.exec(t);
  if (hex && hex[1]!.length % 2 === 0) return { kind: "bytes", hex: hex[1]!.toLowerCase() };
  if (t.startsWith("'")) {
    const q = readQuoted(t, false);
    if (q && q.end === t.length) return { kind: "string", value: q.value };
  }
  throw new InvalidManifestError(
    `${where}: default ${JSON.stringify(text)} is not an SQL literal (use a number, 'text', TRUE, FALSE, NULL or X'hex')`,
  );
}

/** Parses a default as SQLite reports it (pragma table_info dflt_value). */
export function parseSqliteDefault(raw: string | null): Literal {
  if (raw === null) return NULL_LITERAL;
  let t = raw.trim();
  while (t.startsWith("(") && t.endsWith(")")) t = t.slice(1, -1).trim();
  if (/^null$/i.test(t)) return NULL_LITERAL;
  if (/^true$/i.test(t)) return { kind: "number", text: "1" };
  if (/^false$/i.test(t)) return { kind: "number", text: "0" };
  if (NUMBER.test(t)) return { kind: "number", text: canonicalNumber(t) };
  const hex = /^[xX]'([0-9a-fA-F]*)'$/.exec(t);
  if (hex) return { kind: "bytes", hex: hex[1]!.toLowerCase() };
  if (t.startsWith("'")) {
    const q = readQuoted(t, false);
    if (q && q.end === t.length) return { kind: "string", value: q.value };
  }
  return { kind: "expr", text: t.toLowerCase().replace(/\s+/g, "").replace(/\(\)$/, "") };
}

/**
 * Parses information_schema.COLUMNS.COLUMN_DEFAULT. MariaDB ≥ 10.2.7 quotes
 * string defaults ('abc', with '' and backslash escapes), reports numbers
 * bare, a default of NULL as the text NULL, and expressions as text
 * (current_timestamp()). MySQL 8 reports literals raw (0, abc, an empty
 * string for '') and expressions (EXTRA has DEFAULT_GENERATED) with charset
 * introducers such as _utf8mb4\'\'.
 */
export function parseMysqlDefault(
  raw: string | null,
  opts: { mariadb: boolean; extra: string; valueClass: ValueClass },
): Literal {
  if (raw === null) return NULL_LITERAL;
  const generated = /DEFAULT_GENERATED/i.test(opts.extra);
  if (opts.mariadb || generated) {
    let t = raw.trim();
    if (generated) {
      while (t.startsWith("(") && t.endsWith(")")) t = t.slice(1, -1).trim();
      t = t.replace(/\\'/g, "'").replace(/^_[a-z0-9]+(?=')/i, "");
    }
    if (t === "NULL") return NULL_LITERAL;
    if (t.startsWith("'")) {
      const q = readQuoted(t, true);
      if (q && q.end === t.length) return { kind: "string", value: q.value };
    }
    const hex = /^(?:0x([0-9a-fA-F]*)|[xX]'([0-9a-fA-F]*)')$/.exec(t);
    if (hex) return { kind: "bytes", hex: (hex[1] ?? hex[2] ?? "").toLowerCase() };
    if (NUMBER.test(t)) return { kind: "number", text: canonicalNumber(t) };
    return { kind: "expr", text: t.toLowerCase().replace(/\s+/g, "").replace(/\(\)$/, "") };
  }
  // MySQL: a literal default, reported as its bare value.
  if (opts.valueClass === "numeric" && NUMBER.test(raw.trim())) return { kind: "number", text: canonicalNumber(raw) };
  if (/^current_timestamp(\(\d*\))?$/i.test(raw.trim())) return { kind: "expr", text: "current_timestamp" };
  return { kind: "string", value: raw };
}

/** The value a default stands for, seen through the column's class. */
function comparable(l: Literal, cls: ValueClass): string {
  switch (l.kind) {
    case "null":
      return "null";
    case "expr":
      return `expr:${l.text}`;
    case "number":
      return cls === "text" || cls === "binary" ? `s:${l.text}` : `n:${l.text}`;
    case "string":
      if (cls === "numeric" && NUMBER.test(l.value.trim())) return `n:${canonicalNumber(l.value)}`;
      if (cls === "binary") return `s:${l.value}`;
      return `s:${l.value}`;
    case "bytes":
      if (cls === "binary" || cls === "text") return `s:${Buffer.from(l.hex, "hex").toString("latin1")}`;
      return `x:${l.hex}`;
  }
}

/** True if two defaults mean the same value for a column of class `cls`. */
export function sameLiteral(a: Literal, b: Literal, cls: ValueClass): boolean {
  return comparable(a, cls) === comparable(b, cls);
}

/** Renders a literal for DDL in `dialect` (MySQL escapes backslashes). */
export function renderLiteral(l: Literal, dialect: Dialect): string {
  switch (l.kind) {
    case "null":
      return "NULL";
    case "number":
      return l.text;
    case "bytes":
      return `X'${l.hex}'`;
    case "expr":
      return l.text === "current_timestamp" ? "CURRENT_TIMESTAMP" : l.text;
    case "string": {
      let v = l.value.replace(/'/g, "''");
      if (dialect === "mysql") v = v.replace(/\\/g, "\\\\");
      return `'${v}'`;
    }
  }
}

/** A short human spelling, for plans and fingerprints. */
export function describeLiteral(l: Literal): string {
  return renderLiteral(l, "sqlite");
}
