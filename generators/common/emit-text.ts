/**
 * Text the walkers share: table specs as compact typed literals, the
 * manifest as compact JSON, long SQL/CQL as concatenated clauses, and
 * JSDoc that carries the proto comments and `@generated from` lines.
 */
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { getComments, getDeclarationString, type Printable } from "@bufbuild/protoplugin";
import type { ColumnSpec, TableSpec } from "../../platform/storage/schema.js";

/** JSON with a space after `:` and `,` (how Biome would print a short literal). */
function inline(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(inline).join(", ")}]`;
  if (v !== null && typeof v === "object") {
    const e = Object.entries(v).filter(([, x]) => x !== undefined);
    return e.length === 0 ? "{}" : `{ ${e.map(([k, x]) => `${k}: ${inline(x)}`).join(", ")} }`;
  }
  return JSON.stringify(v);
}

/** The `column(...)` call of one column: the fixed six, then only what differs from the usual. */
function columnCall(c: ColumnSpec, column: Printable): Printable[] {
  const { name, field, encoding, sqlite, mysql, cql, nullable, ...rest } = c;
  const extras: Record<string, unknown> = {};
  if (nullable) extras.nullable = true;
  Object.assign(extras, rest);
  const args = [name, field, encoding, sqlite, mysql, cql].map((x) => JSON.stringify(x)).join(", ");
  return [column, `(${args}${Object.keys(extras).length ? `, ${inline(extras)}` : ""})`];
}

/**
 * A TableSpec as a typed literal: one line per column (`column(...)`) and per
 * index, every other key on its own line, in the spec's own key order.
 */
export function specLiteral(spec: TableSpec, column: Printable): Printable[] {
  const out: Printable[] = ["{\n"];
  for (const [k, v] of Object.entries(spec)) {
    if (k === "columns") {
      out.push("  columns: [\n");
      for (const c of spec.columns) out.push("    ", ...columnCall(c, column), ",\n");
      out.push("  ],\n");
    } else if (Array.isArray(v) && v.length > 0 && typeof v[0] === "object") {
      out.push(`  ${k}: [\n`, ...v.map((x) => `    ${inline(x)},\n`), "  ],\n");
    } else {
      out.push(`  ${k}: ${inline(v)},\n`);
    }
  }
  out.push("}");
  return out;
}

/**
 * gen/manifest.json: every table, one line per column and per index (the
 * same specs the generated `*Table` constants hold; the CLI's
 * `orbit migrate --manifest` reads it without loading TypeScript).
 */
export function manifestJson(tables: readonly TableSpec[]): string {
  const j = (v: unknown) => JSON.stringify(v);
  const table = (t: TableSpec) => {
    const lines = Object.entries(t).map(([k, v]) =>
      Array.isArray(v) && v.length > 0 && typeof v[0] === "object"
        ? `      ${j(k)}: [\n${v.map((x) => `        ${j(x)}`).join(",\n")}\n      ]`
        : `      ${j(k)}: ${j(v)}`,
    );
    return `    {\n${lines.join(",\n")}\n    }`;
  };
  return `{\n  "version": 1,\n  "tables": [\n${tables.map(table).join(",\n")}\n  ]\n}\n`;
}

/** Where a long statement is cut: before these clauses (the space stays with the clause). */
const CLAUSE =
  / (?=FROM |WHERE |ORDER BY |LIMIT |VALUES|ON CONFLICT|ON DUPLICATE KEY|DO UPDATE SET |IN \(SELECT |AND \(|USING TTL|IF EXISTS|IF NOT EXISTS)/;

/**
 * A statement as pieces of at most about `max` characters: cut before its
 * clauses, then after commas. Joined, the pieces are the statement, byte for
 * byte; the generated code concatenates them so no line runs to hundreds of
 * characters.
 */
export function statementPieces(sql: string, max = 96): string[] {
  if (sql.length <= max) return [sql];
  const clauses: string[] = [];
  let rest = sql;
  for (;;) {
    const m = CLAUSE.exec(rest.slice(1));
    if (!m) break;
    clauses.push(rest.slice(0, m.index + 1));
    rest = rest.slice(m.index + 1);
  }
  clauses.push(rest);
  const out: string[] = [];
  for (const c of clauses) {
    if (c.length <= max) {
      out.push(c);
      continue;
    }
    // Too long for one piece: pack comma-separated parts, each piece ending after a ", ".
    const parts = c.split(/(?<=, )/);
    let cur = "";
    for (const p of parts) {
      if (cur && cur.length + p.length > max) {
        out.push(cur);
        cur = "";
      }
      cur += p;
    }
    if (cur) out.push(cur);
  }
  // Merge neighbours that fit together (short clauses read better on one line).
  const merged: string[] = [];
  for (const p of out) {
    const last = merged.length - 1;
    if (last >= 0 && merged[last]!.length + p.length <= max) merged[last] += p;
    else merged.push(p);
  }
  return merged;
}

/** A string as a single-quoted TS literal. */
export const quoted = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

/** A long statement as `'piece' + 'piece' + …` (Biome puts each piece on its own line). */
export function statementLiteral(sql: string): string {
  return statementPieces(sql).map(quoted).join(" + ");
}

/** The comments written beside a proto element (leading, then trailing), without the leading space of each line. */
export function protoComments(desc: DescMessage | DescField): string {
  const c = getComments(desc);
  const text = [c.leading, c.trailing]
    .filter((x): x is string => x !== undefined && x.trim() !== "")
    .map((x) => x.replace(/\n$/, ""))
    .join("\n\n");
  return text
    .split("\n")
    .map((l) => (l.startsWith(" ") ? l.slice(1) : l))
    .join("\n");
}

/** `@generated from message orbit.x.v1.Row` (as protoc-gen-es writes it), with the proto file. */
export function generatedFromMessage(message: DescMessage): string {
  return `@generated from message ${message.typeName} (${message.file.name}.proto)`;
}

/** `@generated from field: int64 owner_id = 2;` (as protoc-gen-es writes it). */
export function generatedFromField(field: DescField): string {
  return `@generated from field: ${getDeclarationString(field)};`;
}

/** JSDoc text: paragraphs, empty ones left out. */
export function docText(...paragraphs: (string | undefined)[]): string {
  return paragraphs.filter((p): p is string => p !== undefined && p.trim() !== "").join("\n\n");
}

/**
 * What the fields a method takes say in the proto, one line each
 * (`- ownerId: the author.`); fields without comments are left out.
 */
export function fieldNotes(fields: readonly DescField[]): string | undefined {
  const lines = fields
    .map(
      (f) =>
        [
          f,
          protoComments(f)
            .replace(/\s*\n\s*/g, " ")
            .trim(),
        ] as const,
    )
    .filter(([, t]) => t !== "")
    .map(([f, t]) => `- \`${f.localName}\`: ${t}`);
  return lines.length ? lines.join("\n") : undefined;
}

/**
 * JSDoc text wrapped to `width` columns (counting the ` * ` and the
 * indentation): long lines break at spaces, a `- ` item's continuation is
 * indented under its text.
 */
export function wrapDoc(text: string, indent = ""): string {
  const width = 116 - indent.length - 3;
  const out: string[] = [];
  for (const line of text.split("\n")) {
    if (line.length <= width) {
      out.push(line);
      continue;
    }
    const hang = line.startsWith("- ") ? "  " : "";
    let cur = "";
    for (const word of line.split(" ")) {
      if (cur && cur.length + 1 + word.length > width) {
        out.push(cur);
        cur = hang + word;
      } else cur = cur ? `${cur} ${word}` : word;
    }
    out.push(cur);
  }
  return out.join("\n");
}
