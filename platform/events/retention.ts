/**
 * Retention: deletes events older than `maxAgeMs` that every consumer group
 * has passed, in small batches (short transactions, no long locks), and
 * records the highest deleted id as the retention floor (so a frontier that
 * starts later does not mistake deleted ids for a gap to wait on).
 *
 * On MySQL the deletes run in READ COMMITTED, which takes no gap locks: an
 * insert at the head of the log never waits on retention.
 */
import type { SqlDb, SqlExecutor } from "../storage/driver.js";
import { big, GROUPS, LOG, META, PROCESSED } from "./tables.js";

export interface RetentionOptions {
  /** Events older than this (by publish time) may go. */
  readonly maxAgeMs: number;
  /** Rows per delete. Default 1000. */
  readonly batchSize?: number;
  /** Most batches per run (bounds one run's work). Default 1000. */
  readonly maxBatches?: number;
  /** Pause between batches, to leave room for the live traffic. Default 5 ms. */
  readonly pauseMs?: number;
}

export interface RetentionResult {
  readonly deleted: number;
  /** Highest id deleted so far (the retention floor). */
  readonly floor: bigint;
}

export async function runRetention(
  db: SqlDb,
  opts: RetentionOptions,
  nowMs: number = Date.now(),
): Promise<RetentionResult> {
  if (!(opts.maxAgeMs >= 0)) throw new RangeError(`retention maxAgeMs must be >= 0, got ${opts.maxAgeMs}`);
  const batch = Math.max(1, opts.batchSize ?? 1000);
  const maxBatches = opts.maxBatches ?? 1000;
  const cutoff = nowMs - opts.maxAgeMs;
  // Every group has handled everything at or below its position.
  const minPos = await db.get<{ p: unknown; n: unknown }>(`SELECT MIN(position) AS p, COUNT(*) AS n FROM ${GROUPS}`);
  const limit = big(minPos?.n) > 0n ? big(minPos?.p) : await maxId(db);
  let deleted = 0;
  let floor = 0n;
  for (let i = 0; i < maxBatches; i++) {
    // The id of the batch-th oldest deletable event, else the last one.
    let upper = await db.get<{ id: unknown }>(
      `SELECT id FROM ${LOG} WHERE id <= ? AND created_ms < ? ORDER BY id LIMIT 1 OFFSET ${batch - 1}`,
      [limit, cutoff],
    );
    upper ??= await db.get<{ id: unknown }>(`SELECT MAX(id) AS id FROM ${LOG} WHERE id <= ? AND created_ms < ?`, [
      limit,
      cutoff,
    ]);
    if (upper?.id == null) break;
    const to = big(upper.id);
    const n = await readCommitted(db, async (x) => {
      const r = await x.run(`DELETE FROM ${LOG} WHERE id <= ? AND created_ms < ?`, [to, cutoff]);
      await x.run(`DELETE FROM ${PROCESSED} WHERE event_id <= ?`, [to]);
      await raiseFloor(x, to);
      return r.changes;
    });
    deleted += n;
    floor = to;
    if (n < batch) break;
    if (opts.pauseMs !== 0) await new Promise((r) => setTimeout(r, opts.pauseMs ?? 5));
  }
  const stored = await db.get<{ v: unknown }>(`SELECT value AS v FROM ${META} WHERE name = 'retention_floor'`);
  return { deleted, floor: big(stored?.v) > floor ? big(stored?.v) : floor };
}

async function maxId(db: SqlExecutor): Promise<bigint> {
  return big((await db.get<{ m: unknown }>(`SELECT MAX(id) AS m FROM ${LOG}`))?.m);
}

/** The row exists from ensureEventTables. */
async function raiseFloor(x: SqlExecutor, to: bigint): Promise<void> {
  await x.run(`UPDATE ${META} SET value = ? WHERE name = 'retention_floor' AND value < ?`, [to, to]);
}

/** Runs `fn` in a transaction; on MySQL at READ COMMITTED (no gap locks). */
async function readCommitted<T>(db: SqlDb, fn: (x: SqlExecutor) => Promise<T>): Promise<T> {
  if (db.dialect !== "mysql") return db.transaction(fn);
  return db.withConnection(async (c) => {
    await c.exec("SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION");
    try {
      const out = await fn(c);
      await c.exec("COMMIT");
      return out;
    } catch (err) {
      await c.exec("ROLLBACK").catch(() => undefined);
      throw err;
    }
  });
}
