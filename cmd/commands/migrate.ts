/**
 * `orbit migrate`: brings the store's schema to what the services' tables
 * declare, printing the plan and each step as it is applied. The same
 * migration `orbit bundle` runs on boot, for ops who migrate separately
 * (`orbit bundle --no-migrate`) or want to see the plan first (--dry-run).
 *
 * Exit codes: 0 done (or dry run that would be accepted), 1 failure at run
 * time, 2 bad usage or configuration, 3 refused (destructive steps without
 * --allow-destructive, a database newer than this binary, or a change the
 * store cannot make).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { CONFIG_FIELDS, ConfigError, loadConfig, type ConfigKey } from "../../platform/config/index.js";
import { registry } from "../../services/registry.js";
import { addConfigOptions, type Flags } from "../options.js";
import type { SqlDb } from "../../platform/storage/driver.js";
import { openSqlStore, StoreUrlError } from "../../platform/storage/open.js";
import type { Manifest, TableSpec } from "../../platform/storage/schema.js";
import { PUSH_TABLES } from "../../platform/push/tables.js";
import {
  DestructiveChangeError,
  formatPlan,
  InvalidManifestError,
  migrate,
  NewerSchemaError,
  UnsupportedChangeError,
  type MigrateOptions,
  type MigrationReport,
} from "../../platform/migrate/index.js";

/** Settings shared with `orbit bundle` (same flags, ORBIT_* variables and config keys). */
const SHARED: readonly ConfigKey[] = ["services", "dataDir", "mysql", "cassandra", "allowDestructive"];

export const EXIT_REFUSED = 3;

const HELP_AFTER = `
The tables come from the services named in --services (with the services
they depend on, as \`orbit bundle\` resolves them), or from a manifest file
(--manifest gen/manifest.json migrates every generated table).

Safe steps (new table, column or index, a wider type, a rename declared with
renamed_from) are applied. Destructive ones (drops, narrowing, key changes)
are refused unless --allow-destructive is given. See docs/migrations.md.

Examples:
  orbit migrate --dry-run                       # print the plan for every service
  orbit migrate --services=post --mysql mysql://root@127.0.0.1:3306/orbit
  orbit migrate --manifest gen/manifest.json --data-dir ./data --allow-destructive

Exit codes: 0 done, 1 failure, 2 bad usage or configuration, 3 refused.`;

interface MigrateFlags {
  readonly dryRun?: boolean;
  readonly allowNewerSchema?: boolean;
  readonly manifest?: string;
  readonly sql?: boolean;
  readonly json?: boolean;
  readonly config?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command("migrate")
    .summary("migrate the schema of the services' tables")
    .description(
      "Compare the live schema with the tables the services declare, print the plan, and apply it " +
        "with progress (the same migration `orbit bundle` runs before serving).",
    )
    .option("--config <file>", "JSON config file [env ORBIT_CONFIG]")
    .option("--dry-run", "print the plan and change nothing")
    .option(
      "--allow-newer-schema",
      "start even if a newer binary migrated the database (its tables are left as they are)",
    )
    .option(
      "--manifest <file>",
      "migrate every table of a manifest file (e.g. gen/manifest.json) instead of --services",
    )
    .option("--sql", "print the SQL of each step")
    .option("--json", "print the report as JSON");
  const flagsOf = addConfigOptions(
    cmd,
    CONFIG_FIELDS.filter((f) => (SHARED as readonly string[]).includes(f.key)),
  );
  cmd.addHelpText("after", HELP_AFTER);
  cmd.action(async (opts: Record<string, unknown>, command: Command) => {
    const flags = flagsOf(command);
    if (flags.services !== undefined && opts.manifest) usageError("give --services or --manifest, not both");
    process.exitCode = await run(flags, opts as MigrateFlags);
  });
}

function usageError(message: string): never {
  process.stderr.write(`orbit migrate: ${message}\n`);
  process.exit(2);
}

/**
 * The tables of the named services and the services they pull in. This is
 * the one place `--services` is resolved (through services/registry.ts).
 */
export async function tablesOfServices(names: readonly string[]): Promise<TableSpec[]> {
  const { local } = registry.resolve(names);
  // Every bundle also migrates the platform parts' tables (the push streams: PART_TABLES).
  return [...new Map([...local.flatMap((s) => s.tables), ...PUSH_TABLES].map((t) => [t.name, t])).values()];
}

export function tablesOfManifest(path: string): TableSpec[] {
  let parsed: Manifest;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8")) as Manifest;
  } catch (err) {
    throw new ConfigError(`cannot read the manifest ${path}: ${(err as Error).message}`);
  }
  if (!parsed || !Array.isArray(parsed.tables)) throw new ConfigError(`${path} is not a manifest (no "tables" list)`);
  return [...parsed.tables];
}

async function run(flags: Flags, opts: MigrateFlags): Promise<number> {
  let tables: TableSpec[];
  let db: SqlDb;
  let config;
  try {
    // Every setting's name is known (a shared config file may hold the services' settings too).
    config = loadConfig({ flags, env: process.env, file: opts.config, fields: registry.configFields() }).config;
    tables = opts.manifest ? tablesOfManifest(opts.manifest) : await tablesOfServices(config.services);
    db = openSqlStore(config.mysql ?? `sqlite:${join(config.dataDir, "orbit.db")}`);
  } catch (err) {
    const e = err as Error;
    if (
      err instanceof ConfigError ||
      err instanceof StoreUrlError ||
      e.name === "UnknownServiceError" ||
      e.name === "RegistryError"
    ) {
      usageError(e.message);
    }
    throw err;
  }
  const out = (line: string) => {
    if (!opts.json) process.stdout.write(`${line}\n`);
  };
  const common: MigrateOptions = {
    dryRun: opts.dryRun,
    allowDestructive: config.allowDestructive,
    allowNewerSchema: opts.allowNewerSchema,
    // The plan is printed by onPlan (with --sql if asked); progress lines as they come.
    log: (line) => {
      if (line.startsWith("migrate:")) out(line);
    },
    onPlan: (plan) => out(formatPlan(plan, { sql: opts.sql })),
  };
  const reports: MigrationReport[] = [];
  try {
    out(`orbit migrate: ${tables.length} table${tables.length === 1 ? "" : "s"}${opts.dryRun ? " (dry run)" : ""}`);
    reports.push(await migrate(db, tables, { ...common, wide: config.cassandra ? "cassandra" : "sql" }));
    if (config.cassandra) reports.push(await migrateWide(config.cassandra, tables, common));
    if (opts.json) process.stdout.write(`${JSON.stringify(reports.map(jsonReport), null, 2)}\n`);
    const blocked = reports.find((r) => r.plan.blocked)?.plan.blocked;
    if (blocked) {
      process.stderr.write(`orbit migrate: the plan would be refused: ${blocked.message}\n`);
      return EXIT_REFUSED;
    }
    const applied = reports.reduce((n, r) => n + r.applied.length, 0);
    out(opts.dryRun ? "dry run: nothing was changed" : `done: ${applied} step${applied === 1 ? "" : "s"} applied`);
    return 0;
  } catch (err) {
    if (
      err instanceof DestructiveChangeError ||
      err instanceof NewerSchemaError ||
      err instanceof UnsupportedChangeError
    ) {
      process.stderr.write(`orbit migrate: ${err.message}\n`);
      return EXIT_REFUSED;
    }
    if (err instanceof InvalidManifestError) {
      process.stderr.write(`orbit migrate: invalid manifest: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`orbit migrate: failed: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  } finally {
    await db.close();
  }
}

/**
 * The wide tables on Cassandra: the keyspace is created first if missing
 * (with the URL's rf; not on a dry run, which plans against what exists).
 */
async function migrateWide(url: string, tables: readonly TableSpec[], opts: MigrateOptions): Promise<MigrationReport> {
  const { CassandraClient, ensureKeyspace } = await import("../../platform/storage/cassandra/client.js");
  const { migrateCassandra } = await import("../../platform/migrate/cassandra/index.js");
  if (!opts.dryRun) await ensureKeyspace(url);
  // Every statement of the migrator names its keyspace: a dry run works before the keyspace exists.
  const client = await CassandraClient.open(url, { noKeyspace: true });
  try {
    return await migrateCassandra(client, client.keyspace, tables, opts);
  } finally {
    await client.close();
  }
}

function jsonReport(r: MigrationReport) {
  return {
    store: r.store,
    dialect: r.dialect,
    dryRun: r.dryRun,
    upToDate: r.plan.upToDate,
    steps: r.plan.steps,
    applied: r.applied.map((s) => ({ id: s.id, algorithms: s.algorithms, durationMs: Math.round(s.durationMs) })),
    recovered: r.recovered,
    dataApplied: r.dataApplied,
    refused: r.plan.blocked?.message,
    warnings: r.plan.warnings,
  };
}
