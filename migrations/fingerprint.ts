/**
 * A table's fingerprint: a hash of the shape the manifest asks for (columns
 * with normalised types, nullability and defaults; key; indexes), ignoring
 * column order. The history keeps each fingerprint a table reaches, which is
 * how an older binary recognises that the database has moved past it.
 */
import { createHash } from "node:crypto";
import type { DesiredTable } from "./model.js";
import { describeLiteral } from "./sql-literal.js";
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

/** The fingerprint recorded for a table the migrator dropped. */
export const DROPPED = "dropped";
