/**
 * migrate(): introspect → diff → plan → lock → apply → record.
 *
 * The plan is made once without the lock; when there is nothing to do (the
 * usual boot) the call returns without writing anything. Otherwise it takes
 * the migration lock, makes the plan again from what is there now (another
 * process may have migrated meanwhile, or crashed half way), settles steps a
 * crashed run left unfinished, refuses destructive or older-than-the-schema
 * plans, applies each step with a history row around it, records the state
 * each table reached, and runs pending data migrations.
 */
import { hostname } from "node:os";
import type { SqlDb } from "../storage/driver.js";
import type { TableSpec } from "../storage/schema.js";
import { runStep } from "./apply.js";
import { formatPlan } from "./format.js";
import { ensureHistoryTable, finishHistory, insertHistory } from "./history.js";
import { withMigrationLock } from "./lock.js";
import type { AppliedStep, MigrateOptions, MigrationReport } from "./options.js";
import { buildPlan, planContext, toPlanned, type FullPlan } from "./plan.js";

export function defaultProcessId(): string {
  return `${hostname()}:${process.pid}`;
}

export async function migrate(
  db: SqlDb,
  tables: readonly TableSpec[],
  opts: MigrateOptions = {},
): Promise<MigrationReport> {
  const started = performance.now();
  const log = opts.log ?? (() => undefined);
  const processId = opts.processId ?? defaultProcessId();
  const ctx = await planContext(db, tables, opts);
  const first = await buildPlan(db, ctx);
  const base = {
    store: db.url,
    dialect: db.dialect,
    dryRun: !!opts.dryRun,
    recovered: [],
    dataApplied: [],
    lockWaitMs: 0,
  };
  if (first.plan.upToDate || opts.dryRun) {
    log(formatPlan(first.plan));
    opts.onPlan?.(first.plan);
    return {
      ...base,
      plan: first.plan,
      applied: [],
      skippedNewer: first.skippedNewer,
      durationMs: performance.now() - started,
    };
  }

  return withMigrationLock(db, { timeoutMs: opts.lockTimeoutMs ?? 600_000, log }, async (session) => {
    const exec = session.exec;
    await ensureHistoryTable(exec);
    const full: FullPlan = await buildPlan(exec, ctx);
    const { plan } = full;

    // Steps a crashed run started: settled from the live schema just read.
    const recovered: string[] = [];
    for (const row of full.interrupted) {
      const again = full.steps.some((s) => s.id === row.step);
      const status = again ? "failed" : "applied";
      await finishHistory(
        exec,
        row.id,
        status,
        again
          ? `interrupted before it took effect; planned again by ${processId}`
          : `interrupted after it took effect; found in place by ${processId}`,
      );
      recovered.push(`${row.step} (${status})`);
      log(`migrate: step ${row.step} was interrupted by a crash of ${row.process}; marked ${status}`);
    }

    log(formatPlan(plan));
    opts.onPlan?.(plan);
    if (plan.blocked) throw plan.blocked;

    const applied: AppliedStep[] = [];
    const total = full.steps.length;
    for (const [index, step] of full.steps.entries()) {
      const planned = toPlanned(step);
      const t0 = performance.now();
      const id = await insertHistory(exec, {
        kind: "schema",
        subject: step.table,
        step: step.id,
        summary: step.summary,
        statements: planned.sql.join(";\n"),
        checksum: step.checksum,
        status: "running",
        process: processId,
      });
      await opts.onProgress?.({ phase: "started", step: planned, index, total });
      let algorithms: string[];
      try {
        algorithms = await runStep(exec, step);
      } catch (err) {
        // On MySQL the row stays as a record of the failure; on SQLite the transaction takes it back.
        if (exec.dialect === "mysql")
          await finishHistory(exec, id, "failed", (err as Error).message).catch(() => undefined);
        throw err;
      }
      await opts.onProgress?.({ phase: "executed", step: planned, index, total });
      await finishHistory(exec, id, "applied", algorithms.length ? algorithms.join("; ") : null);
      await opts.onProgress?.({ phase: "recorded", step: planned, index, total });
      const durationMs = performance.now() - t0;
      applied.push({ ...planned, algorithms, durationMs });
      log(
        `migrate: [${index + 1}/${total}] ${step.summary} — done in ${durationMs.toFixed(0)} ms` +
          (algorithms.length ? ` (${algorithms.join("; ")})` : ""),
      );
    }

    for (const s of full.states) {
      await insertHistory(exec, {
        kind: "state",
        subject: s.table,
        step: "state",
        summary: `schema of ${s.table}`,
        statements: s.declared,
        checksum: s.fingerprint,
        status: "applied",
        detail: s.file,
        process: processId,
      });
    }

    const dataApplied: string[] = [];
    for (const { migration, module } of full.pendingData) {
      const t0 = performance.now();
      await session.inTransaction(async (tx) => {
        await module.up(tx);
        await insertHistory(tx, {
          kind: "data",
          subject: migration.id,
          step: migration.id,
          summary: module.description ?? `data migration ${migration.id}`,
          statements: "",
          checksum: migration.checksum,
          status: "applied",
          process: processId,
        });
      });
      dataApplied.push(migration.id);
      log(`migrate: data migration ${migration.id} — done in ${(performance.now() - t0).toFixed(0)} ms`);
    }

    return {
      ...base,
      plan,
      applied,
      recovered,
      dataApplied,
      skippedNewer: full.skippedNewer,
      lockWaitMs: session.waitedMs,
      durationMs: performance.now() - started,
    };
  });
}
