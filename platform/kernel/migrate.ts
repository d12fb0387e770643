/**
 * The one place where the bundle calls the migrator (platform/migrate/index.ts),
 * so that boot migrations can be swapped in tests and the report reduced to
 * what the bundle logs. Wide tables are migrated on the SQL store, unless
 * Cassandra is configured: then the wide part
 * (platform/kernel/parts/wide.ts) migrates them on Cassandra.
 */
import { migrate } from "../migrate/index.js";
import type { SqlDb } from "../storage/driver.js";
import type { TableSpec } from "../storage/schema.js";

export interface MigrateOptions {
  readonly allowDestructive?: boolean;
  readonly allowNewerSchema?: boolean;
  readonly dryRun?: boolean;
  readonly log?: (line: string) => void;
  /** Leave wide tables to Cassandra. */
  readonly wideOnCassandra?: boolean;
}

export interface MigrateResult {
  /** Steps applied. */
  readonly applied: number;
  /** Nothing had to change. */
  readonly upToDate: boolean;
  readonly lockWaitMs: number;
}

export type MigrateFn = (db: SqlDb, tables: readonly TableSpec[], opts: MigrateOptions) => Promise<MigrateResult>;

/** Boot migrations with the project's migrator; a bundle whose services own no tables skips them. */
export const runMigrations: MigrateFn = async (db, tables, opts) => {
  if (tables.length === 0) return { applied: 0, upToDate: true, lockWaitMs: 0 };
  const report = await migrate(db, tables, {
    allowDestructive: opts.allowDestructive,
    allowNewerSchema: opts.allowNewerSchema,
    dryRun: opts.dryRun,
    log: opts.log,
    wide: opts.wideOnCassandra ? "cassandra" : "sql",
  });
  return { applied: report.applied.length, upToDate: report.plan.upToDate, lockWaitMs: Math.round(report.lockWaitMs) };
};
