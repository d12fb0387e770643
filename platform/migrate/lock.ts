/**
 * The migration lock, so concurrent boots do not race: one process migrates,
 * the others wait and then find nothing to do.
 *
 * - MySQL/MariaDB: GET_LOCK on one dedicated connection, which also runs
 *   every DDL statement. The server frees the lock when that connection
 *   ends, so a crashed process cannot leave it held, and a process that
 *   lost its connection (and with it the lock) cannot run more DDL.
 * - SQLite: one write transaction (BEGIN IMMEDIATE) around the whole run.
 *   SQLite DDL is transactional, so a crash rolls the run back entirely.
 */
import { createHash } from "node:crypto";
import type { SqlDb, SqlExecutor } from "../storage/driver.js";
import { MigrationLockTimeoutError } from "./errors.js";

export interface LockedSession {
  /** Where schema DDL and history writes go while the lock is held. */
  readonly exec: SqlExecutor;
  /** Runs `fn` in a transaction (on SQLite, inside the one already open). */
  inTransaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** How long the lock took to get. */
  readonly waitedMs: number;
}

export interface LockOptions {
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}

/** The GET_LOCK name for a database (names are limited to 64 characters). */
export function mysqlLockName(database: string): string {
  const name = `orbit.migrate.${database}`;
  return name.length <= 64 ? name : `orbit.migrate.${createHash("sha256").update(database).digest("hex").slice(0, 40)}`;
}

async function withMysqlLock<T>(db: SqlDb, opts: LockOptions, fn: (s: LockedSession) => Promise<T>): Promise<T> {
  return db.withConnection(async (conn) => {
    const started = Date.now();
    const dbRow = await conn.get<{ d: string | null }>("SELECT DATABASE() AS d");
    const name = mysqlLockName(String(dbRow?.d ?? ""));
    let warned = false;
    for (;;) {
      const left = opts.timeoutMs - (Date.now() - started);
      if (left <= 0) {
        throw new MigrationLockTimeoutError(
          `gave up waiting ${Math.round(opts.timeoutMs / 1000)} s for the migration lock ${name} on ${db.url}`,
        );
      }
      const wait = Math.max(1, Math.min(5, Math.ceil(left / 1000)));
      const row = await conn.get<{ ok: unknown; holder: unknown }>(
        "SELECT GET_LOCK(?, ?) AS ok, IS_USED_LOCK(?) AS holder",
        [name, wait, name],
      );
      const ok = row?.ok === null || row?.ok === undefined ? null : Number(row.ok);
      if (ok === 1) break;
      if (ok === null) throw new Error(`GET_LOCK(${name}) failed on ${db.url}`);
      if (!warned) {
        opts.log(`migrate: another process (connection ${String(row?.holder)}) is migrating ${db.url}; waiting for it`);
        warned = true;
      }
    }
    const waitedMs = Date.now() - started;
    // Transactions run on the lock connection too: the named lock outlives
    // them, and a pool of one connection cannot deadlock.
    const inTransaction = async <R>(f: (tx: SqlExecutor) => Promise<R>): Promise<R> => {
      await conn.exec("START TRANSACTION");
      try {
        const r = await f(conn);
        await conn.exec("COMMIT");
        return r;
      } catch (err) {
        await conn.exec("ROLLBACK").catch(() => undefined);
        throw err;
      }
    };
    try {
      return await fn({ exec: conn, inTransaction, waitedMs });
    } finally {
      await conn.get("SELECT RELEASE_LOCK(?) AS r", [name]).catch(() => undefined);
    }
  });
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "SQLITE_BUSY" || code === "SQLITE_BUSY_SNAPSHOT" || code === "SQLITE_LOCKED";
}

async function withSqliteLock<T>(db: SqlDb, opts: LockOptions, fn: (s: LockedSession) => Promise<T>): Promise<T> {
  const started = Date.now();
  let warned = false;
  for (;;) {
    let entered = false;
    try {
      return await db.transaction(
        async (tx) => {
          entered = true;
          return fn({ exec: tx, inTransaction: (f) => f(tx), waitedMs: Date.now() - started });
        },
        { immediate: true },
      );
    } catch (err) {
      // Only a failure to BEGIN is a lock wait; anything inside is the run's own error.
      if (entered || !isBusy(err)) throw err;
      if (Date.now() - started >= opts.timeoutMs) {
        throw new MigrationLockTimeoutError(
          `gave up waiting ${Math.round(opts.timeoutMs / 1000)} s for the write lock on ${db.url}`,
        );
      }
      if (!warned) {
        opts.log(`migrate: another process holds the write lock on ${db.url}; waiting for it`);
        warned = true;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export function withMigrationLock<T>(db: SqlDb, opts: LockOptions, fn: (s: LockedSession) => Promise<T>): Promise<T> {
  return db.dialect === "mysql" ? withMysqlLock(db, opts, fn) : withSqliteLock(db, opts, fn);
}
