/**
 * Time-ordered 64-bit ids: 41 bits of milliseconds since 2024-01-01T00:00Z,
 * 10 bits of node id, 12 bits of sequence. Ids from one generator strictly
 * increase; ids from different nodes sort by time to the millisecond.
 */
export const ID_EPOCH_MS = 1_704_067_200_000n;
const NODE_BITS = 10n;
const SEQ_BITS = 12n;
const MAX_NODE = (1 << Number(NODE_BITS)) - 1;
const MAX_SEQ = (1 << Number(SEQ_BITS)) - 1;

export class IdGenerator {
  private lastMs = -1;
  private seq = 0;
  private readonly node: bigint;

  constructor(
    nodeId: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > MAX_NODE) {
      throw new RangeError(`node id must be an integer in 0..${MAX_NODE}, got ${nodeId}`);
    }
    this.node = BigInt(nodeId);
  }

  next(): bigint {
    let ms = this.now();
    if (ms < this.lastMs) ms = this.lastMs; // clock went back: stay monotonic
    if (ms === this.lastMs) {
      this.seq++;
      if (this.seq > MAX_SEQ) {
        // Sequence exhausted within this millisecond: borrow the next one.
        ms = this.lastMs + 1;
        this.seq = 0;
      }
    } else {
      this.seq = 0;
    }
    this.lastMs = ms;
    return ((BigInt(ms) - ID_EPOCH_MS) << (NODE_BITS + SEQ_BITS)) | (this.node << SEQ_BITS) | BigInt(this.seq);
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
