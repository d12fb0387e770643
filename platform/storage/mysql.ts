/**
 * MySQL/MariaDB store on mysql2: a connection pool, server-side prepared
 * statements (`execute`), BIGINT values kept exact, and transactions on a
 * dedicated pooled connection.
 */
import mysql from "mysql2/promise";
import type { Pool, PoolConnection, ResultSetHeader } from "mysql2/promise";
import type { RunResult, SqlDb, SqlExecutor, SqlRow, SqlTx, SqlValue, TransactionOptions } from "./driver.js";

export interface MysqlOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password?: string;
  readonly database: string;
  /** Pool size. */
  readonly connectionLimit?: number;
}

type Queryable = Pick<Pool, "execute" | "query">;

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

async function valuesOn(q: Queryable, sql: string, params?: readonly SqlValue[]): Promise<unknown[][]> {
  // mysql2 keys its prepared-statement cache by the SQL and rowsAsArray.
  const [rows] = await q.execute({ sql, rowsAsArray: true }, bind(params) as never);
  return rows as unknown[][];
}

async function runOn(q: Queryable, sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
  const [res] = await q.execute(sql, bind(params) as never);
  const h = res as ResultSetHeader;
  return { changes: h.affectedRows, lastInsertId: BigInt(h.insertId ?? 0) };
}

class MysqlConn implements SqlTx {
  readonly dialect = "mysql" as const;
  readonly callbacks: Array<() => void> = [];
  done = false;
  constructor(private readonly conn: PoolConnection) {}
  private check(): void {
    if (this.done) throw new Error("connection scope already finished");
  }
  async all<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    this.check();
    return allOn<R>(this.conn, sql, params);
  }
  async get<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R | undefined> {
    this.check();
    return (await allOn<R>(this.conn, sql, params))[0];
  }
  async getValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[] | undefined> {
    this.check();
    return (await valuesOn(this.conn, sql, params))[0];
  }
  async allValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]> {
    this.check();
    return valuesOn(this.conn, sql, params);
  }
  async run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    this.check();
    return runOn(this.conn, sql, params);
  }
  async exec(sql: string): Promise<void> {
    this.check();
    await this.conn.query(sql);
  }
  afterCommit(fn: () => void): void {
    this.callbacks.push(fn);
  }
}

export class MysqlDb implements SqlDb {
  readonly dialect = "mysql" as const;
  readonly url: string;
  readonly pool: Pool;

  constructor(opts: MysqlOptions) {
    this.url = `mysql://${opts.user}@${opts.host}:${opts.port}/${opts.database}`;
    this.pool = mysql.createPool({
      host: opts.host,
      port: opts.port,
      user: opts.user,
      password: opts.password,
      database: opts.database,
      connectionLimit: opts.connectionLimit ?? 10,
      supportBigNumbers: true,
      bigNumberStrings: true,
      // DECIMAL/BIGINT come back as strings; the DAO layer turns them into
      // bigint. Dates are not used by Orbit tables (times are int64 ms).
      dateStrings: true,
      multipleStatements: true,
      charset: "utf8mb4_unicode_ci",
      maxPreparedStatements: 1000,
      // Server-default affected-rows semantics: an UPDATE that changes
      // nothing and an upsert that hits an identical row report 0.
      flags: ["-FOUND_ROWS"],
    });
  }

  all<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    return allOn<R>(this.pool, sql, params);
  }
  async get<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R | undefined> {
    return (await allOn<R>(this.pool, sql, params))[0];
  }
  async getValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[] | undefined> {
    return (await valuesOn(this.pool, sql, params))[0];
  }
  allValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]> {
    return valuesOn(this.pool, sql, params);
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return runOn(this.pool, sql, params);
  }
  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async transaction<T>(fn: (tx: SqlTx) => Promise<T>, _opts?: TransactionOptions): Promise<T> {
    const conn = await this.pool.getConnection();
    const tx = new MysqlConn(conn);
    try {
      await conn.query("START TRANSACTION");
      let result: T;
      try {
        result = await fn(tx);
        await conn.query("COMMIT");
      } catch (err) {
        await conn.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
      tx.done = true;
      for (const cb of tx.callbacks) cb();
      return result;
    } finally {
      tx.done = true;
      conn.release();
    }
  }

  async withConnection<T>(fn: (conn: SqlExecutor) => Promise<T>): Promise<T> {
    const conn = await this.pool.getConnection();
    const scope = new MysqlConn(conn);
    try {
      return await fn(scope);
    } finally {
      scope.done = true;
      conn.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
