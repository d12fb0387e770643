/** A scratch MariaDB/MySQL database for one bench step, created fresh and dropped afterwards. */
import type { MysqlDb } from "../../platform/storage/mysql.js";
import { openSqlStore } from "../../platform/storage/open.js";

/** The server the benches use: ORBIT_BENCH_MYSQL_URL, else the local MariaDB's `test` database. */
export const MYSQL_URL = process.env.ORBIT_BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

export interface ScratchMysql {
  readonly db: MysqlDb;
  /** The scratch database's URL (for child processes). */
  readonly url: string;
  /** Closes the store and drops the database. */
  dispose(): Promise<void>;
}

/** Creates (after dropping any leftover) database `name` on MYSQL_URL's server and opens it with `pool` connections. */
export async function scratchMysql(name: string, opts: { pool?: number } = {}): Promise<ScratchMysql> {
  const admin = openSqlStore(MYSQL_URL);
  await admin.exec(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.exec(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  const u = new URL(MYSQL_URL);
  u.pathname = `/${name}`;
  if (opts.pool !== undefined) u.searchParams.set("pool", String(opts.pool));
  const db = openSqlStore(u.toString()) as MysqlDb;
  return {
    db,
    url: u.toString(),
    async dispose() {
      await db.close();
      await admin.exec(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.close();
    },
  };
}
