/**
 * Creates the tables of `specs` in a fresh test store, through the real
 * migrator when it is available.
 */
import type { SqlDb } from "../../platform/storage/driver.js";
import type { TableSpec } from "../../platform/storage/schema.js";
import { sqlShapeOfWide } from "../../platform/storage/wide-sql-shape.js";
import { quoteIdent } from "../../platform/storage/sql/query.js";

// TEMPORARY until migrations/index.ts lands: plain CREATE TABLE from the spec.
export async function createTables(db: SqlDb, specs: readonly TableSpec[]): Promise<void> {
  for (const s of specs) {
    const spec = s.kind === "wide" ? sqlShapeOfWide(s) : s;
    const q = (n: string) => quoteIdent(n, db.dialect);
    const cols = spec.columns.map((c) => {
      const type = db.dialect === "mysql" ? c.mysql : c.sqlite;
      return `${q(c.name)} ${type}${c.nullable ? "" : " NOT NULL"}${c.default !== undefined ? ` DEFAULT ${c.default}` : ""}`;
    });
    const suffix = db.dialect === "sqlite" && !(spec.primaryKey.length === 1 && spec.columns.find((c) => c.name === spec.primaryKey[0])?.sqlite === "INTEGER") ? " WITHOUT ROWID" : "";
    await db.exec(`CREATE TABLE ${q(spec.name)} (${cols.join(", ")}, PRIMARY KEY (${spec.primaryKey.map(q).join(", ")}))${suffix}`);
    for (const i of spec.indexes) {
      await db.exec(`CREATE ${i.unique ? "UNIQUE " : ""}INDEX ${q(i.name)} ON ${q(spec.name)} (${i.columns.map(q).join(", ")})`);
    }
  }
}
