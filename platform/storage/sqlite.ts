/**
 * SQLite store on better-sqlite3: WAL mode, a statement cache, and async
 * transactions serialised by a lock (SQLite has one writer; better-sqlite3 is
 * synchronous, so a statement outside a transaction runs atomically).
 */
import Database from "better-sqlite3";
import type { Statement, Database as BetterDb } from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { RunResult, SqlDb, SqlExecutor, SqlRow, SqlTx, SqlValue, TransactionOptions } from "./driver.js";

export interface SqliteOptions {
  /** File path, or ":memory:". */
  readonly path: string;
  /** How long a writer waits for another process's lock, in ms. */
  readonly busyTimeoutMs?: number;
}

const NO_PARAMS: unknown[] = [];

/** better-sqlite3 takes numbers, bigints, strings, Buffers and null; copy only if a value needs converting. */
function bind(params: readonly SqlValue[] | undefined): unknown[] {
  if (!params) return NO_PARAMS;
  let out: unknown[] | undefined;
  for (let i = 0; i < params.length; i++) {
    const v = params[i];
    let c: unknown = v;
    if (typeof v === "boolean") c = v ? 1 : 0;
    else if (v instanceof Uint8Array && !Buffer.isBuffer(v)) c = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    else continue;
    out ??= params.slice();
    out[i] = c;
  }
  return out ?? (params as unknown[]);
}

/** Prepared statements kept per connection (least recently prepared evicted). */
const STATEMENT_CACHE_SIZE = 1000;

class Runner implements SqlExecutor {
  readonly dialect = "sqlite" as const;
  private readonly cache = new Map<string, Statement>();
  /** Statements in raw mode (rows as arrays), for getValues and allValues. */
  private readonly arrayCache = new Map<string, Statement>();
  constructor(readonly raw: BetterDb) {}

  prepare(sql: string, asArrays = false): Statement {
    const cache = asArrays ? this.arrayCache : this.cache;
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = this.raw.prepare(sql);
      if (stmt.reader) stmt.safeIntegers(true);
      if (asArrays) stmt.raw(true);
      if (cache.size >= STATEMENT_CACHE_SIZE) {
        cache.delete(cache.keys().next().value as string);
      }
      cache.set(sql, stmt);
    }
    return stmt;
  }
  allSync<R>(sql: string, params?: readonly SqlValue[]): R[] {
    return this.prepare(sql).all(bind(params)) as R[];
  }
  getSync<R>(sql: string, params?: readonly SqlValue[]): R | undefined {
    return this.prepare(sql).get(bind(params)) as R | undefined;
  }
  getValuesSync(sql: string, params?: readonly SqlValue[]): unknown[] | undefined {
    return this.prepare(sql, true).get(bind(params)) as unknown[] | undefined;
  }
  allValuesSync(sql: string, params?: readonly SqlValue[]): unknown[][] {
    return this.prepare(sql, true).all(bind(params)) as unknown[][];
  }
  runSync(sql: string, params?: readonly SqlValue[]): RunResult {
    const r = this.prepare(sql).run(bind(params));
    return { changes: r.changes, lastInsertId: BigInt(r.lastInsertRowid) };
  }
  async all<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    return this.allSync<R>(sql, params);
  }
  async get<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R | undefined> {
    return this.getSync<R>(sql, params);
  }
  async getValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[] | undefined> {
    return this.getValuesSync(sql, params);
  }
  async allValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]> {
    return this.allValuesSync(sql, params);
  }
  async run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return this.runSync(sql, params);
  }
  async exec(sql: string): Promise<void> {
    this.raw.exec(sql);
  }
}

class SqliteTx implements SqlTx {
  readonly dialect = "sqlite" as const;
  readonly callbacks: Array<() => void> = [];
  done = false;
  constructor(private readonly runner: Runner) {}
  private check(): void {
    if (this.done) throw new Error("transaction already finished");
  }
  async all<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    this.check();
    return this.runner.allSync<R>(sql, params);
  }
  async get<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R | undefined> {
    this.check();
    return this.runner.getSync<R>(sql, params);
  }
  async getValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[] | undefined> {
    this.check();
    return this.runner.getValuesSync(sql, params);
  }
  async allValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]> {
    this.check();
    return this.runner.allValuesSync(sql, params);
  }
  async run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    this.check();
    return this.runner.runSync(sql, params);
  }
  async exec(sql: string): Promise<void> {
    this.check();
    this.runner.raw.exec(sql);
  }
  afterCommit(fn: () => void): void {
    this.callbacks.push(fn);
  }
}

export class SqliteDb implements SqlDb {
  readonly dialect = "sqlite" as const;
  readonly url: string;
  readonly raw: BetterDb;
  private readonly runner: Runner;
  /** Resolves when the open transaction (if any) ends. */
  private lock: Promise<void> | null = null;
  private closed = false;

  constructor(opts: SqliteOptions) {
    if (opts.path !== ":memory:") mkdirSync(dirname(opts.path), { recursive: true });
    this.url = `sqlite:${opts.path}`;
    this.raw = new Database(opts.path);
    this.raw.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 10_000}`);
    if (opts.path !== ":memory:") this.raw.pragma("journal_mode = WAL");
    this.raw.pragma("synchronous = NORMAL");
    this.runner = new Runner(this.raw);
  }

  private async idle(): Promise<void> {
    while (this.lock) await this.lock;
    this.checkOpen();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`store ${this.url} is closed`);
  }

  async all<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    // Wait and run with no await in between: a transaction must not start in the gap.
    while (this.lock) await this.lock;
    this.checkOpen();
    return this.runner.allSync<R>(sql, params);
  }
  async get<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R | undefined> {
    while (this.lock) await this.lock;
    this.checkOpen();
    return this.runner.getSync<R>(sql, params);
  }
  async getValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[] | undefined> {
    while (this.lock) await this.lock;
    this.checkOpen();
    return this.runner.getValuesSync(sql, params);
  }
  async allValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]> {
    while (this.lock) await this.lock;
    this.checkOpen();
    return this.runner.allValuesSync(sql, params);
  }
  async run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    while (this.lock) await this.lock;
    this.checkOpen();
    return this.runner.runSync(sql, params);
  }
  async exec(sql: string): Promise<void> {
    while (this.lock) await this.lock;
    this.checkOpen();
    this.raw.exec(sql);
  }

  async transaction<T>(fn: (tx: SqlTx) => Promise<T>, opts?: TransactionOptions): Promise<T> {
    // Check-and-take with no await in between, so two waiters cannot both win.
    while (this.lock) await this.lock;
    if (this.closed) throw new Error(`store ${this.url} is closed`);
    let release!: () => void;
    this.lock = new Promise<void>((r) => (release = r));
    const tx = new SqliteTx(this.runner);
    try {
      this.raw.exec(opts?.immediate === false ? "BEGIN" : "BEGIN IMMEDIATE");
      let result: T;
      try {
        result = await fn(tx);
        this.raw.exec("COMMIT");
      } catch (err) {
        if (this.raw.inTransaction) this.raw.exec("ROLLBACK");
        throw err;
      }
      tx.done = true;
      for (const cb of tx.callbacks) cb();
      return result;
    } finally {
      tx.done = true;
      this.lock = null;
      release();
    }
  }

  async withConnection<T>(fn: (conn: SqlExecutor) => Promise<T>): Promise<T> {
    return fn(this);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.idle();
    this.closed = true;
    this.raw.close();
  }
}
