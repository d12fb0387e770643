/**
 * The history table, orbit_migrations: one row per applied schema step
 * (what, checksum, when, by which process), per data migration, and per
 * table state reached (the table's fingerprint). A step is written as
 * "running" before its DDL and "applied" after, so a crash between the two
 * is visible to the next run, which settles it from the live schema.
 */
import type { Dialect, SqlExecutor } from "../storage/driver.js";
import { HISTORY_TABLE } from "./desired.js";

export type HistoryKind = "schema" | "data" | "state";
export type HistoryStatus = "running" | "applied" | "failed";

export interface HistoryRow {
  readonly id: number;
  readonly kind: HistoryKind;
  readonly subject: string;
  readonly step: string;
  readonly summary: string;
  /**
   * A step's SQL; for a `state` row, the declared column types as JSON
   * (see declaredTypes in fingerprint.ts), or "" when an older binary
   * recorded it. Not read back from Cassandra.
   */
  readonly statements?: string;
  readonly checksum: string;
  readonly status: HistoryStatus;
  readonly detail: string | null;
  readonly process: string;
  readonly startedAtMs: number;
  readonly finishedAtMs: number | null;
}

const T = HISTORY_TABLE;

export function historyDdl(dialect: Dialect): string {
  if (dialect === "mysql") {
    return (
      `CREATE TABLE IF NOT EXISTS \`${T}\` (` +
      "`id` BIGINT NOT NULL AUTO_INCREMENT, `kind` VARCHAR(16) NOT NULL, `subject` VARCHAR(255) NOT NULL, " +
      "`step` VARCHAR(255) NOT NULL, `summary` TEXT NOT NULL, `statements` MEDIUMTEXT NOT NULL, " +
      "`checksum` VARCHAR(64) NOT NULL, `status` VARCHAR(16) NOT NULL, `detail` TEXT NULL, " +
      "`process` VARCHAR(255) NOT NULL, `started_at_ms` BIGINT NOT NULL, `finished_at_ms` BIGINT NULL, " +
      "PRIMARY KEY (`id`), KEY `orbit_migrations_by_kind` (`kind`, `subject`)) " +
      "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
    );
  }
  return (
    `CREATE TABLE IF NOT EXISTS "${T}" (` +
    '"id" INTEGER PRIMARY KEY AUTOINCREMENT, "kind" TEXT NOT NULL, "subject" TEXT NOT NULL, ' +
    '"step" TEXT NOT NULL, "summary" TEXT NOT NULL, "statements" TEXT NOT NULL, ' +
    '"checksum" TEXT NOT NULL, "status" TEXT NOT NULL, "detail" TEXT, ' +
    '"process" TEXT NOT NULL, "started_at_ms" INTEGER NOT NULL, "finished_at_ms" INTEGER);\n' +
    `CREATE INDEX IF NOT EXISTS "orbit_migrations_by_kind" ON "${T}" ("kind", "subject")`
  );
}

export async function ensureHistoryTable(db: SqlExecutor): Promise<void> {
  await db.exec(historyDdl(db.dialect));
}

const q = (db: SqlExecutor, n: string) => (db.dialect === "mysql" ? `\`${n}\`` : `"${n}"`);

interface RawRow {
  id: unknown;
  kind: string;
  subject: string;
  step: string;
  summary: string;
  statements: string;
  checksum: string;
  status: string;
  detail: string | null;
  process: string;
  started_at_ms: unknown;
  finished_at_ms: unknown;
}

function fromRaw(r: RawRow): HistoryRow {
  return {
    id: Number(r.id),
    kind: r.kind as HistoryKind,
    subject: r.subject,
    step: r.step,
    summary: r.summary,
    statements: r.statements,
    checksum: r.checksum,
    status: r.status as HistoryStatus,
    detail: r.detail,
    process: r.process,
    startedAtMs: Number(r.started_at_ms),
    finishedAtMs: r.finished_at_ms === null || r.finished_at_ms === undefined ? null : Number(r.finished_at_ms),
  };
}

const COLUMNS =
  "id, kind, subject, step, summary, statements, checksum, status, detail, process, started_at_ms, finished_at_ms";

/** The rows planning needs: table states, data migrations, interrupted steps. */
export async function readPlanningHistory(db: SqlExecutor): Promise<HistoryRow[]> {
  const rows = await db.all<RawRow>(
    `SELECT ${COLUMNS} FROM ${q(db, T)} WHERE kind <> 'schema' OR status = 'running' ORDER BY id`,
  );
  return rows.map(fromRaw);
}

/** Every row, oldest first (for tools and tests). */
export async function readHistory(db: SqlExecutor): Promise<HistoryRow[]> {
  const rows = await db.all<RawRow>(`SELECT ${COLUMNS} FROM ${q(db, T)} ORDER BY id`);
  return rows.map(fromRaw);
}

export interface NewHistoryRow {
  readonly kind: HistoryKind;
  readonly subject: string;
  readonly step: string;
  readonly summary: string;
  readonly statements: string;
  readonly checksum: string;
  readonly status: HistoryStatus;
  readonly detail?: string | null;
  readonly process: string;
}

/** Inserts a row and returns its id. */
export async function insertHistory(db: SqlExecutor, row: NewHistoryRow): Promise<number> {
  const now = Date.now();
  const r = await db.run(
    `INSERT INTO ${q(db, T)} (kind, subject, step, summary, statements, checksum, status, detail, process, started_at_ms, finished_at_ms) ` +
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [
      row.kind,
      row.subject,
      row.step,
      row.summary,
      row.statements,
      row.checksum,
      row.status,
      row.detail ?? null,
      row.process,
      now,
      row.status === "running" ? null : now,
    ],
  );
  return Number(r.lastInsertId);
}

/** Marks a running row applied or failed. */
export async function finishHistory(
  db: SqlExecutor,
  id: number,
  status: HistoryStatus,
  detail: string | null,
): Promise<void> {
  await db.run(`UPDATE ${q(db, T)} SET status = ?, detail = ?, finished_at_ms = ? WHERE id = ?`, [
    status,
    detail,
    Date.now(),
    id,
  ]);
}
