/**
 * migrateCassandra(): the wide tables of a manifest on a Cassandra keyspace.
 * Same shape as the SQL migrator — plan without a lock, and if anything is
 * to do: take the lease, plan again, settle interrupted steps, refuse
 * destructive or older-than-the-schema plans, apply each step with a history
 * row around it — plus one rule of its own: after every schema change, wait
 * until all nodes agree on the schema before the next one.
 */
import type { CassandraClient } from "../../storage/cassandra/client.js";
import type { TableSpec, WideTableSpec } from "../../storage/schema.js";
import {
  DestructiveChangeError,
  InvalidManifestError,
  MigrationStepError,
  NewerSchemaError,
  UnsupportedChangeError,
} from "../errors.js";
import type { DestructiveChange, NewerTable } from "../errors.js";
import { formatPlan } from "../format.js";
import { isSuperseded, summariseHistory } from "../history-summary.js";
import { defaultProcessId } from "../migrate.js";
import type { AppliedStep, MigrateOptions, MigrationPlan, MigrationReport } from "../options.js";
import { toPlanned } from "../plan.js";
import type { Step } from "../step.js";
import {
  ensureBookkeepingTable,
  HISTORY_TABLE_CQL,
  historyTableCql,
  LOCK_TABLE,
  lockTableCql,
  waitForSchemaAgreement,
} from "./bookkeeping.js";
import { finishCqlHistory, insertCqlHistory, readCqlHistory, type CqlHistoryRow } from "./history.js";
import { introspectCassandra } from "./introspect.js";
import { CassandraLease } from "./lease.js";
import { cassandraFingerprint, planCassandraTable } from "./plan.js";
import { cqlSessionOf, type CqlSession } from "./session.js";

export interface CassandraMigrateOptions extends Omit<MigrateOptions, "wide" | "dataMigrations"> {
  /** Lease length; renewed every third of it. Default 60 s. */
  readonly leaseSeconds?: number;
  /** How long to wait for schema agreement after each change. Default 60 s. */
  readonly schemaAgreementTimeoutMs?: number;
}

interface CqlFullPlan {
  readonly plan: MigrationPlan;
  readonly steps: readonly Step[];
  readonly states: readonly { table: string; fingerprint: string; file: string }[];
  readonly interrupted: readonly CqlHistoryRow[];
  readonly skippedNewer: readonly string[];
}

const IDENT = /^[a-z][a-z0-9_]{0,47}$/;

function wideTables(tables: readonly TableSpec[]): WideTableSpec[] {
  const wide = tables.filter((t): t is WideTableSpec => t.kind === "wide");
  const seen = new Set<string>();
  for (const t of wide) {
    if (!IDENT.test(t.name))
      throw new InvalidManifestError(`wide table name "${t.name}" is not a valid Cassandra table name`);
    if (t.name === LOCK_TABLE || t.name === HISTORY_TABLE_CQL)
      throw new InvalidManifestError(`table name ${t.name} is reserved for the migrator`);
    if (seen.has(t.name)) throw new InvalidManifestError(`two wide tables are named ${t.name}`);
    seen.add(t.name);
  }
  return wide;
}

async function planOn(
  session: CqlSession,
  keyspace: string,
  tables: readonly WideTableSpec[],
  opts: CassandraMigrateOptions,
): Promise<CqlFullPlan> {
  const live = await introspectCassandra(session, keyspace);
  const history = live.has(HISTORY_TABLE_CQL) ? await readCqlHistory(session, keyspace) : [];
  const { states, interrupted } = summariseHistory(history);
  const steps: Step[] = [];
  const unsupported: string[] = [];
  const newer: NewerTable[] = [];
  const skippedNewer: string[] = [];
  const record: { table: string; fingerprint: string; file: string }[] = [];
  for (const spec of tables) {
    const p = planCassandraTable(spec, live.get(spec.name), keyspace);
    const fp = cassandraFingerprint(spec);
    const s = states.get(spec.name);
    if (
      isSuperseded(s, fp) &&
      (p.steps.length > 0 || p.unsupported.length > 0) &&
      !(opts.allowNewerSchema && opts.allowDestructive)
    ) {
      if (opts.allowNewerSchema) skippedNewer.push(spec.name);
      else {
        newer.push({
          table: spec.name,
          recordedAtMs: s.latest.finishedAtMs ?? s.latest.startedAtMs,
          process: s.latest.process,
          wouldChange: [...p.steps.map((st) => st.summary), ...p.unsupported],
        });
      }
      continue;
    }
    steps.push(...p.steps);
    unsupported.push(...p.unsupported);
    if (!s || s.latest.checksum !== fp) record.push({ table: spec.name, fingerprint: fp, file: spec.file });
  }
  // Creates first, so the other steps never wait on a missing table.
  steps.sort((a, b) => Number(b.op === "create_table") - Number(a.op === "create_table"));
  const destructive: DestructiveChange[] = steps.flatMap((st) =>
    st.losses.map((l) => ({ table: st.table, column: l.column, summary: l.summary, loses: l.loses })),
  );
  let blocked: MigrationPlan["blocked"];
  if (newer.length > 0) blocked = new NewerSchemaError(session.url, newer, []);
  else if (unsupported.length > 0)
    blocked = new UnsupportedChangeError(`refusing to migrate ${session.url}:\n  - ${unsupported.join("\n  - ")}`);
  else if (destructive.length > 0 && !opts.allowDestructive)
    blocked = new DestructiveChangeError(session.url, destructive);
  const plan: MigrationPlan = {
    store: session.url,
    dialect: "cassandra",
    steps: steps.map(toPlanned),
    destructive,
    newerTables: newer,
    pendingData: [],
    postponedData: [],
    interrupted: interrupted.map((r) => r.step),
    unrecorded: record.map((r) => r.table),
    blocked,
    upToDate: steps.length === 0 && record.length === 0 && interrupted.length === 0 && !blocked,
    warnings: [],
  };
  return { plan, steps, states: record, interrupted: interrupted as CqlHistoryRow[], skippedNewer };
}

function sessionOf(client: CassandraClient | CqlSession): CqlSession {
  return "schemaAgreement" in client ? client : cqlSessionOf(client);
}

/** The plan for the wide tables of `tables` on `keyspace`, changing nothing. */
export async function planCassandraMigration(
  client: CassandraClient | CqlSession,
  keyspace: string,
  tables: readonly TableSpec[],
  opts: CassandraMigrateOptions = {},
): Promise<MigrationPlan> {
  return (await planOn(sessionOf(client), keyspace, wideTables(tables), opts)).plan;
}

export async function migrateCassandra(
  client: CassandraClient | CqlSession,
  keyspace: string,
  tables: readonly TableSpec[],
  opts: CassandraMigrateOptions = {},
): Promise<MigrationReport> {
  const started = performance.now();
  const session = sessionOf(client);
  const log = opts.log ?? (() => undefined);
  const processId = opts.processId ?? defaultProcessId();
  const agreeMs = opts.schemaAgreementTimeoutMs ?? 60_000;
  const wide = wideTables(tables);
  const base = { store: session.url, dialect: "cassandra" as const, dryRun: !!opts.dryRun, dataApplied: [] };
  const first = await planOn(session, keyspace, wide, opts);
  if (first.plan.upToDate || opts.dryRun) {
    log(formatPlan(first.plan));
    opts.onPlan?.(first.plan);
    return {
      ...base,
      plan: first.plan,
      applied: [],
      recovered: [],
      skippedNewer: first.skippedNewer,
      lockWaitMs: 0,
      durationMs: performance.now() - started,
    };
  }

  await ensureBookkeepingTable(session, keyspace, LOCK_TABLE, lockTableCql(keyspace), agreeMs);
  await ensureBookkeepingTable(session, keyspace, HISTORY_TABLE_CQL, historyTableCql(keyspace), agreeMs);
  const lease = await CassandraLease.acquire(session, keyspace, processId, {
    leaseSeconds: opts.leaseSeconds ?? 60,
    timeoutMs: opts.lockTimeoutMs ?? 600_000,
    log,
  });
  try {
    const full = await planOn(session, keyspace, wide, opts);
    const recovered: string[] = [];
    for (const row of full.interrupted) {
      const again = full.steps.some((s) => s.id === row.step);
      const status = again ? "failed" : "applied";
      await finishCqlHistory(
        session,
        keyspace,
        row.uuid,
        status,
        again
          ? `interrupted before it took effect; planned again by ${processId}`
          : `interrupted after it took effect; found in place by ${processId}`,
      );
      recovered.push(`${row.step} (${status})`);
    }
    log(formatPlan(full.plan));
    opts.onPlan?.(full.plan);
    if (full.plan.blocked) throw full.plan.blocked;
    const applied: AppliedStep[] = [];
    const total = full.steps.length;
    for (const [index, step] of full.steps.entries()) {
      lease.assertHeld();
      const planned = toPlanned(step);
      const t0 = performance.now();
      const uuid = await insertCqlHistory(session, keyspace, {
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
      for (const st of step.statements) {
        try {
          await session.execute(st.sql);
        } catch (err) {
          // Cassandra DDL is not transactional: as on MySQL, the row stays as a record of the failure
          // (if the connection is gone it stays "running", and the next run settles it).
          await finishCqlHistory(session, keyspace, uuid, "failed", (err as Error).message).catch(() => undefined);
          throw new MigrationStepError(step.id, st.sql, err);
        }
        await waitForSchemaAgreement(session, agreeMs);
      }
      await opts.onProgress?.({ phase: "executed", step: planned, index, total });
      await finishCqlHistory(session, keyspace, uuid, "applied", null);
      await opts.onProgress?.({ phase: "recorded", step: planned, index, total });
      const durationMs = performance.now() - t0;
      applied.push({ ...planned, algorithms: [], durationMs });
      log(`migrate: [${index + 1}/${total}] ${step.summary} — done in ${durationMs.toFixed(0)} ms`);
    }
    for (const s of full.states) {
      await insertCqlHistory(session, keyspace, {
        kind: "state",
        subject: s.table,
        step: "state",
        summary: `schema of ${s.table}`,
        statements: "",
        checksum: s.fingerprint,
        status: "applied",
        detail: s.file,
        process: processId,
      });
    }
    return {
      ...base,
      plan: full.plan,
      applied,
      recovered,
      skippedNewer: full.skippedNewer,
      lockWaitMs: lease.waitedMs,
      durationMs: performance.now() - started,
    };
  } finally {
    await lease.release();
  }
}
