/**
 * The producer batcher: publishes made outside a transaction are coalesced
 * into multi-row INSERTs. A batch goes when it holds `maxRows` rows, or
 * `lingerMs` after its first row; while one batch is being written the next
 * fills up, so under load batches grow by themselves and at low rates an
 * event waits at most `lingerMs`. One batch is written at a time, so this
 * process's own events commit in id order and never open a gap for its
 * consumers.
 *
 * Every row of a batch shares the batch's promise, which resolves once the
 * batch has committed (one promise per batch, not per event: at 100,000+
 * events/s the garbage of per-event promises shows).
 */
import type { SqlDb } from "../storage/driver.js";
import { EventBusClosedError } from "./errors.js";
import {
  appendRows,
  chunkSizes,
  type ChunkLimits,
  DEFAULT_CHUNK_LIMITS,
  type IdRange,
  type LogRow,
} from "./log-writer.js";

export interface BatcherOptions {
  /** Rows per batch before it is written at once. Default 4096. */
  readonly maxRows?: number;
  /** How long the first row of a batch waits for company, in ms. Default 2. */
  readonly lingerMs?: number;
  /** Rows queued beyond which `add` waits for the current write. Default 65536. */
  readonly maxPending?: number;
  readonly chunk?: ChunkLimits;
}

class Batch {
  readonly rows: LogRow[] = [];
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (err: unknown) => void;
  constructor() {
    this.done = new Promise<void>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    // A batch nobody awaits must not crash the process on failure.
    this.done.catch(() => undefined);
  }
}

export class Batcher {
  /** Batches waiting to be written, oldest first; the last one is filling. */
  private readonly queue: Batch[] = [];
  private queued = 0;
  private writing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly maxRows: number;
  private readonly lingerMs: number;
  private readonly maxPending: number;
  private readonly chunk: ChunkLimits;

  constructor(
    private readonly db: SqlDb,
    /** Told after each committed batch: its rows and the ids each of its INSERTs took, in order. */
    private readonly onCommitted: (rows: readonly LogRow[], ranges: readonly IdRange[]) => void,
    opts: BatcherOptions = {},
  ) {
    this.maxRows = Math.max(1, opts.maxRows ?? 4096);
    this.lingerMs = opts.lingerMs ?? 2;
    this.maxPending = opts.maxPending ?? 65_536;
    this.chunk = opts.chunk ?? DEFAULT_CHUNK_LIMITS;
  }

  /** Queues a row; resolves when it is durable in the log. */
  add(row: LogRow): Promise<void> {
    if (this.closed) return Promise.reject(new EventBusClosedError("the event bus is closed: cannot publish"));
    if (this.queued >= this.maxPending && this.writing) {
      return this.writing.then(() => this.add(row));
    }
    let batch = this.queue[this.queue.length - 1];
    if (!batch || batch.rows.length >= this.maxRows) {
      batch = new Batch();
      this.queue.push(batch);
    }
    batch.rows.push(row);
    this.queued++;
    this.schedule();
    return batch.done;
  }

  /** Number of rows waiting to be written. */
  get pending(): number {
    return this.queued;
  }

  private schedule(): void {
    if (this.writing) return; // the running write picks the queue up when it ends
    if (this.queued >= this.maxRows || this.lingerMs <= 0) {
      this.startWrite();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        if (!this.writing) this.startWrite();
      }, this.lingerMs);
    }
  }

  private startWrite(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.queue.shift();
    if (!batch) return;
    this.queued -= batch.rows.length;
    this.writing = this.write(batch).finally(() => {
      this.writing = null;
      // Rows that arrived during the write go now: they have waited long enough.
      if (this.queue.length > 0) this.startWrite();
    });
  }

  private async write(batch: Batch): Promise<void> {
    const rows = batch.rows;
    const ranges: IdRange[] = [];
    try {
      const sizes = chunkSizes(rows, this.chunk);
      if (sizes.length === 1) await appendRows(this.db, rows, this.chunk, sizes, ranges);
      else {
        await this.db.transaction(async (tx) => {
          ranges.length = 0; // a retried transaction starts over
          await appendRows(tx, rows, this.chunk, sizes, ranges);
        });
      }
    } catch (err) {
      batch.reject(err);
      return;
    }
    this.onCommitted(rows, ranges);
    batch.resolve();
  }

  /** Resolves once every row queued so far is written (or failed). */
  async flush(): Promise<void> {
    while (this.writing || this.queue.length > 0) {
      if (!this.writing) this.startWrite();
      await this.writing;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }
}
