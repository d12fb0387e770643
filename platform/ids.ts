/**
 * Time-ordered 64-bit ids: 41 bits of milliseconds since 2024-01-01T00:00Z,
 * 10 bits of node id, 12 bits of sequence. Ids from one generator strictly
 * increase; ids from different nodes sort by time to the millisecond.
 *
 * A generator on a leased node id (platform/node-lease.ts) is bounded: it
 * starts after the last millisecond the id's previous holder could have used
 * (`startAfter`), makes ids only up to the millisecond its lease reaches
 * (`limit`, raised by each renewal), and makes none once the lease is lost or
 * released (`close`). Two holders of one node id therefore never make ids in
 * the same millisecond, whatever their clocks say.
 */
import { StoreUnavailableError } from "./storage/unavailable.js";

export const ID_EPOCH_MS = 1_704_067_200_000n;
const NODE_BITS = 10n;
const SEQ_BITS = 12n;
/** The largest node id (10 bits). */
export const MAX_NODE = (1 << Number(NODE_BITS)) - 1;
const MAX_SEQ = (1 << Number(SEQ_BITS)) - 1;

export class IdGenerator {
  private lastMs = -1;
  private seq = 0;
  private readonly node: bigint;
  /** Ids are made only at or before this millisecond (a leased node id's reach). */
  private ceilingMs = Number.POSITIVE_INFINITY;
  private closed: Error | undefined;

  constructor(
    readonly nodeId: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > MAX_NODE) {
      throw new RangeError(`node id must be an integer in 0..${MAX_NODE}, got ${nodeId}`);
    }
    this.node = BigInt(nodeId);
  }

  /**
   * Throws StoreUnavailableError (Connect: unavailable) if the generator was
   * closed or its next id would pass its ceiling.
   */
  next(): bigint {
    if (this.closed) throw this.closed;
    let ms = this.now();
    let seq = this.seq;
    if (ms < this.lastMs) ms = this.lastMs; // clock went back: stay monotonic
    if (ms === this.lastMs) {
      seq++;
      if (seq > MAX_SEQ) {
        // Sequence exhausted within this millisecond: borrow the next one.
        ms = this.lastMs + 1;
        seq = 0;
      }
    } else {
      seq = 0;
    }
    if (ms > this.ceilingMs) {
      throw new StoreUnavailableError(
        "sql",
        `node id ${this.nodeId}: its lease was not renewed in time; no ids until it is (the SQL store is unreachable?)`,
      );
    }
    this.lastMs = ms;
    this.seq = seq;
    return ((BigInt(ms) - ID_EPOCH_MS) << (NODE_BITS + SEQ_BITS)) | (this.node << SEQ_BITS) | BigInt(seq);
  }

  /** The last millisecond an id was made at (or that `startAfter` set); -1 before any. */
  get lastIdMs(): number {
    return this.lastMs;
  }

  /** Ids made from now on are in milliseconds after `ms`. */
  startAfter(ms: number): void {
    if (ms >= this.lastMs) {
      this.lastMs = ms;
      this.seq = MAX_SEQ; // the next id in `ms` would borrow ms + 1
    }
  }

  /** Makes ids only at or before millisecond `ms` (until raised again). */
  limit(ms: number): void {
    this.ceilingMs = ms;
  }

  /** Makes no more ids: `next` throws `reason` from now on. */
  close(reason: Error): void {
    this.closed ??= reason;
  }
}

/** The millisecond timestamp an id was made at. */
export function idTimeMs(id: bigint): number {
  return Number((id >> (NODE_BITS + SEQ_BITS)) + ID_EPOCH_MS);
}

/** The smallest id made at or after `ms` (for time-range queries on ids). */
export function idFloorForTime(ms: number): bigint {
  return (BigInt(ms) - ID_EPOCH_MS) << (NODE_BITS + SEQ_BITS);
}
