/**
 * The settled frontier: the highest id F such that every id <= F is settled
 * (committed and visible, or never going to commit). Consumer groups read
 * only ids <= F, so they never skip an event that commits late.
 *
 * Ids are assigned at INSERT but transactions commit in another order, so the
 * log can show id 12 while id 11 is still in flight (it will appear) or was
 * rolled back (it never will). Each advance counts the next ids after F: if
 * they are contiguous F jumps to the last; otherwise F stops before the first
 * hole, and the hole is resolved:
 *
 *  - SQLite: one writer at a time (the write lock is held from the first
 *    write to COMMIT, across processes), so ids are assigned in commit order
 *    and a hole can only be a deleted or rolled-back row: it is settled now.
 *  - MySQL/MariaDB: a locking read (LOCK IN SHARE MODE, READ COMMITTED so no
 *    gap locks) over the hole blocks until every transaction that has
 *    inserted a row there commits or rolls back, however long it runs. If
 *    rows are found they were in flight: scan again. If none are found the
 *    hole is rolled back, burnt by a failed insert, or (for microseconds)
 *    reserved by an INSERT that has not put its first row in the index yet.
 *    To cover that last window the hole is declared dead only by a probe
 *    that starts `graceMs` after the hole was first seen.
 *
 * See docs/events.md ("Gap safety") for the argument and the alternatives.
 */
import type { SqlDb } from "../storage/driver.js";
import type { IdRange } from "./log-writer.js";
import { big, GROUPS, LOG, META } from "./tables.js";

export interface FrontierOptions {
  /** How long an empty hole must stay empty before it is declared dead (MySQL). Default 1000 ms. */
  readonly graceMs?: number;
  /** Ids examined per query. Default 8192; doubles (to 1M) while the log stays contiguous, to cross a backlog fast. */
  readonly scanLimit?: number;
  /** Lock wait of a probe before it gives up and retries later, in seconds. Default 2. */
  readonly probeLockWaitSec?: number;
  /** Told about every hole declared dead (for logs and metrics). */
  readonly onDeadHole?: (start: bigint, end: bigint, waitedMs: number) => void;
}

interface Hole {
  readonly start: bigint;
  readonly end: bigint;
  readonly since: number;
}

const LOCK_WAIT_CODES = new Set(["ER_LOCK_WAIT_TIMEOUT", "ER_LOCK_DEADLOCK"]);
/** Largest step of a contiguity count. */
const MAX_SCAN = 1 << 20;

export class Frontier {
  private f = 0n;
  private running: Promise<boolean> | null = null;
  private holes: Hole[] = [];
  /** When a stalled hole should be examined again (epoch ms), or 0 when none is. */
  recheckAt = 0;
  /** Ids declared dead so far (holes that will never fill). */
  deadIds = 0n;
  /** Probes that waited their whole lock wait on a writer still holding rows in a hole (MySQL). */
  busyProbes = 0;
  private readonly graceMs: number;
  private readonly scanLimit: number;
  private readonly lockWaitSec: number;
  private readonly countSql = new Map<number, string>();
  private readonly idsSql: string;
  /** Whether this process's INSERTs take consecutive ids (see noteCommitted); set by the bus once it checked. */
  trustRanges = false;
  private readonly pendingLocal: IdRange[] = [];

  constructor(
    private readonly db: SqlDb,
    private readonly opts: FrontierOptions = {},
  ) {
    this.graceMs = opts.graceMs ?? 1000;
    this.scanLimit = opts.scanLimit ?? 8192;
    this.lockWaitSec = Math.max(1, Math.ceil(opts.probeLockWaitSec ?? 2));
    this.idsSql = `SELECT id FROM ${LOG} WHERE id > ? AND id <= ? ORDER BY id`;
  }

  private count(limit: number): string {
    let sql = this.countSql.get(limit);
    if (!sql) {
      sql = `SELECT COUNT(*) AS n, MAX(id) AS m FROM (SELECT id FROM ${LOG} WHERE id > ? ORDER BY id LIMIT ${limit}) t`;
      this.countSql.set(limit, sql);
    }
    return sql;
  }

  /** Every id at or below this is settled. */
  get value(): bigint {
    return this.f;
  }

  /**
   * Starts from the highest known settled point: the retention floor or the
   * furthest group position (positions only ever come from a frontier).
   */
  async init(): Promise<void> {
    const floor = await this.db.get<{ v: unknown }>(`SELECT value AS v FROM ${META} WHERE name = 'retention_floor'`);
    const pos = await this.db.get<{ v: unknown }>(`SELECT MAX(position) AS v FROM ${GROUPS}`);
    this.raiseTo(big(floor?.v));
    this.raiseTo(big(pos?.v));
  }

  /**
   * This process's own committed INSERTs, each a block of consecutive ids
   * (`trustRanges`: the bus checked the store hands them out that way). A
   * block that starts right above the frontier is settled as a whole — every
   * id in it committed, and no other transaction holds one — so the frontier
   * moves over it without a query. Blocks are applied in order; one that does
   * not start at F+1 (another process wrote in between) stops, and the next
   * scan finds the rest. Returns true if the frontier now covers every block.
   * While a scan is running, the blocks are applied when it ends.
   */
  noteCommitted(ranges: readonly IdRange[]): boolean {
    if (!this.trustRanges || ranges.length === 0) return false;
    if (this.running) {
      this.pendingLocal.push(...ranges);
      return false;
    }
    return this.applyLocal(ranges);
  }

  private applyLocal(ranges: readonly IdRange[]): boolean {
    for (const r of ranges) {
      if (r.last <= this.f) continue;
      if (r.first !== this.f + 1n) return false;
      this.f = r.last;
    }
    return true;
  }

  /** Moves the frontier up to a point known to be settled (a stored group position). */
  raiseTo(settled: bigint): void {
    this.moveTo(settled);
  }

  /** The frontier only ever moves up. */
  private moveTo(settled: bigint): void {
    if (settled > this.f) this.f = settled;
  }

  /**
   * Advances as far as the log allows; true if the frontier moved. Calls
   * made while one runs share its result (advances never overlap).
   */
  advance(): Promise<boolean> {
    this.running ??= this.advanceAndApply();
    return this.running;
  }

  private async advanceAndApply(): Promise<boolean> {
    const before = this.f;
    try {
      await this.advanceOnce();
    } finally {
      this.running = null;
      // Blocks committed while the scan ran (noteCommitted queued them).
      if (this.pendingLocal.length) this.applyLocal(this.pendingLocal.splice(0));
    }
    return this.f > before;
  }

  private async advanceOnce(): Promise<void> {
    this.recheckAt = 0;
    let limit = this.scanLimit;
    for (;;) {
      const F = this.f;
      const r = await this.db.get<{ n: unknown; m: unknown }>(this.count(limit), [F]);
      const n = big(r?.n);
      if (n === 0n) break;
      const m = big(r?.m);
      if (m - F === n) {
        this.moveTo(m);
        if (n < BigInt(limit)) break;
        limit = Math.min(limit * 2, MAX_SCAN); // a backlog: take bigger steps
        continue;
      }
      limit = this.scanLimit;
      const ids = (await this.db.all<{ id: unknown }>(this.idsSql, [F, m])).map((x) => big(x.id));
      this.noteHoles(F, ids);
      let i = 0;
      while (i < ids.length && ids[i] === this.f + 1n) this.moveTo(ids[i++]!);
      if (i === ids.length) continue; // rows vanished under us (retention): count again
      if (!(await this.settle(this.f + 1n, ids[i]! - 1n))) break;
    }
    if (this.holes.length) this.holes = this.holes.filter((h) => h.end > this.f);
  }

  /** Resolves the hole [start, end] right above the frontier; true to keep scanning. */
  private async settle(start: bigint, end: bigint): Promise<boolean> {
    if (this.db.dialect === "sqlite") {
      this.moveTo(end);
      this.deadIds += end - start + 1n;
      return true;
    }
    const since = this.firstSeen(start, end);
    const probeStart = Date.now();
    const found = await this.probe(start, end);
    if (found === "busy") {
      this.busyProbes++;
      this.recheckAt = Date.now() + 20; // a writer still holds rows in the hole
      return false;
    }
    if (found > 0) return true; // in-flight rows committed: scan them
    const waited = probeStart - since;
    if (waited >= this.graceMs) {
      this.moveTo(end);
      this.deadIds += end - start + 1n;
      this.opts.onDeadHole?.(start, end, waited);
      return true;
    }
    this.recheckAt = since + this.graceMs;
    return false;
  }

  /**
   * Starts the grace clock of every hole in a scanned id list, not only the
   * first: holes left by several rollbacks then wait out their grace periods
   * side by side instead of one after another.
   */
  private noteHoles(from: bigint, ids: readonly bigint[]): void {
    if (this.db.dialect === "sqlite") return;
    let prev = from;
    for (const id of ids) {
      if (id > prev + 1n) this.firstSeen(prev + 1n, id - 1n);
      prev = id;
    }
  }

  /** When any part of [start, end] was first seen missing (now, if never). */
  private firstSeen(start: bigint, end: bigint): number {
    let since = Infinity;
    for (const h of this.holes) if (h.start <= end && h.end >= start && h.since < since) since = h.since;
    if (since === Infinity) {
      since = Date.now();
      this.holes.push({ start, end, since });
    }
    return since;
  }

  /**
   * MySQL: a locking read of [start, end] in READ COMMITTED. It waits for any
   * transaction holding an uncommitted row in the range and returns how many
   * rows exist afterwards; "busy" if the wait timed out.
   */
  private probe(start: bigint, end: bigint): Promise<number | "busy"> {
    return this.db.withConnection(async (c) => {
      await c.exec(
        `SET SESSION innodb_lock_wait_timeout = ${this.lockWaitSec}; ` +
          "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION",
      );
      try {
        const rows = await c.all(`SELECT id FROM ${LOG} WHERE id BETWEEN ? AND ? LOCK IN SHARE MODE`, [start, end]);
        await c.exec("COMMIT");
        return rows.length;
      } catch (err) {
        await c.exec("ROLLBACK").catch(() => undefined);
        if (LOCK_WAIT_CODES.has((err as { code?: string }).code ?? "")) return "busy" as const;
        throw err;
      } finally {
        await c.exec("SET SESSION innodb_lock_wait_timeout = DEFAULT").catch(() => undefined);
      }
    });
  }
}
