/**
 * SQL for consumer groups (orbit_event_groups): the durable position, the
 * lease that makes one process at a time the group's consumer, and the retry
 * state of the event being retried.
 *
 * Fencing: a lease holder is (owner, epoch). Taking the lease or replaying
 * the group bumps the epoch, and every position write says
 * `WHERE owner = ? AND epoch = ?`, so a consumer that lost its lease (or whose
 * group was replayed) cannot move the position: its write matches no row and
 * LeaseLostError rolls its transaction back.
 */
import { isDuplicateKey, type SqlDb, type SqlExecutor } from "../storage/driver.js";
import { LeaseLostError, UnknownGroupError } from "./errors.js";
import { big, GROUPS, LOG, num, nowMsSql } from "./tables.js";

export interface GroupRow {
  readonly name: string;
  /** Every event id at or below this was handled (or dead-lettered). */
  readonly position: bigint;
  readonly topics: string[];
  readonly owner: string | null;
  readonly leaseUntilMs: number;
  readonly epoch: bigint;
  readonly retryEventId: bigint | null;
  readonly retryAttempts: number;
  readonly retryError: string | null;
  readonly handled: bigint;
  readonly updatedMs: number;
}

/** A lease held by this process on a group. */
export interface Lease {
  readonly group: string;
  readonly owner: string;
  readonly epoch: bigint;
}

const COLS =
  "group_name, position, topics, owner, lease_until_ms, epoch, retry_event_id, retry_attempts, retry_error, handled, updated_ms";

function toRow(r: Record<string, unknown>): GroupRow {
  let topics: string[] = [];
  try {
    topics = JSON.parse(String(r.topics)) as string[];
  } catch {
    /* a hand-edited row: show no topics rather than fail */
  }
  return {
    name: String(r.group_name),
    position: big(r.position),
    topics,
    owner: r.owner == null ? null : String(r.owner),
    leaseUntilMs: num(r.lease_until_ms),
    epoch: big(r.epoch),
    retryEventId: r.retry_event_id == null ? null : big(r.retry_event_id),
    retryAttempts: num(r.retry_attempts),
    retryError: r.retry_error == null ? null : String(r.retry_error),
    handled: big(r.handled),
    updatedMs: num(r.updated_ms),
  };
}

export class GroupStore {
  private readonly now: string;
  constructor(private readonly db: SqlDb) {
    this.now = nowMsSql(db.dialect);
  }

  /** Creates the group at `startPosition` if it does not exist; keeps its topics current. */
  async ensure(name: string, topics: readonly string[], startPosition: bigint): Promise<GroupRow> {
    const topicsJson = JSON.stringify([...topics].sort());
    try {
      await this.db.run(
        `INSERT INTO ${GROUPS} (group_name, position, topics, updated_ms) VALUES (?, ?, ?, ${this.now})`,
        [name, startPosition, topicsJson],
      );
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      await this.db.run(`UPDATE ${GROUPS} SET topics = ? WHERE group_name = ? AND topics <> ?`, [
        topicsJson,
        name,
        topicsJson,
      ]);
    }
    return (await this.load(name))!;
  }

  async load(name: string): Promise<GroupRow | undefined> {
    const r = await this.db.get<Record<string, unknown>>(`SELECT ${COLS} FROM ${GROUPS} WHERE group_name = ?`, [name]);
    return r ? toRow(r) : undefined;
  }

  async list(): Promise<GroupRow[]> {
    const rows = await this.db.all<Record<string, unknown>>(`SELECT ${COLS} FROM ${GROUPS} ORDER BY group_name`);
    return rows.map(toRow);
  }

  /** Takes the lease if it is free, expired, or already ours; null if another owner holds it. */
  async acquire(name: string, owner: string, ttlMs: number): Promise<{ lease: Lease; row: GroupRow } | null> {
    const r = await this.db.run(
      `UPDATE ${GROUPS} SET owner = ?, lease_until_ms = ${this.now} + ?, epoch = epoch + 1
       WHERE group_name = ? AND (owner IS NULL OR owner = ? OR lease_until_ms < ${this.now})`,
      [owner, ttlMs, name, owner],
    );
    if (r.changes === 0) return null;
    const row = await this.load(name);
    if (!row || row.owner !== owner) return null;
    return { lease: { group: name, owner, epoch: row.epoch }, row };
  }

  /** Extends the lease; false if it was lost (taken over or the group replayed). */
  async renew(lease: Lease, ttlMs: number): Promise<boolean> {
    const r = await this.db.run(
      `UPDATE ${GROUPS} SET lease_until_ms = ${this.now} + ? WHERE group_name = ? AND owner = ? AND epoch = ?`,
      [ttlMs, lease.group, lease.owner, lease.epoch],
    );
    return r.changes > 0;
  }

  /** Gives the lease up so another process can take it at once. */
  async release(lease: Lease): Promise<void> {
    await this.db.run(
      `UPDATE ${GROUPS} SET owner = NULL, lease_until_ms = 0 WHERE group_name = ? AND owner = ? AND epoch = ?`,
      [lease.group, lease.owner, lease.epoch],
    );
  }

  /**
   * Moves the position to `position` (through `exec`: the handler's
   * transaction, or the store). Throws LeaseLostError if the lease is gone.
   */
  async commit(exec: SqlExecutor, lease: Lease, position: bigint, handled: number): Promise<void> {
    const r = await exec.run(
      `UPDATE ${GROUPS} SET position = ?, handled = handled + ?, retry_event_id = NULL, retry_attempts = 0,
         retry_error = NULL, updated_ms = ${this.now}
       WHERE group_name = ? AND owner = ? AND epoch = ?`,
      [position, handled, lease.group, lease.owner, lease.epoch],
    );
    if (r.changes === 0) throw lost(lease);
  }

  /** Checks, inside `exec`'s transaction, that the lease is still held (a fenced no-op write). */
  async assertHeld(exec: SqlExecutor, lease: Lease): Promise<void> {
    const r = await exec.run(
      `UPDATE ${GROUPS} SET updated_ms = ${this.now} WHERE group_name = ? AND owner = ? AND epoch = ?`,
      [lease.group, lease.owner, lease.epoch],
    );
    if (r.changes === 0) throw lost(lease);
  }

  /** Records that `eventId` failed `attempts` times (survives restarts). */
  async setRetry(lease: Lease, eventId: bigint, attempts: number, error: string): Promise<void> {
    const r = await this.db.run(
      `UPDATE ${GROUPS} SET retry_event_id = ?, retry_attempts = ?, retry_error = ?, updated_ms = ${this.now}
       WHERE group_name = ? AND owner = ? AND epoch = ?`,
      [eventId, attempts, error.slice(0, 2000), lease.group, lease.owner, lease.epoch],
    );
    if (r.changes === 0) throw lost(lease);
  }

  /**
   * Rewinds (or forwards) a group so its next event is `fromId`. The running
   * consumer, in whatever process, is fenced out of its current batch and
   * resumes from the new position.
   */
  async replay(name: string, fromId: bigint): Promise<GroupRow> {
    if (fromId < 1n) fromId = 1n;
    const head = await this.db.get<{ m: unknown }>(`SELECT MAX(id) AS m FROM ${LOG}`);
    const max = big(head?.m);
    if (fromId > max + 1n) {
      throw new RangeError(`cannot replay group "${name}" from event ${fromId}: the log ends at ${max}`);
    }
    const r = await this.db.run(
      `UPDATE ${GROUPS} SET position = ?, epoch = epoch + 1, retry_event_id = NULL, retry_attempts = 0,
         retry_error = NULL, updated_ms = ${this.now} WHERE group_name = ?`,
      [fromId - 1n, name],
    );
    if (r.changes === 0) throw await this.unknown(name);
    return (await this.load(name))!;
  }

  /** Deletes a group (its position and lease); its dead letters stay until purged. */
  async drop(name: string): Promise<void> {
    const r = await this.db.run(`DELETE FROM ${GROUPS} WHERE group_name = ?`, [name]);
    if (r.changes === 0) throw await this.unknown(name);
  }

  async unknown(name: string): Promise<UnknownGroupError> {
    const names = (await this.list()).map((g) => g.name);
    return new UnknownGroupError(
      `unknown consumer group "${name}"` + (names.length ? ` (groups: ${names.join(", ")})` : " (no groups yet)"),
    );
  }
}

function lost(lease: Lease): LeaseLostError {
  return new LeaseLostError(
    `consumer of group "${lease.group}" (owner ${lease.owner}, epoch ${lease.epoch}) lost its lease ` +
      "(taken over by another process, or the group was replayed)",
  );
}
