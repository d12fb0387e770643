/**
 * Real stores for tests: a fresh SQLite file in a temp dir, and a fresh
 * database on the MariaDB at ORBIT_TEST_MYSQL_URL (default
 * mysql://root@127.0.0.1:3306/test). MariaDB is required: if it cannot be
 * reached the test fails, it is never skipped.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import mysql from "mysql2/promise";
import type { SqlDb } from "../../platform/storage/driver.js";
import { openSqlStore } from "../../platform/storage/open.js";

export const MYSQL_URL = process.env.ORBIT_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

export interface TestStore {
  readonly db: SqlDb;
  /** URL that opens the same store (for child processes). */
  readonly url: string;
  /** Closes the store and removes its data. */
  dispose(): Promise<void>;
}

let counter = 0;
function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
}

/** A fresh SQLite database file. */
export function sqliteStore(): TestStore {
  const dir = mkdtempSync(join(tmpdir(), "orbit-test-"));
  const url = `sqlite:${join(dir, "orbit.db")}`;
  const db = openSqlStore(url);
  return {
    db,
    url,
    async dispose() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh, empty MariaDB database (dropped by dispose). */
export async function mysqlStore(): Promise<TestStore> {
  const base = new URL(MYSQL_URL);
  const name = uniqueName("orbit_t");
  let admin: mysql.Connection;
  try {
    admin = await mysql.createConnection({
      host: base.hostname,
      port: Number(base.port || 3306),
      user: decodeURIComponent(base.username || "root"),
      password: base.password ? decodeURIComponent(base.password) : undefined,
    });
  } catch (err) {
    throw new Error(
      `MariaDB is required for the tests and is not reachable at ${MYSQL_URL}: ${(err as Error).message}. ` +
        "Start it with: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
    );
  }
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  const u = new URL(MYSQL_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const db = openSqlStore(url);
  return {
    db,
    url,
    async dispose() {
      await db.close();
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    },
  };
}

/** Both engines, for suites that run the same tests on each. */
export const ENGINES = [
  { name: "sqlite", open: async () => sqliteStore() },
  { name: "mariadb", open: mysqlStore },
] as const;

/**
 * Both engines for suites that run `orbit bundle` on the store: `args` are
 * the bundle flags that point it at the store.
 */
export const BUNDLE_ENGINES = [
  {
    name: "SQLite",
    open: async () => sqliteStore(),
    args: (s: TestStore) => ["--data-dir", dirname(s.url.slice("sqlite:".length))],
  },
  { name: "MariaDB", open: mysqlStore, args: (s: TestStore) => ["--mysql", s.url] },
] as const;
