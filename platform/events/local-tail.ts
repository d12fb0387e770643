/**
 * The tail of the log this process wrote itself: the rows of its recent
 * batched INSERTs, by the ids they took. A consumer group of this process
 * whose next read lies entirely in it reads from here instead of the store:
 * the same rows (topic, payload, time) the store holds for those ids,
 * without a SELECT and without parsing them back out of the driver.
 *
 * Only blocks the frontier trusts (Frontier.trustRanges: a statement's ids
 * are one block) are kept, and only committed ones, so the tail holds exactly
 * what a read of those ids returns. A read is answered only if every id from
 * the group's position up to where it stops is here; anything else (another
 * process's rows, a replay into older ids, a tail that moved on) goes to the
 * store as before. Bounded: the oldest blocks go beyond `maxRows`.
 */
import type { IdRange, LogRow } from "./log-writer.js";

/** A log row as a group's read returns it (RawRow in consumer.ts). */
export interface TailRow {
  readonly id: bigint;
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly created_ms: number;
}

interface Block {
  readonly first: bigint;
  readonly last: bigint;
  readonly rows: readonly LogRow[];
  /** Index of this block's first row in `rows`. */
  readonly from: number;
}

export class LocalTail {
  private blocks: Block[] = [];
  private size = 0;
  /** Reads answered here, and rows handed out (for tests and stats). */
  hits = 0;

  constructor(private readonly maxRows = 65_536) {}

  /** A committed batch: `ranges[i]` are the ids of the next `last - first + 1` rows of `rows`. */
  add(rows: readonly LogRow[], ranges: readonly IdRange[]): void {
    let from = 0;
    for (const r of ranges) {
      const n = Number(r.last - r.first) + 1;
      const prev = this.blocks[this.blocks.length - 1];
      if (prev && r.first <= prev.last) this.clear(); // ids went back (a new store?): start over
      this.blocks.push({ first: r.first, last: r.last, rows, from });
      this.size += n;
      from += n;
    }
    while (this.size > this.maxRows && this.blocks.length > 1) {
      const b = this.blocks.shift()!;
      this.size -= Number(b.last - b.first) + 1;
    }
  }

  clear(): void {
    this.blocks = [];
    this.size = 0;
  }

  /**
   * The rows of `topics` with ids in (after, upTo], at most `limit`, in id
   * order, as the group's SELECT would return them; undefined unless every
   * id the read covers is here.
   */
  read(after: bigint, upTo: bigint, topics: ReadonlySet<string>, limit: number): TailRow[] | undefined {
    const blocks = this.blocks;
    let i = blocks.length - 1;
    const want = after + 1n;
    while (i >= 0 && blocks[i]!.first > want) i--;
    if (i < 0 || blocks[i]!.last < want) return undefined;
    const out: TailRow[] = [];
    let id = want;
    for (; i < blocks.length; i++) {
      const b = blocks[i]!;
      if (b.first > id) return undefined; // another process's ids in between
      const rows = b.rows;
      const base = b.from - Number(b.first);
      const end = b.last < upTo ? b.last : upTo;
      for (; id <= end; id++) {
        const r = rows[base + Number(id)]!;
        if (!topics.has(r.topic)) continue;
        // A copy: each group's messages get bytes of their own, as from the store.
        out.push({ id, topic: r.topic, payload: Buffer.from(r.payload), created_ms: r.createdMs });
        if (out.length === limit) {
          this.hits++;
          return out;
        }
      }
      if (id > upTo) {
        this.hits++;
        return out;
      }
    }
    return undefined; // the read goes beyond what this process wrote
  }
}
