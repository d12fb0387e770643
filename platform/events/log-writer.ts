/**
 * Appends encoded events to the log with prepared multi-row INSERTs.
 *
 * A batch of n rows is cut into chunks whose sizes are powers of two (at most
 * `maxChunkRows`, and at most `maxChunkBytes` of payload), so each store
 * prepares at most log2(maxChunkRows)+1 distinct statements however batch
 * sizes vary, and a full batch is one statement.
 */
import type { SqlExecutor, SqlValue } from "../storage/driver.js";
import { LOG } from "./tables.js";

/** One encoded event, ready for the log. */
export interface LogRow {
  readonly topic: string;
  readonly key: string;
  readonly payload: Uint8Array;
  readonly createdMs: number;
}

/**
 * The ids one multi-row INSERT took. They are consecutive only where the
 * store hands a statement's ids out as one block (SQLite; InnoDB with
 * innodb_autoinc_lock_mode 0 or 1 and auto_increment_increment 1): the bus
 * checks that before it relies on them (Frontier.noteCommitted).
 */
export interface IdRange {
  readonly first: bigint;
  readonly last: bigint;
}

export interface ChunkLimits {
  /** Most rows in one INSERT (rounded down to a power of two). */
  readonly maxChunkRows: number;
  /** Most payload bytes in one INSERT (keeps statements under max_allowed_packet). */
  readonly maxChunkBytes: number;
}

export const DEFAULT_CHUNK_LIMITS: ChunkLimits = { maxChunkRows: 1024, maxChunkBytes: 4 << 20 };

const sqlBySize = new Map<number, string>();

/** The INSERT of `n` rows (cached text; the driver caches the prepared statement). */
export function insertSql(n: number): string {
  let sql = sqlBySize.get(n);
  if (!sql) {
    sql =
      `INSERT INTO ${LOG} (topic, event_key, payload, created_ms) VALUES ` +
      new Array(n).fill("(?, ?, ?, ?)").join(", ");
    sqlBySize.set(n, sql);
  }
  return sql;
}

/** Splits `rows` into chunk sizes (powers of two, largest first, within the limits). */
export function chunkSizes(rows: readonly LogRow[], limits: ChunkLimits = DEFAULT_CHUNK_LIMITS): number[] {
  const maxRows = 2 ** Math.floor(Math.log2(Math.max(1, limits.maxChunkRows)));
  const sizes: number[] = [];
  let i = 0;
  while (i < rows.length) {
    let size = Math.min(maxRows, 2 ** Math.floor(Math.log2(rows.length - i)));
    // Halve until the chunk's payload fits the byte budget (a lone row always goes).
    while (size > 1 && payloadBytes(rows, i, size) > limits.maxChunkBytes) size >>= 1;
    sizes.push(size);
    i += size;
  }
  return sizes;
}

function payloadBytes(rows: readonly LogRow[], from: number, n: number): number {
  let b = 0;
  for (let j = from; j < from + n; j++) b += rows[j]!.payload.byteLength + rows[j]!.key.length;
  return b;
}

/**
 * Inserts `rows` in order through `exec` (a transaction when the caller wants
 * all-or-nothing: the batcher wraps multi-chunk batches in one). Ids increase
 * in row order.
 */
export async function appendRows(
  exec: SqlExecutor,
  rows: readonly LogRow[],
  limits: ChunkLimits = DEFAULT_CHUNK_LIMITS,
  sizes: readonly number[] = chunkSizes(rows, limits),
  ranges?: IdRange[],
): Promise<void> {
  let i = 0;
  for (const size of sizes) {
    const params = new Array<SqlValue>(size * 4);
    for (let j = 0; j < size; j++) {
      const r = rows[i + j]!;
      params[j * 4] = r.topic;
      params[j * 4 + 1] = r.key;
      params[j * 4 + 2] = r.payload;
      params[j * 4 + 3] = r.createdMs;
    }
    const r = await exec.run(insertSql(size), params);
    if (ranges) {
      // MySQL reports the first id of a multi-row INSERT, SQLite the last.
      const first = exec.dialect === "mysql" ? r.lastInsertId : r.lastInsertId - BigInt(size - 1);
      ranges.push({ first, last: first + BigInt(size - 1) });
    }
    i += size;
  }
}
