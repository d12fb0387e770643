/**
 * A table's fingerprint: a hash of the shape the manifest asks for (columns
 * with normalised types, nullability and defaults; key; indexes), ignoring
 * column order. The history keeps each fingerprint a table reaches, which is
 * how an older binary recognises that the database has moved past it.
 */
import { createHash } from "node:crypto";
import type { DesiredTable } from "./model.js";
import { describeLiteral } from "../storage/sql/sql-literal.js";
import type { TypeRules } from "./type-rules.js";

export function tableFingerprint(t: DesiredTable, rules: TypeRules): string {
  const shape = {
    columns: t.columns
      .map((c) => [c.name, rules.canonical(c.type), c.nullable, describeLiteral(c.default)])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    primaryKey: t.primaryKey,
    indexes: t.indexes
      .map((i) => [i.name, i.columns, i.unique])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  };
  return createHash("sha256").update(JSON.stringify(shape)).digest("hex").slice(0, 32);
}

/**
 * The declared type of each column (DesiredColumn.declared), as recorded
 * in the `statements` of a table's state row: JSON, columns sorted by name.
 * SQLite compares it with the next manifest to recognise narrowing that its
 * affinities hide. Kept out of the fingerprint, so that databases migrated
 * before it was recorded keep their fingerprints.
 */
export function declaredTypes(t: DesiredTable): string {
  const declared: Record<string, string> = {};
  for (const c of [...t.columns].sort((a, b) => a.name.localeCompare(b.name))) declared[c.name] = c.declared;
  return JSON.stringify({ declared });
}

/** The declared types of a state row, or undefined when it has none (recorded by an older binary). */
export function parseDeclaredTypes(statements: string | undefined): Map<string, string> | undefined {
  if (!statements || !statements.startsWith("{")) return undefined;
  try {
    const parsed = JSON.parse(statements) as { declared?: Record<string, unknown> };
    if (!parsed.declared || typeof parsed.declared !== "object") return undefined;
    return new Map(Object.entries(parsed.declared).filter((e): e is [string, string] => typeof e[1] === "string"));
  } catch {
    return undefined;
  }
}

/** The fingerprint recorded for a table the migrator dropped. */
export const DROPPED = "dropped";
