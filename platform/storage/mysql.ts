/**
 * MySQL/MariaDB store on mysql2: a connection pool, server-side prepared
 * statements (`execute`), BIGINT values kept exact, and transactions on a
 * dedicated pooled connection.
 *
 * Bounded by the current call's deadline (platform/deadline.ts): waiting for
 * a pooled connection and every statement get the time the call has left;
 * a statement that runs out of it fails with StoreDeadlineError (the call
 * answers deadline_exceeded) and its connection is destroyed, not reused (its
 * state is unknown; the server rolls back what it had not committed). Work
 * outside a call gets STATEMENT_TIMEOUT_MS. A store that cannot be reached
 * (refused, reset, lost, connect timeout, too many connections, shutting
 * down) fails with StoreUnavailableError (the call answers unavailable).
 *
 * Every session waits at most LOCK_WAIT_S for a row lock and METADATA_LOCK_S
 * for a metadata lock, so no statement of ours queues behind a lock for long
 * (docs/operations.md: the dict_sys latch finding).
 */
import mysql from "mysql2/promise";
import type { Pool, PoolConnection, ResultSetHeader } from "mysql2/promise";
import { msLeft } from "../deadline.js";
import type { RunResult, SqlDb, SqlExecutor, SqlRow, SqlTx, SqlValue, TransactionOptions } from "./driver.js";
import { StoreUnavailableError } from "./unavailable.js";

export interface MysqlOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password?: string;
  readonly database: string;
  /** Pool size. */
  readonly connectionLimit?: number;
}

/** A statement outside any call (consumers, jobs) gives up after this long. DDL (`exec`) is not bounded. */
export const STATEMENT_TIMEOUT_MS = 60_000;
/** Row-lock wait of our sessions (innodb_lock_wait_timeout), seconds. */
export const LOCK_WAIT_S = 10;
/** Metadata-lock wait of our sessions (lock_wait_timeout), seconds. */
export const METADATA_LOCK_S = 30;
/** Opening a connection gives up after this long. */
const CONNECT_TIMEOUT_MS = 5_000;

/** A statement gave up at the current call's deadline. */
export class StoreDeadlineError extends Error {
  override readonly name = "StoreDeadlineError";
}

/** mysql2 / server error codes that mean "the store cannot answer now", not "this statement is wrong". */
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR",
  "PROTOCOL_ENQUEUE_AFTER_QUIT",
  "ER_CON_COUNT_ERROR",
  "ER_TOO_MANY_USER_CONNECTIONS",
  "ER_SERVER_SHUTDOWN",
  "ER_CONNECTION_KILLED",
  "ER_QUERY_INTERRUPTED",
  "ER_OPTION_PREVENTS_STATEMENT", // read-only (a failover in progress)
]);

function isTimeout(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === "PROTOCOL_SEQUENCE_TIMEOUT";
}

/** The error a caller sees: deadline, unavailable, or the original (a bug or bad input). */
function mapError(err: unknown, where: string): unknown {
  const code = (err as { code?: string } | null)?.code;
  if (code === "PROTOCOL_SEQUENCE_TIMEOUT") {
    return new StoreDeadlineError(`mysql at ${where}: no answer before the call's deadline`, { cause: err });
  }
  if (code !== undefined && UNAVAILABLE_CODES.has(code)) {
    return new StoreUnavailableError("mysql", `mysql at ${where}: ${(err as Error).message}`, { cause: err });
  }
  if (err instanceof Error && /closed state|Pool is closed/i.test(err.message)) {
    return new StoreUnavailableError("mysql", `mysql at ${where}: ${err.message}`, { cause: err });
  }
  return err;
}

/** The time a statement may take now: what the current call has left, or STATEMENT_TIMEOUT_MS outside a call. */
function budget(): number {
  return msLeft() ?? STATEMENT_TIMEOUT_MS;
}

type Queryable = Pick<PoolConnection, "execute" | "query">;

function bind(params: readonly SqlValue[] | undefined): unknown[] {
  if (!params) return [];
  const out = new Array<unknown>(params.length);
  for (let i = 0; i < params.length; i++) {
    const v = params[i];
    // mysql2 binds bigint as a string parameter for safety; MySQL converts it
    // exactly for BIGINT columns. Booleans become 0/1.
    if (typeof v === "bigint") out[i] = v.toString();
    else if (typeof v === "boolean") out[i] = v ? 1 : 0;
    else if (v instanceof Uint8Array && !Buffer.isBuffer(v)) out[i] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    else out[i] = v;
  }
  return out;
}

async function allOn<R>(q: Queryable, sql: string, params?: readonly SqlValue[]): Promise<R[]> {
  const [rows] = await q.execute({ sql, timeout: budget() }, bind(params) as never);
  return rows as R[];
}

async function valuesOn(q: Queryable, sql: string, params?: readonly SqlValue[]): Promise<unknown[][]> {
  // mysql2 keys its prepared-statement cache by the SQL and rowsAsArray.
  const [rows] = await q.execute({ sql, rowsAsArray: true, timeout: budget() }, bind(params) as never);
  return rows as unknown[][];
}

async function runOn(q: Queryable, sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
  const [res] = await q.execute({ sql, timeout: budget() }, bind(params) as never);
  const h = res as ResultSetHeader;
  return { changes: h.affectedRows, lastInsertId: BigInt(h.insertId ?? 0) };
}

class MysqlConn implements SqlTx {
  readonly dialect = "mysql" as const;
  readonly callbacks: Array<() => void> = [];
  done = false;
  /** A statement timed out or the connection failed: destroy it instead of returning it to the pool. */
  broken = false;
  constructor(
    private readonly conn: PoolConnection,
    private readonly where: string,
  ) {}
  private check(): void {
    if (this.done) throw new Error("connection scope already finished");
  }
  private async guard<T>(work: Promise<T>): Promise<T> {
    // mysql2's own timeout covers only some commands (not a statement's prepare): the
    // connection is closed at the deadline here, so nothing sent on it can still run later.
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            this.broken = true;
            this.conn.destroy();
            work.catch(() => undefined);
            reject(new StoreDeadlineError(`mysql at ${this.where}: no answer before the call's deadline`));
          }, budget() + 5);
        }),
      ]);
    } catch (err) {
      const mapped = mapError(err, this.where);
      if (mapped !== err || isTimeout(err)) this.broken = true;
      throw mapped;
    } finally {
      clearTimeout(timer);
    }
  }
  async all<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    this.check();
    return this.guard(allOn<R>(this.conn, sql, params));
  }
  async get<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R | undefined> {
    this.check();
    return (await this.guard(allOn<R>(this.conn, sql, params)))[0];
  }
  async getValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[] | undefined> {
    this.check();
    return (await this.guard(valuesOn(this.conn, sql, params)))[0];
  }
  async allValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]> {
    this.check();
    return this.guard(valuesOn(this.conn, sql, params));
  }
  async run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    this.check();
    return this.guard(runOn(this.conn, sql, params));
  }
  async exec(sql: string): Promise<void> {
    this.check();
    await this.guard(this.conn.query(sql));
  }
  /** A control statement (START TRANSACTION, COMMIT) under the call's deadline. */
  async control(sql: string): Promise<void> {
    await this.guard(this.conn.query({ sql, timeout: budget() }));
  }
  afterCommit(fn: () => void): void {
    this.callbacks.push(fn);
  }
}

export class MysqlDb implements SqlDb {
  readonly dialect = "mysql" as const;
  readonly url: string;
  readonly pool: Pool;
  private readonly where: string;
  private probeConn: Promise<mysql.Connection> | undefined;

  constructor(private readonly opts: MysqlOptions) {
    this.url = `mysql://${opts.user}@${opts.host}:${opts.port}/${opts.database}`;
    this.where = `${opts.host}:${opts.port}`;
    this.pool = mysql.createPool({
      ...this.connectionOptions(),
      connectionLimit: opts.connectionLimit ?? 10,
      maxPreparedStatements: 1000,
    });
    // Every session: short lock waits (see the file comment).
    (this.pool as unknown as { pool: NodeJS.EventEmitter }).pool.on(
      "connection",
      (conn: { query(sql: string): void }) => {
        conn.query(`SET SESSION innodb_lock_wait_timeout = ${LOCK_WAIT_S}, lock_wait_timeout = ${METADATA_LOCK_S}`);
      },
    );
  }

  private connectionOptions() {
    const opts = this.opts;
    return {
      host: opts.host,
      port: opts.port,
      user: opts.user,
      password: opts.password,
      database: opts.database,
      supportBigNumbers: true,
      bigNumberStrings: true,
      // DECIMAL/BIGINT come back as strings; the DAO layer turns them into
      // bigint. Dates are not used by Orbit tables (times are int64 ms).
      dateStrings: true,
      multipleStatements: true,
      charset: "utf8mb4_unicode_ci",
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Server-default affected-rows semantics: an UPDATE that changes
      // nothing and an upsert that hits an identical row report 0.
      flags: ["-FOUND_ROWS"],
    };
  }

  /** A pooled connection, waited for no longer than the call's deadline. */
  private async acquire(): Promise<MysqlConn> {
    const wait = budget();
    const pending = this.pool.getConnection();
    let timer: NodeJS.Timeout | undefined;
    try {
      const conn = await Promise.race([
        pending,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(new StoreDeadlineError(`mysql at ${this.where}: no pooled connection before the call's deadline`)),
            wait,
          );
        }),
      ]);
      return new MysqlConn(conn, this.where);
    } catch (err) {
      // Given up on: return the connection when it comes.
      pending.then((c) => c.release()).catch(() => undefined);
      throw mapError(err, this.where);
    } finally {
      clearTimeout(timer);
    }
  }

  private release(c: MysqlConn, conn: PoolConnection): void {
    c.done = true;
    if (c.broken) {
      try {
        conn.destroy();
      } catch {
        // already destroyed at the deadline
      }
    } else conn.release();
  }

  private async once<T>(fn: (c: MysqlConn) => Promise<T>): Promise<T> {
    const c = await this.acquire();
    const conn = (c as unknown as { conn: PoolConnection }).conn;
    try {
      return await fn(c);
    } finally {
      this.release(c, conn);
    }
  }

  all<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    return this.once((c) => c.all<R>(sql, params));
  }
  get<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R | undefined> {
    return this.once((c) => c.get<R>(sql, params));
  }
  getValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[] | undefined> {
    return this.once((c) => c.getValues(sql, params));
  }
  allValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]> {
    return this.once((c) => c.allValues(sql, params));
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return this.once((c) => c.run(sql, params));
  }
  async exec(sql: string): Promise<void> {
    await this.once((c) => c.exec(sql));
  }

  async transaction<T>(fn: (tx: SqlTx) => Promise<T>, _opts?: TransactionOptions): Promise<T> {
    const tx = await this.acquire();
    const conn = (tx as unknown as { conn: PoolConnection }).conn;
    try {
      await tx.control("START TRANSACTION");
      let result: T;
      try {
        result = await fn(tx);
        await tx.control("COMMIT");
      } catch (err) {
        if (!tx.broken) await conn.query({ sql: "ROLLBACK", timeout: 5_000 }).catch(() => (tx.broken = true));
        throw err;
      }
      tx.done = true;
      for (const cb of tx.callbacks) cb();
      return result;
    } finally {
      this.release(tx, conn);
    }
  }

  async withConnection<T>(fn: (conn: SqlExecutor) => Promise<T>): Promise<T> {
    return this.once(fn);
  }

  /**
   * One cheap round trip (`SELECT 1`) on a connection of its own, outside the
   * pool (a pool exhausted by stuck calls must not make the probe wait), for
   * /readyz. Throws when the store does not answer within `timeoutMs`.
   */
  async ping(timeoutMs: number): Promise<string> {
    try {
      this.probeConn ??= mysql.createConnection({ ...this.connectionOptions(), connectTimeout: timeoutMs });
      const conn = await this.probeConn;
      const [rows] = await conn.query({ sql: "SELECT VERSION() AS v", timeout: timeoutMs });
      return `mysql ${(rows as Array<{ v: string }>)[0]?.v ?? ""} at ${this.where}`;
    } catch (err) {
      const dead = this.probeConn;
      this.probeConn = undefined;
      void dead?.then((c) => c.destroy()).catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    const probe = this.probeConn;
    this.probeConn = undefined;
    await probe?.then((c) => c.end()).catch(() => undefined);
    await this.pool.end();
  }
}
