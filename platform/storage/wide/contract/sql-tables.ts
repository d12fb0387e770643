/**
 * Creates wide tables on a test SQL store from their SQL shape
 * (sqlShapeOfWide). TEMPORARY until migrations/index.ts exports
 * `migrate(db, tables)`: then the suite switches to the real migrator.
 *
 * MySQL tables get utf8mb4_nopad_bin, so string keys compare and sort by code
 * point as Cassandra's text does (a _ci collation would make "a" and "A" the
 * same key; a PAD SPACE one, "a" and "a ").
 */
import type { SqlDb } from "../../driver.js";
import type { WideTableSpec } from "../../schema.js";
import { quoteIdent } from "../../sql/query.js";
import { sqlShapeOfWide } from "../../wide-sql-shape.js";

export async function createWideSqlTables(db: SqlDb, specs: readonly WideTableSpec[]): Promise<void> {
  const q = (n: string) => quoteIdent(n, db.dialect);
  for (const wide of specs) {
    const spec = sqlShapeOfWide(wide);
    const cols = spec.columns.map((c) => {
      const type = db.dialect === "mysql" ? c.mysql : c.sqlite;
      const def = c.default !== undefined ? ` DEFAULT ${c.default}` : "";
      return `${q(c.name)} ${type}${c.nullable ? "" : " NOT NULL"}${def}`;
    });
    const pk = `PRIMARY KEY (${spec.primaryKey.map(q).join(", ")})`;
    const tail = db.dialect === "mysql" ? " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin" : " WITHOUT ROWID";
    await db.exec(`CREATE TABLE ${q(spec.name)} (${[...cols, pk].join(", ")})${tail}`);
    for (const i of spec.indexes) {
      await db.exec(`CREATE INDEX ${q(i.name)} ON ${q(spec.name)} (${i.columns.map(q).join(", ")})`);
    }
  }
}
