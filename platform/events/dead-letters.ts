/**
 * Dead letters (orbit_event_dead_letters): events a group gave up on after
 * its attempts ran out, with a copy of the payload (so retention cannot lose
 * them) and the last error. `requestRetry` marks them for another attempt;
 * the group's running consumer, in whatever process, picks them up.
 */
import type { SqlDb, SqlExecutor } from "../storage/driver.js";
import { big, DEAD, num, nowMsSql } from "./tables.js";

export type DeadLetterState = "dead" | "retry";

export interface DeadLetter {
  readonly group: string;
  readonly eventId: bigint;
  readonly topic: string;
  readonly key: string;
  readonly payload: Uint8Array;
  readonly publishedAtMs: number;
  readonly attempts: number;
  readonly error: string;
  readonly state: DeadLetterState;
  readonly failedAtMs: number;
}

export interface DeadEvent {
  readonly id: bigint;
  readonly topic: string;
  readonly key: string;
  readonly payload: Uint8Array;
  readonly publishedAtMs: number;
}

const COLS = "group_name, event_id, topic, event_key, payload, created_ms, attempts, error, state, failed_ms";

function toDeadLetter(r: Record<string, unknown>): DeadLetter {
  return {
    group: String(r.group_name),
    eventId: big(r.event_id),
    topic: String(r.topic),
    key: String(r.event_key),
    payload: r.payload as Uint8Array,
    publishedAtMs: num(r.created_ms),
    attempts: num(r.attempts),
    error: String(r.error),
    state: String(r.state) as DeadLetterState,
    failedAtMs: num(r.failed_ms),
  };
}

/** Parks an event (insert, or update an earlier dead letter of the same event). */
export async function putDeadLetter(
  exec: SqlExecutor,
  group: string,
  ev: DeadEvent,
  attempts: number,
  error: string,
): Promise<void> {
  const now = nowMsSql(exec.dialect);
  const upsert =
    exec.dialect === "mysql"
      ? `ON DUPLICATE KEY UPDATE attempts = attempts + VALUES(attempts), error = VALUES(error), state = 'dead', failed_ms = VALUES(failed_ms)`
      : `ON CONFLICT (group_name, event_id) DO UPDATE SET attempts = attempts + excluded.attempts, error = excluded.error, state = 'dead', failed_ms = excluded.failed_ms`;
  await exec.run(`INSERT INTO ${DEAD} (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'dead', ${now}) ${upsert}`, [
    group,
    ev.id,
    ev.topic,
    ev.key,
    ev.payload,
    ev.publishedAtMs,
    attempts,
    error.slice(0, 8000),
  ]);
}

export async function listDeadLetters(
  db: SqlExecutor,
  group: string,
  opts: { limit?: number; afterId?: bigint; state?: DeadLetterState } = {},
): Promise<DeadLetter[]> {
  const params: (string | bigint | number)[] = [group, opts.afterId ?? 0n];
  let where = "group_name = ? AND event_id > ?";
  if (opts.state) {
    where += " AND state = ?";
    params.push(opts.state);
  }
  const limit = Math.max(1, Math.min(opts.limit ?? 100, 10_000));
  const rows = await db.all<Record<string, unknown>>(
    `SELECT ${COLS} FROM ${DEAD} WHERE ${where} ORDER BY event_id LIMIT ${limit}`,
    params,
  );
  return rows.map(toDeadLetter);
}

export async function getDeadLetter(db: SqlExecutor, group: string, eventId: bigint): Promise<DeadLetter | undefined> {
  const r = await db.get<Record<string, unknown>>(`SELECT ${COLS} FROM ${DEAD} WHERE group_name = ? AND event_id = ?`, [
    group,
    eventId,
  ]);
  return r ? toDeadLetter(r) : undefined;
}

/** Counts dead letters per group. */
export async function countDeadLetters(db: SqlExecutor): Promise<Map<string, number>> {
  const rows = await db.all<{ g: unknown; n: unknown }>(
    `SELECT group_name AS g, COUNT(*) AS n FROM ${DEAD} GROUP BY group_name`,
  );
  return new Map(rows.map((r) => [String(r.g), num(r.n)]));
}

/** Marks dead letters for another attempt (all of the group's, or the given ids); returns how many. */
export async function requestRetry(db: SqlDb, group: string, eventIds?: readonly bigint[]): Promise<number> {
  if (!eventIds) {
    return (await db.run(`UPDATE ${DEAD} SET state = 'retry' WHERE group_name = ? AND state = 'dead'`, [group]))
      .changes;
  }
  let n = 0;
  for (const id of eventIds) {
    n += (await db.run(`UPDATE ${DEAD} SET state = 'retry' WHERE group_name = ? AND event_id = ?`, [group, id]))
      .changes;
  }
  return n;
}

/** Dead letters waiting for a retry, oldest event first. */
export function retryRequests(db: SqlExecutor, group: string, limit: number): Promise<DeadLetter[]> {
  return listDeadLetters(db, group, { limit, state: "retry" });
}

export async function deleteDeadLetter(exec: SqlExecutor, group: string, eventId: bigint): Promise<void> {
  await exec.run(`DELETE FROM ${DEAD} WHERE group_name = ? AND event_id = ?`, [group, eventId]);
}

/** After a failed retry: back to "dead" with one more attempt and the new error. */
export async function markRetryFailed(exec: SqlExecutor, group: string, eventId: bigint, error: string): Promise<void> {
  await exec.run(
    `UPDATE ${DEAD} SET state = 'dead', attempts = attempts + 1, error = ?, failed_ms = ${nowMsSql(exec.dialect)}
     WHERE group_name = ? AND event_id = ?`,
    [error.slice(0, 8000), group, eventId],
  );
}

/** Deletes a group's dead letters (all, or the given ids); returns how many. */
export async function purgeDeadLetters(db: SqlDb, group: string, eventIds?: readonly bigint[]): Promise<number> {
  if (!eventIds) return (await db.run(`DELETE FROM ${DEAD} WHERE group_name = ?`, [group])).changes;
  let n = 0;
  for (const id of eventIds) {
    n += (await db.run(`DELETE FROM ${DEAD} WHERE group_name = ? AND event_id = ?`, [group, id])).changes;
  }
  return n;
}
