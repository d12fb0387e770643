/**
 * Makes the plan: introspect the live schema, read the history, diff against
 * the manifest, turn the changes into steps for the dialect, and decide
 * whether applying them would be refused (destructive steps, or a database
 * that a newer binary has migrated).
 */
import type { SqlDb, SqlExecutor } from "../storage/driver.js";
import type { TableSpec } from "../storage/schema.js";
import { dataMigrationsIn, DEFAULT_DATA_DIR, type DataMigration, type DataMigrationModule } from "./data-migrations.js";
import { desiredTables, HISTORY_TABLE } from "./desired.js";
import { diffSchema, type TableDiff } from "./diff.js";
import { DestructiveChangeError, NewerSchemaError, type DestructiveChange, type NewerTable } from "./errors.js";
import { declaredTypes, DROPPED, parseDeclaredTypes, tableFingerprint } from "./fingerprint.js";
import { readPlanningHistory, type HistoryRow } from "./history.js";
import { isDeclaredSuperseded, isSuperseded, summariseHistory } from "./history-summary.js";
import { introspectMysql } from "./introspect-mysql.js";
import { introspectSqlite } from "./introspect-sqlite.js";
import type { DesiredTable, LiveSchema } from "./model.js";
import { detectMysqlServer, type MysqlServer } from "./mysql-server.js";
import type { MigrateOptions, MigrationPlan, PlannedStep } from "./options.js";
import { fitDesiredToServer, planMysql } from "./plan-mysql.js";
import { planSqlite } from "./plan-sqlite.js";
import type { Step } from "./step.js";
import { rulesFor, type TypeRules } from "./type-rules.js";

export interface PlanContext {
  readonly db: SqlDb;
  readonly specs: readonly TableSpec[];
  readonly desired: readonly DesiredTable[];
  readonly rules: TypeRules;
  readonly server?: MysqlServer;
  readonly data: readonly DataMigration[];
  readonly opts: MigrateOptions;
}

export interface TableState {
  readonly table: string;
  readonly fingerprint: string;
  readonly file: string;
  /** The declared column types (declaredTypes), "" for a dropped table. */
  readonly declared: string;
}

export interface PendingData {
  readonly migration: DataMigration;
  readonly module: DataMigrationModule;
}

/** The plan with what applying it needs (steps, states to record, data modules). */
export interface FullPlan {
  readonly plan: MigrationPlan;
  readonly steps: readonly Step[];
  readonly states: readonly TableState[];
  readonly pendingData: readonly PendingData[];
  readonly interrupted: readonly HistoryRow[];
  readonly skippedNewer: readonly string[];
}

export async function planContext(db: SqlDb, specs: readonly TableSpec[], opts: MigrateOptions): Promise<PlanContext> {
  let desired = desiredTables(specs, db.dialect, { wide: opts.wide });
  let server: MysqlServer | undefined;
  if (db.dialect === "mysql") {
    server = await detectMysqlServer(db);
    desired = fitDesiredToServer(desired, server);
  }
  const data =
    opts.dataMigrations === undefined
      ? dataMigrationsIn(DEFAULT_DATA_DIR)
      : typeof opts.dataMigrations === "string"
        ? dataMigrationsIn(opts.dataMigrations)
        : [...opts.dataMigrations];
  return { db, specs, desired, rules: rulesFor(db.dialect), server, data, opts };
}

async function introspect(exec: SqlExecutor, ctx: PlanContext): Promise<LiveSchema> {
  return exec.dialect === "mysql" ? introspectMysql(exec, ctx.server!) : introspectSqlite(exec);
}

export function toPlanned(s: Step): PlannedStep {
  return {
    id: s.id,
    op: s.op,
    table: s.table,
    summary: s.summary,
    sql: s.statements.map((st) => st.sql),
    destructive: s.losses.length > 0,
    locking: s.locking,
    checksum: s.checksum,
  };
}

async function rowCount(exec: SqlExecutor, table: string): Promise<string> {
  const q = exec.dialect === "mysql" ? `\`${table}\`` : `"${table}"`;
  const cap = 1_000_000;
  const row = await exec.get<{ n: unknown }>(
    `SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM ${q} LIMIT ${cap + 1}) AS x`,
  );
  const n = Number(row?.n ?? 0);
  return n > cap ? `more than ${cap} rows` : `${n} row${n === 1 ? "" : "s"}`;
}

/** Makes the plan on `exec` (the store, or the locked session). */
export async function buildPlan(exec: SqlExecutor, ctx: PlanContext): Promise<FullPlan> {
  const { opts, rules } = ctx;
  const live = await introspect(exec, ctx);
  const history = live.has(HISTORY_TABLE) ? await readPlanningHistory(exec) : [];

  const { states, dataApplied, interrupted } = summariseHistory(history);

  // Tables this manifest removed: the history says they came from a proto
  // file the manifest still has, and the manifest no longer declares them.
  const files = new Set(ctx.specs.map((s) => s.file));
  const named = new Set(ctx.specs.map((s) => s.name));
  const dropTables: { name: string; file: string }[] = [];
  for (const [table, s] of states) {
    if (s.latest.checksum === DROPPED || named.has(table) || !live.has(table)) continue;
    if (s.latest.detail !== null && files.has(s.latest.detail)) dropTables.push({ name: table, file: s.latest.detail });
  }

  const planFor = (d: readonly TableDiff[]) => (exec.dialect === "mysql" ? planMysql(d, ctx.server!) : planSqlite(d));
  // The declared column types each table was last migrated to (unknown when
  // an older binary recorded its state: then nothing counts as narrowing).
  const previous = new Map<string, Map<string, string>>();
  for (const [table, s] of states) {
    const declared = parseDeclaredTypes(s.latest.statements);
    if (declared) previous.set(table, declared);
  }
  const diffs = diffSchema(ctx.desired, live, rules, dropTables, previous);
  const kept: TableDiff[] = [];
  const newer: NewerTable[] = [];
  const skippedNewer: string[] = [];
  const recordStates: TableState[] = [];
  for (const diff of diffs) {
    if (!diff.desired) {
      kept.push(diff);
      recordStates.push({
        table: diff.table,
        fingerprint: DROPPED,
        file: states.get(diff.table)?.latest.detail ?? "",
        declared: "",
      });
      continue;
    }
    const fp = tableFingerprint(diff.desired, rules);
    const declared = declaredTypes(diff.desired);
    const s = states.get(diff.table);
    const declaredSuperseded = isDeclaredSuperseded(s, declared);
    if (
      (isSuperseded(s, fp) || declaredSuperseded) &&
      diff.changes.length > 0 &&
      !(opts.allowNewerSchema && opts.allowDestructive)
    ) {
      const entry: NewerTable = {
        table: diff.table,
        recordedAtMs: s.latest.finishedAtMs ?? s.latest.startedAtMs,
        process: s.latest.process,
        wouldChange: planFor([diff]).flatMap((st) =>
          st.losses.length ? st.losses.map((l) => `${l.summary} (${l.loses})`) : [st.summary],
        ),
      };
      if (opts.allowNewerSchema) skippedNewer.push(diff.table);
      else newer.push(entry);
      continue;
    }
    kept.push(diff);
    // Record the state when the fingerprint moves, or when only the declared
    // types do (SQLite widening; the first run after an upgrade records them
    // once) — but not when this binary's declared types are an older state
    // and nothing changes: that would make the newer binary look older.
    const declaredMoved =
      s !== undefined && s.latest.statements !== declared && (!declaredSuperseded || diff.changes.length > 0);
    if (!s || s.latest.checksum !== fp || declaredMoved) {
      recordStates.push({ table: diff.table, fingerprint: fp, file: diff.desired.file, declared });
    }
  }

  const steps = planFor(kept);

  const warnings: string[] = [];
  const known = new Set(ctx.data.map((d) => d.id));
  const unknownData = [...dataApplied.keys()].filter((id) => !known.has(id));
  const pendingData: PendingData[] = [];
  const postponed: string[] = [];
  const tableNames = new Set(ctx.desired.map((d) => d.name));
  for (const d of ctx.data) {
    const done = dataApplied.get(d.id);
    if (done) {
      if (done.checksum !== d.checksum) {
        warnings.push(
          `data migration ${d.id} changed since it ran (at ${new Date(done.startedAtMs).toISOString()}); it is not run again`,
        );
      }
      continue;
    }
    const module = await d.load();
    if ((module.tables ?? []).every((t) => tableNames.has(t))) pendingData.push({ migration: d, module });
    else postponed.push(d.id);
  }

  const destructive: DestructiveChange[] = [];
  const counts = new Map<string, string>();
  for (const s of steps) {
    for (const loss of s.losses) {
      let loses = loss.loses;
      if (loss.misfit && live.has(s.table)) {
        const q = exec.dialect === "mysql" ? `\`${s.table}\`` : `"${s.table}"`;
        const row = await exec.get<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${q} WHERE ${loss.misfit}`);
        const n = Number(row?.n ?? 0);
        loses += ` (${n} row${n === 1 ? "" : "s"} of ${s.table} hold${n === 1 ? "s" : ""} such a value)`;
      }
      if (loss.countRows && live.has(s.table)) {
        if (!counts.has(s.table)) counts.set(s.table, await rowCount(exec, s.table));
        loses += ` (${s.table} has ${counts.get(s.table)})`;
      }
      destructive.push({ table: s.table, column: loss.column, summary: loss.summary, loses });
    }
  }

  let blocked: DestructiveChangeError | NewerSchemaError | undefined;
  if (newer.length > 0 || (unknownData.length > 0 && !opts.allowNewerSchema)) {
    blocked = new NewerSchemaError(ctx.db.url, newer, opts.allowNewerSchema ? [] : unknownData);
  } else if (destructive.length > 0 && !opts.allowDestructive) {
    blocked = new DestructiveChangeError(ctx.db.url, destructive);
  }
  if (unknownData.length > 0 && opts.allowNewerSchema) {
    warnings.push(`data migrations applied by a newer binary: ${unknownData.join(", ")}`);
  }

  const plan: MigrationPlan = {
    store: ctx.db.url,
    dialect: exec.dialect,
    steps: steps.map(toPlanned),
    destructive,
    newerTables: newer,
    pendingData: pendingData.map((p) => p.migration.id),
    postponedData: postponed,
    interrupted: interrupted.map((r) => r.step),
    unrecorded: recordStates.map((s) => s.table),
    blocked,
    upToDate:
      steps.length === 0 &&
      recordStates.length === 0 &&
      pendingData.length === 0 &&
      interrupted.length === 0 &&
      !blocked,
    warnings,
  };
  return { plan, steps, states: recordStates, pendingData, interrupted, skippedNewer };
}

/**
 * The plan for bringing `db` to the schema of `tables`, without changing
 * anything or taking a lock (what `orbit migrate --dry-run` prints).
 */
export async function planMigration(
  db: SqlDb,
  tables: readonly TableSpec[],
  opts: MigrateOptions = {},
): Promise<MigrationPlan> {
  const ctx = await planContext(db, tables, opts);
  return (await buildPlan(db, ctx)).plan;
}
