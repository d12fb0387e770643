/**
 * The SQL storage driver contract shared by SQLite (better-sqlite3) and
 * MySQL/MariaDB (mysql2). Generated DAOs, the migrator and the event log all
 * speak to a store through these interfaces only.
 */

export type Dialect = "sqlite" | "mysql";

/** A value bound to a `?` placeholder. */
export type SqlValue = null | number | bigint | string | Uint8Array | boolean;

/** A row as the driver returns it (column name → value). */
export type SqlRow = Record<string, unknown>;

export interface RunResult {
  /**
   * Rows changed. MySQL reports affected rows without CLIENT_FOUND_ROWS: an
   * UPDATE to identical values counts 0, an upsert that updates counts 2.
   */
  readonly changes: number;
  readonly lastInsertId: bigint;
}

/** Something that runs statements: the store itself or a transaction. */
export interface SqlExecutor {
  readonly dialect: Dialect;
  /** Runs a prepared statement and returns every row. */
  all<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]>;
  /** Runs a prepared statement and returns the first row, if any. */
  get<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R | undefined>;
  /**
   * Like `get`, but the row is an array of its values in select-list order:
   * no column-name object per row (the generated DAOs know their select
   * lists and read every row this way).
   */
  getValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[] | undefined>;
  /** Like `all`, with every row an array of its values in select-list order. */
  allValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]>;
  /** Runs a prepared statement that returns no rows. */
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
  /** Runs unprepared SQL text without parameters (DDL, session settings). */
  exec(sql: string): Promise<void>;
}

export interface SqlTx extends SqlExecutor {
  /** Registers a callback to run once the transaction has committed. */
  afterCommit(fn: () => void): void;
}

/** Whether `v` is a transaction (it has afterCommit), as opposed to a schema or a store. */
export function isSqlTx(v: unknown): v is SqlTx {
  return typeof (v as SqlTx | null)?.afterCommit === "function";
}

export interface TransactionOptions {
  /** SQLite: take the write lock at BEGIN (BEGIN IMMEDIATE). Default true. */
  readonly immediate?: boolean;
}

export interface SqlDb extends SqlExecutor {
  /** Where the store lives, with any password removed (for logs). */
  readonly url: string;
  /**
   * Runs `fn` inside a transaction: commits if it resolves, rolls back if it
   * throws. Statements must go through `tx`, not through the store, while the
   * transaction is open.
   */
  transaction<T>(fn: (tx: SqlTx) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  /**
   * Runs `fn` holding one connection (MySQL) or the store (SQLite) outside a
   * transaction: for session-scoped work such as GET_LOCK.
   */
  withConnection<T>(fn: (conn: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * One write in a transaction of its own that commits only if `beforeCommit`
   * (called once the statement ran) does not throw: what
   * `transaction((tx) => tx.run(…))` with that check does, on a cheaper path.
   * Optional (MySQL has it; callers fall back to `transaction`).
   */
  runCommitted?(sql: string, params: readonly SqlValue[] | undefined, beforeCommit: () => void): Promise<RunResult>;
  close(): Promise<void>;
}

/** Thrown for a unique-key violation, in either dialect. */
export class DuplicateKeyError extends Error {
  override readonly name = "DuplicateKeyError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** True if `err` is a unique/primary-key violation from either driver. */
export function isDuplicateKey(err: unknown): boolean {
  if (err instanceof DuplicateKeyError || (err as { name?: unknown } | null)?.name === "DuplicateKeyError") return true;
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ER_DUP_ENTRY" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE";
}
