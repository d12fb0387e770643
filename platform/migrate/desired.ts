/**
 * Turns manifest TableSpecs into the tables the migrator should make on one
 * SQL dialect, checking the manifest on the way: names must be plain
 * identifiers, keys and indexes must name columns, defaults must be SQL
 * literals. A wide table kept on the SQL store takes its SQL shape
 * (platform/storage/wide-sql-shape.ts).
 */
import type { Dialect } from "../storage/driver.js";
import type { TableSpec } from "../storage/schema.js";
import { sqlShapeOfWide } from "../storage/wide-sql-shape.js";
import { InvalidManifestError } from "./errors.js";
import type { DesiredColumn, DesiredTable } from "./model.js";
import { NULL_LITERAL, parseManifestDefault } from "../storage/sql/sql-literal.js";
import { sqliteAffinity } from "../storage/sql/sql-types.js";

/** Tables the migrator keeps for itself; manifests may not use these names. */
export const HISTORY_TABLE = "orbit_migrations";
const RESERVED = /^(orbit_migration|sqlite_|_orbit_)/;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

function checkIdent(name: string, what: string): void {
  if (!IDENT.test(name)) {
    throw new InvalidManifestError(`${what} "${name}" is not a plain identifier (letters, digits, _; at most 64)`);
  }
}

export interface DesiredOptions {
  /** Where wide tables live: on the SQL store (default), or on Cassandra (skipped here). */
  readonly wide?: "sql" | "cassandra";
}

export function desiredTables(
  specs: readonly TableSpec[],
  dialect: Dialect,
  opts: DesiredOptions = {},
): DesiredTable[] {
  const out: DesiredTable[] = [];
  const tableNames = new Set<string>();
  const indexNames = new Map<string, string>();
  for (const spec of specs) {
    if (spec.kind === "wide" && opts.wide === "cassandra") continue;
    const shape = spec.kind === "wide" ? sqlShapeOfWide(spec) : spec;
    const where = `table ${shape.name} (${spec.message || "?"})`;
    checkIdent(shape.name, "table name");
    if (RESERVED.test(shape.name)) throw new InvalidManifestError(`${where}: the name is reserved for the migrator`);
    if (tableNames.has(shape.name)) throw new InvalidManifestError(`${where}: two tables are named ${shape.name}`);
    tableNames.add(shape.name);
    if (shape.columns.length === 0) throw new InvalidManifestError(`${where}: has no columns`);
    const colNames = new Set<string>();
    const columns: DesiredColumn[] = shape.columns.map((c) => {
      checkIdent(c.name, `${where}: column name`);
      if (colNames.has(c.name)) throw new InvalidManifestError(`${where}: column ${c.name} appears twice`);
      colNames.add(c.name);
      const type = dialect === "mysql" ? c.mysql : c.sqlite;
      if (!type || !/^[A-Za-z][A-Za-z0-9 ,()]*$/.test(type)) {
        throw new InvalidManifestError(
          `${where}.${c.name}: ${dialect} type ${JSON.stringify(type)} is not a plain SQL type`,
        );
      }
      const def = c.default !== undefined ? parseManifestDefault(c.default, `${where}.${c.name}`) : NULL_LITERAL;
      if (!c.nullable && def.kind === "null" && c.default !== undefined) {
        throw new InvalidManifestError(`${where}.${c.name}: a NOT NULL column cannot default to NULL`);
      }
      for (const old of c.renamedFrom ?? []) checkIdent(old, `${where}.${c.name}: renamed_from`);
      return {
        name: c.name,
        type,
        declared: c.mysql || type,
        nullable: c.nullable,
        default: def,
        renamedFrom: [...(c.renamedFrom ?? [])],
      };
    });
    for (const c of columns) {
      for (const old of c.renamedFrom) {
        if (colNames.has(old)) {
          throw new InvalidManifestError(
            `${where}.${c.name}: renamed_from names ${old}, which is still a column of the table`,
          );
        }
      }
    }
    if (shape.primaryKey.length === 0) throw new InvalidManifestError(`${where}: has no primary key`);
    for (const k of shape.primaryKey) {
      const col = columns.find((c) => c.name === k);
      if (!col) throw new InvalidManifestError(`${where}: primary key names ${k}, which is not a column`);
      if (col.nullable) throw new InvalidManifestError(`${where}: primary key column ${k} cannot be nullable`);
    }
    const indexes = shape.indexes.map((i) => {
      checkIdent(i.name, `${where}: index name`);
      const seen = indexNames.get(i.name);
      if (seen) throw new InvalidManifestError(`${where}: index name ${i.name} is also used by table ${seen}`);
      indexNames.set(i.name, shape.name);
      if (i.columns.length === 0) throw new InvalidManifestError(`${where}: index ${i.name} has no columns`);
      for (const c of i.columns) {
        if (!colNames.has(c))
          throw new InvalidManifestError(`${where}: index ${i.name} names ${c}, which is not a column`);
      }
      return { name: i.name, columns: [...i.columns], unique: i.unique };
    });
    const pk0 = columns.find((c) => c.name === shape.primaryKey[0]);
    const rowidKey =
      shape.primaryKey.length === 1 &&
      pk0 !== undefined &&
      pk0.type.trim().toUpperCase() === "INTEGER" &&
      sqliteAffinity(pk0.type) === "INTEGER";
    out.push({
      name: shape.name,
      kind: spec.kind,
      file: spec.file,
      message: spec.message,
      columns,
      primaryKey: [...shape.primaryKey],
      indexes,
      withoutRowid: dialect === "sqlite" && !rowidKey,
    });
  }
  return out;
}
