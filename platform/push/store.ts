/**
 * The durable side of push: every user's ordered stream of updates in the SQL
 * store (tables declared in proto/internal/orbit/push/v1/tables.proto).
 *
 *   push_heads   (user_id) → last_sequence, last_seen_ms
 *   push_stream  (user_id, sequence) → at_ms, payload
 *
 * An append increments the user's head under its row lock and inserts the
 * row, in the caller's transaction: sequences of one user are gap-free and
 * commit in order (the next append waits for the lock until the previous
 * commits), so a reader that has sequence n and sees n+2 knows n+1 is
 * committed. Users of one append are locked in ascending id order (no
 * deadlock between two multi-user appends).
 */
import type { SqlExecutor, SqlTx, SqlValue } from "../storage/driver.js";

export const HEADS = "push_heads";
export const STREAM = "push_stream";

/** Users per statement when appending to many. */
const CHUNK = 500;

export interface StoredUpdate {
  readonly sequence: bigint;
  readonly atMs: bigint;
  /** An encoded Update without sequence and at_ms. */
  readonly payload: Uint8Array;
}

export interface StreamBounds {
  /** The user's latest sequence (0: none yet). */
  readonly last: bigint;
  /** The oldest sequence still kept, or undefined when none is. */
  readonly firstKept: bigint | undefined;
}

function q(exec: SqlExecutor, name: string): string {
  return exec.dialect === "mysql" ? `\`${name}\`` : `"${name}"`;
}

function big(v: unknown): bigint {
  return typeof v === "bigint" ? v : BigInt(v as number | string);
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function bytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  throw new Error("push_stream.payload: not bytes");
}

export class PushStore {
  /** Appends `payload` to each user's stream in `tx`; returns each user's new sequence (ascending user ids, deduplicated). */
  async append(
    tx: SqlTx,
    userIds: readonly bigint[],
    atMs: bigint,
    payload: Uint8Array,
  ): Promise<{ userIds: bigint[]; sequences: bigint[] }> {
    return (await this.appendMany(tx, [{ userIds, payload }], atMs))[0]!;
  }

  /**
   * Appends several payloads, each to its own users, in `tx` with a few
   * statements whatever their number: one head upsert per 500 users (each
   * user's head moves by how many entries name it), one read of the heads
   * and multi-row stream inserts. A user in several entries gets their
   * payloads in entry order, on consecutive sequences. Returns, per entry,
   * its users (ascending, deduplicated) and their new sequences.
   */
  async appendMany(
    tx: SqlTx,
    entries: readonly { readonly userIds: readonly bigint[]; readonly payload: Uint8Array }[],
    atMs: bigint,
  ): Promise<{ userIds: bigint[]; sequences: bigint[] }[]> {
    const perEntry = entries.map((e) => [...new Set(e.userIds)].sort(cmp));
    const counts = new Map<bigint, number>();
    for (const users of perEntry) for (const u of users) counts.set(u, (counts.get(u) ?? 0) + 1);
    const users = [...counts.keys()].sort(cmp);
    const heads = q(tx, HEADS);
    /** Each user's first sequence of this append. */
    const next = new Map<bigint, bigint>();
    for (let i = 0; i < users.length; i += CHUNK) {
      const chunk = users.slice(i, i + CHUNK);
      const tuples = chunk.map(() => "(?, ?, 0)").join(", ");
      const params = chunk.flatMap((u) => [u, counts.get(u)!]);
      let rows: unknown[][];
      if (tx.dialect === "sqlite") {
        rows = await tx.allValues(
          `INSERT INTO ${heads} (user_id, last_sequence, last_seen_ms) VALUES ${tuples} ` +
            "ON CONFLICT (user_id) DO UPDATE SET last_sequence = last_sequence + excluded.last_sequence RETURNING user_id, last_sequence",
          params,
        );
      } else {
        await tx.run(
          `INSERT INTO ${heads} (user_id, last_sequence, last_seen_ms) VALUES ${tuples} ` +
            "ON DUPLICATE KEY UPDATE last_sequence = last_sequence + VALUES(last_sequence)",
          params,
        );
        rows = await tx.allValues(
          `SELECT user_id, last_sequence FROM ${heads} WHERE user_id IN (${chunk.map(() => "?").join(", ")})`,
          chunk,
        );
      }
      for (const [u, s] of rows) {
        const user = big(u);
        next.set(user, big(s) - BigInt(counts.get(user)!) + 1n);
      }
    }
    const out: { userIds: bigint[]; sequences: bigint[] }[] = [];
    const rows: SqlValue[][] = [];
    perEntry.forEach((entryUsers, k) => {
      const sequences = entryUsers.map((u) => {
        const s = next.get(u);
        if (s === undefined) throw new Error(`push: no head for user ${u} after the append`);
        next.set(u, s + 1n);
        rows.push([u, s, atMs, entries[k]!.payload]);
        return s;
      });
      out.push({ userIds: entryUsers, sequences });
    });
    const stream = q(tx, STREAM);
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      await tx.run(
        `INSERT INTO ${stream} (user_id, sequence, at_ms, payload) VALUES ${chunk.map(() => "(?, ?, ?, ?)").join(", ")}`,
        chunk.flat(),
      );
    }
    return out;
  }

  /** Up to `limit` updates of the user after `after`, in order. */
  async read(exec: SqlExecutor, userId: bigint, after: bigint, limit: number): Promise<StoredUpdate[]> {
    const rows = await exec.allValues(
      `SELECT sequence, at_ms, payload FROM ${q(exec, STREAM)} WHERE user_id = ? AND sequence > ? ORDER BY sequence LIMIT ?`,
      [userId, after, limit],
    );
    return rows.map(([s, a, p]) => ({ sequence: big(s), atMs: big(a), payload: bytes(p) }));
  }

  async bounds(exec: SqlExecutor, userId: bigint): Promise<StreamBounds> {
    const head = await exec.getValues(`SELECT last_sequence FROM ${q(exec, HEADS)} WHERE user_id = ?`, [userId]);
    const first = await exec.getValues(`SELECT MIN(sequence) FROM ${q(exec, STREAM)} WHERE user_id = ?`, [userId]);
    return {
      last: head ? big(head[0]) : 0n,
      firstKept: first && first[0] !== null && first[0] !== undefined ? big(first[0]) : undefined,
    };
  }

  /** Records when users were last seen (their last connection closed, or they were active). */
  async touch(exec: SqlExecutor, userIds: readonly bigint[], ms: bigint): Promise<void> {
    const users = [...new Set(userIds)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (let i = 0; i < users.length; i += CHUNK) {
      const chunk = users.slice(i, i + CHUNK);
      const tuples = chunk.map(() => "(?, 0, ?)").join(", ");
      const params = chunk.flatMap((u) => [u, ms]);
      const heads = q(exec, HEADS);
      await exec.run(
        exec.dialect === "sqlite"
          ? `INSERT INTO ${heads} (user_id, last_sequence, last_seen_ms) VALUES ${tuples} ` +
              "ON CONFLICT (user_id) DO UPDATE SET last_seen_ms = MAX(last_seen_ms, excluded.last_seen_ms)"
          : `INSERT INTO ${heads} (user_id, last_sequence, last_seen_ms) VALUES ${tuples} ` +
              "ON DUPLICATE KEY UPDATE last_seen_ms = GREATEST(last_seen_ms, VALUES(last_seen_ms))",
        params,
      );
    }
  }

  /** When each user was last seen (0 if never); users without a row are left out. */
  async lastSeen(exec: SqlExecutor, userIds: readonly bigint[]): Promise<Map<bigint, bigint>> {
    const out = new Map<bigint, bigint>();
    if (userIds.length === 0) return out;
    const rows = await exec.allValues(
      `SELECT user_id, last_seen_ms FROM ${q(exec, HEADS)} WHERE user_id IN (${userIds.map(() => "?").join(", ")})`,
      [...userIds],
    );
    for (const [u, s] of rows) out.set(big(u), big(s));
    return out;
  }

  /** Deletes up to `batch` updates made before `beforeMs`; returns how many. */
  async sweep(exec: SqlExecutor, beforeMs: bigint, batch = 1000): Promise<number> {
    const stream = q(exec, STREAM);
    const r = await exec.run(
      exec.dialect === "sqlite"
        ? `DELETE FROM ${stream} WHERE (user_id, sequence) IN (SELECT user_id, sequence FROM ${stream} WHERE at_ms < ? LIMIT ?)`
        : `DELETE FROM ${stream} WHERE at_ms < ? LIMIT ?`,
      [beforeMs, batch],
    );
    return r.changes;
  }
}
