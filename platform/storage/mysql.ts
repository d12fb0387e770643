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
 * outside a call gets STATEMENT_TIMEOUT_MS per statement. The deadlines are
 * watched by one shared coarse timer (watchdog.ts), not a timer per statement;
 * a statement outside a transaction takes one entry for its pool wait and its
 * run together, on mysql2's callback API (no promise wrapper per connection). A store that cannot be reached
 * (refused, reset, lost, connect timeout, too many connections, shutting
 * down) fails with StoreUnavailableError (the call answers unavailable).
 *
 * Every session waits at most LOCK_WAIT_S for a row lock and METADATA_LOCK_S
 * for a metadata lock, so no statement of ours queues behind a lock for long
 * (docs/operations.md: the dict_sys latch finding).
 */
import mysql from "mysql2/promise";
import type { Pool, PoolConnection, ResultSetHeader } from "mysql2/promise";
import type { Pool as CorePool, PoolConnection as CorePoolConnection } from "mysql2";
import { deadlineAt } from "../deadline.js";
import type { RunResult, SqlDb, SqlExecutor, SqlRow, SqlTx, SqlValue, TransactionOptions } from "./driver.js";
import { StoreUnavailableError } from "./unavailable.js";
import { Watchdog, type Watch } from "./watchdog.js";

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

/** When the statement starting now must give up (epoch ms): the current call's deadline, or STATEMENT_TIMEOUT_MS from now outside a call. */
function giveUpAt(): number {
  return deadlineAt() ?? Date.now() + STATEMENT_TIMEOUT_MS;
}

/** Every MySQL store's deadlines, on one coarse timer. */
const watchdog = new Watchdog();

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
  const [rows] = await q.execute(sql, bind(params) as never);
  return rows as R[];
}

// mysql2 keys its prepared-statement cache by the SQL and rowsAsArray.
async function valuesOn(q: Queryable, sql: string, params?: readonly SqlValue[]): Promise<unknown[][]> {
  const [rows] = await q.execute({ sql, rowsAsArray: true }, bind(params) as never);
  return rows as unknown[][];
}

function runResult(res: unknown): RunResult {
  const h = res as ResultSetHeader;
  return { changes: h.affectedRows, lastInsertId: BigInt(h.insertId ?? 0) };
}

async function runOn(q: Queryable, sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
  const [res] = await q.execute(sql, bind(params) as never);
  return runResult(res);
}

const asRows = (res: unknown) => res as never[];
const firstRow = (res: unknown) => (res as never[])[0];

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
  private guard<T>(work: Promise<T>): Promise<T> {
    // mysql2's own timeout covers only some commands (not a statement's prepare): the
    // connection is closed at the deadline here, so nothing sent on it can still run later.
    return new Promise<T>((resolve, reject) => {
      const w: Watch = {
        at: giveUpAt(),
        fire: () => {
          this.broken = true;
          this.conn.destroy();
          work.catch(() => undefined);
          reject(new StoreDeadlineError(`mysql at ${this.where}: no answer before the call's deadline`));
        },
      };
      watchdog.add(w);
      work.then(
        (v) => {
          if (watchdog.delete(w)) resolve(v);
        },
        (err) => {
          if (!watchdog.delete(w)) return;
          const mapped = mapError(err, this.where);
          if (mapped !== err || isTimeout(err)) this.broken = true;
          reject(mapped);
        },
      );
    });
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
    await this.guard(this.conn.query(sql));
  }
  afterCommit(fn: () => void): void {
    this.callbacks.push(fn);
  }
}

export class MysqlDb implements SqlDb {
  readonly dialect = "mysql" as const;
  readonly url: string;
  readonly pool: Pool;
  /** The same pool's callback API (the one-statement path). */
  private readonly core: CorePool;
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
    this.core = this.pool.pool;
    // Every session: short lock waits (see the file comment).
    (this.core as unknown as NodeJS.EventEmitter).on("connection", (conn: { query(sql: string): void }) => {
      conn.query(`SET SESSION innodb_lock_wait_timeout = ${LOCK_WAIT_S}, lock_wait_timeout = ${METADATA_LOCK_S}`);
    });
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
  private acquire(): Promise<MysqlConn> {
    return new Promise<MysqlConn>((resolve, reject) => {
      const w: Watch = {
        at: giveUpAt(),
        fire: () =>
          reject(new StoreDeadlineError(`mysql at ${this.where}: no pooled connection before the call's deadline`)),
      };
      watchdog.add(w);
      this.pool.getConnection().then(
        (conn) => {
          if (watchdog.delete(w)) resolve(new MysqlConn(conn, this.where));
          else conn.release(); // given up on: return the connection now it came
        },
        (err) => {
          if (watchdog.delete(w)) reject(mapError(err, this.where));
        },
      );
    });
  }

  /**
   * One statement outside a transaction: a pooled connection and the statement on it under one
   * watchdog entry, on mysql2's callback API. At the deadline the wait is given up, or the
   * connection destroyed (nothing sent on it can still run later).
   */
  private statement<T>(
    sql: string,
    rowsAsArray: boolean,
    params: readonly SqlValue[] | undefined,
    map: (res: unknown) => T,
  ): Promise<T> {
    const where = this.where;
    return new Promise<T>((resolve, reject) => {
      this.watched(reject, (c, w, fired) => {
        try {
          c.execute(rowsAsArray ? { sql, rowsAsArray } : { sql }, bind(params) as never, (err, res) => {
            if (fired()) return; // the connection is destroyed and the caller answered
            watchdog.delete(w);
            if (err) {
              const mapped = mapError(err, where);
              if (mapped !== err || isTimeout(err)) c.destroy();
              else c.release();
              reject(mapped);
              return;
            }
            c.release();
            resolve(map(res));
          });
        } catch (e) {
          // Bad parameters (mysql2 throws before sending anything).
          watchdog.delete(w);
          c.release();
          reject(e);
        }
      });
    });
  }

  /**
   * Runs `use` on a pooled connection under one watchdog entry `w` for the call's deadline
   * (`use` deletes it when done). At the deadline the wait for a connection is given up, or the
   * connection destroyed (nothing sent on it can still run later), `fired()` turns true and
   * `reject` answers the caller; a statement whose deadline has passed is never sent.
   */
  private watched(
    reject: (e: unknown) => void,
    use: (c: CorePoolConnection, w: Watch, fired: () => boolean) => void,
  ): void {
    const where = this.where;
    let conn: CorePoolConnection | undefined;
    let fired = false;
    const w: Watch = {
      at: giveUpAt(),
      fire: () => {
        fired = true;
        if (conn === undefined) {
          reject(new StoreDeadlineError(`mysql at ${where}: no pooled connection before the call's deadline`));
        } else {
          conn.destroy();
          reject(new StoreDeadlineError(`mysql at ${where}: no answer before the call's deadline`));
        }
      },
    };
    if (w.at <= Date.now()) {
      // Not sent at all: the call's time is up already.
      reject(new StoreDeadlineError(`mysql at ${where}: the call's deadline passed before the statement`));
      return;
    }
    watchdog.add(w);
    this.core.getConnection((err, c) => {
      if (fired) {
        if (!err) c.release(); // given up on: return the connection now it came
        return;
      }
      if (err) {
        watchdog.delete(w);
        reject(mapError(err, where));
        return;
      }
      conn = c;
      use(c, w, () => fired);
    });
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

  /**
   * One write in a transaction of its own (START TRANSACTION, the statement, `beforeCommit()`,
   * COMMIT) on one connection under one watchdog entry: the connection is destroyed at the
   * deadline, so the server rolls back what was sent and nothing commits late.
   */
  runCommitted(sql: string, params: readonly SqlValue[] | undefined, beforeCommit: () => void): Promise<RunResult> {
    const where = this.where;
    return new Promise<RunResult>((resolve, reject) => {
      this.watched(reject, (c, w, fired) => {
        /** Ends without committing: the connection is destroyed if its state is unknown, else rolled back and returned. */
        const abort = (err: unknown, broken: boolean) => {
          watchdog.delete(w);
          if (broken) c.destroy();
          else c.query({ sql: "ROLLBACK", timeout: 5_000 }, (e) => (e ? c.destroy() : c.release()));
          reject(err);
        };
        const failed = (err: unknown) => {
          const mapped = mapError(err, where);
          abort(mapped, mapped !== err || isTimeout(err));
        };
        c.query("START TRANSACTION", (err) => {
          if (fired()) return;
          if (err) return failed(err);
          let res: unknown;
          const ran = (err: unknown, r: unknown) => {
            if (fired()) return;
            if (err) return failed(err);
            res = r;
            try {
              beforeCommit();
            } catch (e) {
              return abort(e, false);
            }
            c.query("COMMIT", (err) => {
              if (fired()) return;
              watchdog.delete(w);
              if (err) {
                c.destroy(); // did it commit? the server rolls back what it had not
                reject(mapError(err, where));
                return;
              }
              c.release();
              resolve(runResult(res));
            });
          };
          try {
            c.execute(sql, bind(params) as never, ran);
          } catch (e) {
            abort(e, false); // bad parameters: mysql2 throws before sending anything
          }
        });
      });
    });
  }

  all<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    return this.statement(sql, false, params, asRows);
  }
  get<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R | undefined> {
    return this.statement(sql, false, params, firstRow);
  }
  getValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[] | undefined> {
    return this.statement(sql, true, params, firstRow);
  }
  allValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]> {
    return this.statement(sql, true, params, asRows);
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return this.statement(sql, false, params, runResult);
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
