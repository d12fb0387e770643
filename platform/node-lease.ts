/**
 * Node ids leased from the SQL store, so that bundles sharing a store never
 * make the same id (platform/ids.ts: 10 bits of every id are the node id).
 * A bundle started without `--node-id` claims one here at boot, renews the
 * lease on a timer well within its TTL, and releases it on a clean shutdown;
 * a killed bundle's id becomes free once its lease expires.
 *
 *   orbit_node_leases   one row per node id ever leased (at most 1024)
 *     owner             who holds it (host/pid/random, unique per claim); NULL once released
 *     epoch             bumped by every claim, renewal and release
 *     lease_until_ms    the lease's end, on the database's clock
 *     ceiling_ms        the last id-millisecond its holder may use; the next holder starts after it
 *
 * Claiming is atomic in both dialects: an id never leased is taken with an
 * INSERT (the node id is the primary key: a racing claimer gets a duplicate
 * key and tries the next id), an expired or released one with a conditional
 * UPDATE (`… WHERE epoch = <read> AND lease_until_ms < now`: one claimer
 * changes the row, the other changes nothing and moves on). A renewal is an
 * UPDATE on the owner it claimed with; if it changes nothing, another
 * process took the id after the lease expired: the lease is lost, the
 * generator makes no more ids and the owner is told (the bundle stops and
 * exits non-zero).
 *
 * The clocks. Expiry is decided on the database's clock only (one clock for
 * every claimer). The ids themselves carry the holder's wall clock, so a
 * collision is also ruled out without trusting any clock: each holder
 * publishes in the row, with every claim and renewal, the millisecond its
 * ids may reach (`ceiling_ms`: its clock then + the TTL) and makes no id past
 * the ceiling it has seen committed; the next holder makes ids only after
 * that ceiling. A holder that cannot renew (store unreachable) therefore
 * stops making ids about one TTL after its last renewal (calls answer
 * `unavailable`) and resumes when a renewal succeeds; if its lease was taken
 * meanwhile its ids and the new holder's are still in disjoint milliseconds.
 * A holder whose clock runs ahead hands a later start to the next holder,
 * whose ids then carry that (future) time until its clock catches up.
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { IdGenerator, MAX_NODE } from "./ids.js";
import type { Logger } from "./log.js";
import { isDuplicateKey, type Dialect, type SqlDb, type SqlExecutor } from "./storage/driver.js";

export const NODE_LEASES = "orbit_node_leases";

/** Default lease TTL: long enough for a stalled store or a paused process to recover, short enough to reuse ids soon. */
export const NODE_LEASE_TTL_MS = 30_000;

const SQLITE = `CREATE TABLE IF NOT EXISTS ${NODE_LEASES} (
  node_id INTEGER NOT NULL PRIMARY KEY,
  owner TEXT,
  epoch INTEGER NOT NULL,
  lease_until_ms INTEGER NOT NULL,
  ceiling_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
)`;

const MYSQL = `CREATE TABLE IF NOT EXISTS ${NODE_LEASES} (
  node_id INT NOT NULL,
  owner VARCHAR(255) NULL,
  epoch BIGINT NOT NULL,
  lease_until_ms BIGINT NOT NULL,
  ceiling_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  PRIMARY KEY (node_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

/** "Now" in milliseconds on the database's clock. */
function nowSql(dialect: Dialect): string {
  return dialect === "mysql"
    ? "CAST(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 AS SIGNED)"
    : "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";
}

/**
 * Creates the lease table if it does not exist (every bundle, even with --no-migrate). A plain
 * read first: once the table exists, a boot runs no DDL for it (docs/operations.md, the
 * dictionary latch).
 */
export async function ensureNodeLeaseTable(db: SqlExecutor): Promise<void> {
  try {
    await db.get(`SELECT node_id FROM ${NODE_LEASES} LIMIT 1`);
    return;
  } catch {
    // Missing (or the store is down, which the CREATE reports).
  }
  await db.exec(db.dialect === "mysql" ? MYSQL : SQLITE);
}

/**
 * Who holds a live lease on node id `nodeId`, if anyone (for a bundle given that id with
 * --node-id, which does not lease: it warns). Undefined too when the table does not exist.
 */
export async function nodeLeaseHolder(db: SqlExecutor, nodeId: number): Promise<string | undefined> {
  try {
    const r = await db.get<{ owner: unknown }>(
      `SELECT owner FROM ${NODE_LEASES} WHERE node_id = ? AND owner IS NOT NULL AND lease_until_ms >= ${nowSql(db.dialect)}`,
      [nodeId],
    );
    return r ? String(r.owner) : undefined;
  } catch {
    return undefined; // no lease table: nothing was ever leased here
  }
}

/**
 * Of `nodeIds`, those whose lease has ended (expired on the database's clock, or released): their
 * holder is gone. Ids never leased here (no row, or no lease table: --node-id) are not answered.
 */
export async function expiredNodeIds(db: SqlExecutor, nodeIds: readonly number[]): Promise<Set<number>> {
  if (nodeIds.length === 0) return new Set();
  try {
    const rows = await db.all<{ node_id: unknown }>(
      `SELECT node_id FROM ${NODE_LEASES} WHERE node_id IN (${nodeIds.map(() => "?").join(", ")}) AND (owner IS NULL OR lease_until_ms < ${nowSql(db.dialect)})`,
      [...nodeIds],
    );
    return new Set(rows.map((r) => Number(r.node_id)));
  } catch {
    return new Set(); // no lease table
  }
}

export interface NodeLeaseOptions {
  readonly log: Logger;
  /** Default NODE_LEASE_TTL_MS. */
  readonly ttlMs?: number;
  /** How often the lease is renewed; default a third of the TTL. */
  readonly renewEveryMs?: number;
  /** Called once if the lease is lost (another process holds the id now); the generator already refuses ids. */
  readonly onLost?: (err: Error) => void;
  /** The wall clock of the ids (tests). */
  readonly now?: () => number;
  /** A readable owner prefix; default `<host>/pid-<pid>`. */
  readonly owner?: string;
}

/**
 * Takes node id `id` for `owner`: a row never written is inserted (a racing claimer gets a
 * duplicate key), an expired or released one (read at `epoch`) updated on that epoch. False when
 * another claimer got it first.
 */
async function take(
  db: SqlDb,
  id: number,
  epoch: number | undefined,
  owner: string,
  ttlMs: number,
  ceiling: number,
): Promise<boolean> {
  const dbNow = nowSql(db.dialect);
  if (epoch === undefined) {
    try {
      await db.run(
        `INSERT INTO ${NODE_LEASES} (node_id, owner, epoch, lease_until_ms, ceiling_ms, updated_ms)
         VALUES (?, ?, 1, ${dbNow} + ?, ?, ${dbNow})`,
        [id, owner, ttlMs, ceiling],
      );
      return true;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      return false; // another process inserted it first
    }
  }
  const r = await db.run(
    `UPDATE ${NODE_LEASES} SET owner = ?, epoch = epoch + 1, lease_until_ms = ${dbNow} + ?, ceiling_ms = ?,
       updated_ms = ${dbNow}
     WHERE node_id = ? AND epoch = ? AND lease_until_ms < ${dbNow}`,
    [owner, ttlMs, ceiling, id, epoch],
  );
  return r.changes === 1;
}

/** The lease's row as claimers read it. */
interface Slot {
  readonly nodeId: number;
  readonly epoch: number;
  readonly ceilingMs: number;
  readonly expired: boolean;
}

export class NodeLostError extends Error {
  override readonly name = "NodeLostError";
}

/** A leased node id and its bounded generator. */
export class NodeLease {
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private failing = false;
  private state: "held" | "lost" | "released" = "held";

  private constructor(
    private readonly db: SqlDb,
    readonly nodeId: number,
    /** Unique per claim: renewals and the release match on it. */
    readonly owner: string,
    readonly ids: IdGenerator,
    private readonly opts: NodeLeaseOptions,
    private readonly ttlMs: number,
    /** The generator makes ids only within the lease (claim); not for an id given with --node-id. */
    private readonly bounded = true,
  ) {}

  /**
   * Claims the lowest node id that is free (never leased, released, or its
   * lease expired) and returns its lease, not yet renewing (`start`).
   * Throws if all 1024 are held.
   */
  static async claim(db: SqlDb, opts: NodeLeaseOptions): Promise<NodeLease> {
    const ttlMs = opts.ttlMs ?? NODE_LEASE_TTL_MS;
    const now = opts.now ?? Date.now;
    const owner = `${opts.owner ?? `${hostname()}/pid-${process.pid}`}/${randomBytes(4).toString("hex")}`.slice(0, 255);
    await ensureNodeLeaseTable(db);
    const dbNow = nowSql(db.dialect);
    for (let round = 0; round < 5; round++) {
      const rows = await db.all<Record<string, unknown>>(
        `SELECT node_id, epoch, ceiling_ms, CASE WHEN lease_until_ms < ${dbNow} THEN 1 ELSE 0 END AS expired
         FROM ${NODE_LEASES} ORDER BY node_id`,
      );
      const slots = new Map<number, Slot>(
        rows.map((r) => {
          const s = {
            nodeId: Number(r.node_id),
            epoch: Number(r.epoch),
            ceilingMs: Number(r.ceiling_ms),
            expired: Number(r.expired) === 1,
          };
          return [s.nodeId, s];
        }),
      );
      for (let id = 0; id <= MAX_NODE; id++) {
        const slot = slots.get(id);
        if (slot && !slot.expired) continue;
        const floor = slot?.ceilingMs ?? 0;
        const ceiling = Math.max(now(), floor) + ttlMs;
        if (!(await take(db, id, slot?.epoch, owner, ttlMs, ceiling))) continue;
        const ids = new IdGenerator(id, now);
        ids.startAfter(floor);
        ids.limit(ceiling);
        return new NodeLease(db, id, owner, ids, opts, ttlMs);
      }
      if (slots.size > MAX_NODE && [...slots.values()].every((s) => !s.expired)) break;
    }
    throw new Error(
      `no node id is free: all ${MAX_NODE + 1} are leased in ${NODE_LEASES} (or claims kept racing); ` +
        "stop some bundles, wait for killed ones' leases to expire, or give --node-id",
    );
  }

  /**
   * Claims exactly `nodeId` (a bundle given --node-id) if no live process holds it, so that other
   * nodes can tell when this one is gone (expiredNodeIds: media's lost uploads, per-node consumer
   * groups) and a later claimer of the id starts after its last id. Unlike claim(), the generator
   * is not bounded by the lease (the operator chose the id; an unreachable store does not stop
   * it), and a lost lease is only reported. Undefined when a live lease is held by someone else.
   */
  static async claimExact(db: SqlDb, nodeId: number, opts: NodeLeaseOptions): Promise<NodeLease | undefined> {
    const ttlMs = opts.ttlMs ?? NODE_LEASE_TTL_MS;
    const now = opts.now ?? Date.now;
    const owner = `${opts.owner ?? `${hostname()}/pid-${process.pid}`}/${randomBytes(4).toString("hex")}`.slice(0, 255);
    await ensureNodeLeaseTable(db);
    const dbNow = nowSql(db.dialect);
    for (let round = 0; round < 3; round++) {
      const r = await db.get<Record<string, unknown>>(
        `SELECT epoch, ceiling_ms, CASE WHEN lease_until_ms < ${dbNow} THEN 1 ELSE 0 END AS expired
         FROM ${NODE_LEASES} WHERE node_id = ?`,
        [nodeId],
      );
      if (r && Number(r.expired) !== 1) return undefined;
      const floor = r ? Number(r.ceiling_ms) : 0;
      const ceiling = Math.max(now(), floor) + ttlMs;
      if (!(await take(db, nodeId, r ? Number(r.epoch) : undefined, owner, ttlMs, ceiling))) continue;
      const ids = new IdGenerator(nodeId, now);
      ids.startAfter(floor);
      return new NodeLease(db, nodeId, owner, ids, { ...opts }, ttlMs, false);
    }
    return undefined;
  }

  /** Whether the lease is still held (false once lost or released). */
  get held(): boolean {
    return this.state === "held";
  }

  /** Starts renewing on a timer. */
  start(): void {
    if (this.timer || this.state !== "held") return;
    const every = this.opts.renewEveryMs ?? Math.floor(this.ttlMs / 3);
    this.timer = setInterval(() => void this.renew(), every);
    this.timer.unref();
  }

  /**
   * Renews the lease once (the timer's work; tests call it). A store error
   * is logged (once until a renewal succeeds) and left to the next tick; a
   * renewal that finds the id taken by another owner loses the lease.
   */
  renew(): Promise<void> {
    this.renewing ??= this.renewOnce().finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  private async renewOnce(): Promise<void> {
    if (this.state !== "held") return;
    const ceiling = Math.max(this.opts.now?.() ?? Date.now(), this.ids.lastIdMs) + this.ttlMs;
    const dbNow = nowSql(this.db.dialect);
    let changes: number;
    try {
      const r = await this.db.run(
        `UPDATE ${NODE_LEASES} SET epoch = epoch + 1, lease_until_ms = ${dbNow} + ?, ceiling_ms = ?, updated_ms = ${dbNow}
         WHERE node_id = ? AND owner = ?`,
        [this.ttlMs, ceiling, this.nodeId, this.owner],
      );
      changes = r.changes;
    } catch (err) {
      if (!this.failing) {
        this.failing = true;
        this.opts.log.warn(
          { err, nodeId: this.nodeId },
          "node id lease: renewal failed; ids stop when the lease runs out unless a renewal succeeds first",
        );
      }
      return;
    }
    if (this.state !== "held") return; // released meanwhile
    if (changes === 1) {
      if (this.bounded) this.ids.limit(ceiling);
      if (this.failing) {
        this.failing = false;
        this.opts.log.info({ nodeId: this.nodeId }, "node id lease: renewed again");
      }
      return;
    }
    this.state = "lost";
    clearInterval(this.timer);
    const err = new NodeLostError(
      `node id ${this.nodeId}: the lease was lost (another process claimed the id after it expired); no more ids`,
    );
    if (this.bounded) this.ids.close(err);
    this.opts.onLost?.(err);
  }

  /** Stops renewing and frees the id for the next claimer; the generator makes no more ids. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    if (this.state !== "held") return;
    this.state = "released";
    if (this.bounded) this.ids.close(new NodeLostError(`node id ${this.nodeId}: the lease was released; no more ids`));
    await this.renewing?.catch(() => undefined);
    // The next holder starts after the last millisecond actually used (not the published ceiling).
    await this.db.run(
      `UPDATE ${NODE_LEASES} SET owner = NULL, epoch = epoch + 1, lease_until_ms = 0, ceiling_ms = ?,
         updated_ms = ${nowSql(this.db.dialect)}
       WHERE node_id = ? AND owner = ?`,
      [Math.max(this.ids.lastIdMs, 0), this.nodeId, this.owner],
    );
  }
}
