/**
 * The producer batcher: publishes made outside a transaction are coalesced
 * into multi-row INSERTs. A batch goes when it holds `maxRows` rows, or
 * `lingerMs` after its first row; while one batch is being written the next
 * fills up, so under load batches grow by themselves and at low rates an
 * event waits at most `lingerMs`. One batch is written at a time, so this
 * process's own events commit in id order and never open a gap for its
 * consumers. Each `add` resolves once its row has committed.
 */
import type { SqlDb } from "../storage/driver.js";
import { EventBusClosedError } from "./errors.js";
import { appendRows, chunkSizes, type ChunkLimits, DEFAULT_CHUNK_LIMITS, type LogRow } from "./log-writer.js";

export interface BatcherOptions {
  /** Rows per batch before it is written at once. Default 4096. */
  readonly maxRows?: number;
  /** How long the first row of a batch waits for company, in ms. Default 2. */
  readonly lingerMs?: number;
  /** Rows queued beyond which `add` waits for the current write. Default 65536. */
  readonly maxPending?: number;
  readonly chunk?: ChunkLimits;
}

interface Pending {
  readonly row: LogRow;
  resolve(): void;
  reject(err: unknown): void;
}

export class Batcher {
  private queue: Pending[] = [];
  private writing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly maxRows: number;
  private readonly lingerMs: number;
  private readonly maxPending: number;
  private readonly chunk: ChunkLimits;

  constructor(
    private readonly db: SqlDb,
    private readonly onCommitted: (rows: number) => void,
    opts: BatcherOptions = {},
  ) {
    this.maxRows = opts.maxRows ?? 4096;
    this.lingerMs = opts.lingerMs ?? 2;
    this.maxPending = opts.maxPending ?? 65_536;
    this.chunk = opts.chunk ?? DEFAULT_CHUNK_LIMITS;
  }

  /** Queues a row; resolves when it is durable in the log. */
  async add(row: LogRow): Promise<void> {
    if (this.closed) throw new EventBusClosedError("the event bus is closed: cannot publish");
    while (this.queue.length >= this.maxPending && this.writing) await this.writing;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      this.schedule();
    });
  }

  /** Number of rows waiting to be written. */
  get pending(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.writing) return; // the running write picks the queue up when it ends
    if (this.queue.length >= this.maxRows || this.lingerMs <= 0) {
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
    if (this.queue.length === 0) return;
    const batch = this.queue.length <= this.maxRows ? this.queue : this.queue.slice(0, this.maxRows);
    this.queue = batch === this.queue ? [] : this.queue.slice(this.maxRows);
    this.writing = this.write(batch).finally(() => {
      this.writing = null;
      // Rows that arrived during the write go now: they have waited long enough.
      if (this.queue.length > 0) this.startWrite();
    });
  }

  private async write(batch: Pending[]): Promise<void> {
    const rows = batch.map((p) => p.row);
    try {
      const sizes = chunkSizes(rows, this.chunk);
      if (sizes.length === 1) await appendRows(this.db, rows, this.chunk, sizes);
      else await this.db.transaction((tx) => appendRows(tx, rows, this.chunk, sizes));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    this.onCommitted(rows.length);
    for (const p of batch) p.resolve();
  }

  /** Resolves once every row queued so far is written (or failed). */
  async flush(): Promise<void> {
    if (this.timer) this.startWrite();
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
