/**
 * The history on Cassandra: the same rows as on SQL (kind, subject, step,
 * checksum, status, process, times), in one partition of
 * <keyspace>.orbit_migrations ordered by a timeuuid.
 */
import { cqlIdent } from "../../storage/cassandra/cql.js";
import type { HistoryRow, NewHistoryRow } from "../history.js";
import { HISTORY_TABLE_CQL } from "./bookkeeping.js";
import type { CqlSession } from "./session.js";

const SCOPE = "history";

/** The driver's types, loaded only when Cassandra is used (keeps SQL-only boots lean). */
async function driverTypes() {
  return (await import("cassandra-driver")).types;
}

/** A history row with the timeuuid that keys it. */
export interface CqlHistoryRow extends HistoryRow {
  readonly uuid: string;
}

export async function readCqlHistory(session: CqlSession, keyspace: string): Promise<CqlHistoryRow[]> {
  const r = await session.execute(
    `SELECT id, kind, subject, step, summary, checksum, status, detail, process, started_at_ms, finished_at_ms ` +
      `FROM ${cqlIdent(keyspace)}.${HISTORY_TABLE_CQL} WHERE scope = ?`,
    [SCOPE],
  );
  return r.rows.map((row, i) => ({
    id: i,
    uuid: String(row.id),
    kind: row.kind as HistoryRow["kind"],
    subject: String(row.subject),
    step: String(row.step),
    summary: String(row.summary ?? ""),
    checksum: String(row.checksum),
    status: row.status as HistoryRow["status"],
    detail: row.detail === null || row.detail === undefined ? null : String(row.detail),
    process: String(row.process),
    startedAtMs: Number(row.started_at_ms),
    finishedAtMs: row.finished_at_ms === null || row.finished_at_ms === undefined ? null : Number(row.finished_at_ms),
  }));
}

/** Writes a row; returns its timeuuid. */
export async function insertCqlHistory(session: CqlSession, keyspace: string, row: NewHistoryRow): Promise<string> {
  const types = await driverTypes();
  const id = types.TimeUuid.now();
  const now = BigInt(Date.now());
  await session.execute(
    `INSERT INTO ${cqlIdent(keyspace)}.${HISTORY_TABLE_CQL} ` +
      "(scope, id, kind, subject, step, summary, statements, checksum, status, detail, process, started_at_ms, finished_at_ms) " +
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [
      SCOPE,
      id,
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
  return id.toString();
}

export async function finishCqlHistory(
  session: CqlSession,
  keyspace: string,
  uuid: string,
  status: HistoryRow["status"],
  detail: string | null,
): Promise<void> {
  await session.execute(
    `UPDATE ${cqlIdent(keyspace)}.${HISTORY_TABLE_CQL} SET status = ?, detail = ?, finished_at_ms = ? WHERE scope = ? AND id = ?`,
    [status, detail, BigInt(Date.now()), SCOPE, (await driverTypes()).TimeUuid.fromString(uuid)],
  );
}
