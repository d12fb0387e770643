/**
 * The one place where the bundle calls the migrator (migrations/index.ts),
 * so boot migrations can be swapped (tests) or wired without touching the
 * bundle. The migrator is loaded lazily: a bundle whose services own no
 * tables boots even where migrations/index.ts is absent.
 */
import type { SqlDb } from "../storage/driver.js";
import type { TableSpec } from "../storage/schema.js";

export interface MigrateOptions {
  readonly allowDestructive?: boolean;
  readonly dryRun?: boolean;
  readonly log?: (line: string) => void;
}

export interface MigrateResult {
  readonly applied: number;
}

export type MigrateFn = (db: SqlDb, tables: readonly TableSpec[], opts: MigrateOptions) => Promise<MigrateResult>;

const MIGRATOR = "../../migrations/index.js";

/** Boot migrations with the project's migrator. */
export const runMigrations: MigrateFn = async (db, tables, opts) => {
  if (tables.length === 0) return { applied: 0 };
  let mod: { migrate?: MigrateFn };
  try {
    mod = (await import(MIGRATOR)) as { migrate?: MigrateFn };
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_MODULE_NOT_FOUND" && String((err as Error).message).includes("migrations")) {
      throw new Error(
        `cannot migrate ${tables.length} table(s): the migrator (migrations/index.ts) is not there; ` +
          "run with --no-migrate to start without migrating",
      );
    }
    throw err;
  }
  if (typeof mod.migrate !== "function") throw new Error("migrations/index.ts does not export migrate()");
  return mod.migrate(db, tables, opts);
};
