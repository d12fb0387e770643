/**
 * Creates wide tables on a test SQL store through the real migrator, from
 * their SQL shape (sqlShapeOfWide), as `orbit bundle` does on boot.
 */
import { migrate } from "../../../platform/migrate/index.js";
import type { SqlDb } from "../../../platform/storage/driver.js";
import type { WideTableSpec } from "../../../platform/storage/schema.js";

export async function createWideSqlTables(db: SqlDb, specs: readonly WideTableSpec[]): Promise<void> {
  await migrate(db, specs, { dataMigrations: [] });
}
