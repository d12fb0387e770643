/**
 * A store whose writes made for a call commit only while the call is live.
 *
 * When a call's deadline passes (or its client goes away, or the bundle shuts
 * down) the caller is answered at once, but the handler keeps running until
 * it next looks at its signal. Whatever it then writes must not commit: a
 * client told DEADLINE_EXCEEDED retries, and would log in, post or like twice.
 * So a transaction opened for such a call rolls back instead of committing,
 * and a write outside a transaction is not sent; both fail with the error the
 * caller was given. Work outside any call (consumers, `detached(…)`) and calls
 * that ended normally are not affected.
 *
 * This bounds what a late handler can commit, not how long it runs: the store's
 * own timeouts under a deadline are the reliability work's (issue 12).
 */
import type {
  Dialect,
  RunResult,
  SqlDb,
  SqlExecutor,
  SqlRow,
  SqlTx,
  SqlValue,
  TransactionOptions,
} from "../storage/driver.js";
import { currentCall } from "./call-scope.js";

/** Throws the error the current call ended with, if it ended early. */
export function assertCallLive(): void {
  const early = currentCall()?.failedEarly;
  if (early) throw early;
}

/** `db`, with the commit of a transaction and every write outside one checked against the current call. */
export function guardCommits(db: SqlDb): SqlDb {
  return new GuardedDb(db);
}

class GuardedDb implements SqlDb {
  readonly dialect: Dialect;
  readonly url: string;

  constructor(private readonly db: SqlDb) {
    this.dialect = db.dialect;
    this.url = db.url;
  }

  transaction<T>(fn: (tx: SqlTx) => Promise<T>, opts?: TransactionOptions): Promise<T> {
    return this.db.transaction(async (tx) => {
      const result = await fn(tx);
      assertCallLive(); // throwing here rolls the transaction back
      return result;
    }, opts);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    assertCallLive();
    // On MySQL a write outside a transaction commits when the server reads it: sent just
    // before the store froze, it would commit when the store wakes, long after the caller
    // was told deadline_exceeded. Inside a transaction only the COMMIT commits, and it is
    // sent only while the call is live.
    if (this.dialect === "mysql" && currentCall()?.deadline !== undefined) {
      if (this.db.runCommitted) return this.db.runCommitted(sql, params, assertCallLive);
      return this.db.transaction(async (tx) => {
        const r = await tx.run(sql, params);
        assertCallLive();
        return r;
      });
    }
    return this.db.run(sql, params);
  }

  all<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    return this.db.all<R>(sql, params);
  }

  get<R = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R | undefined> {
    return this.db.get<R>(sql, params);
  }

  getValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[] | undefined> {
    return this.db.getValues(sql, params);
  }

  allValues(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]> {
    return this.db.allValues(sql, params);
  }

  exec(sql: string): Promise<void> {
    return this.db.exec(sql);
  }

  withConnection<T>(fn: (conn: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.withConnection(fn);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
