/**
 * What the MySQL-family server can do, from SELECT VERSION(): MariaDB or
 * MySQL, and the features whose syntax differs by version.
 */
import type { SqlExecutor } from "../platform/storage/driver.js";

export interface MysqlServer {
  readonly version: string;
  readonly mariadb: boolean;
  /** ALTER TABLE … RENAME COLUMN (MariaDB ≥ 10.5.2, MySQL ≥ 8.0); else CHANGE. */
  readonly renameColumn: boolean;
  /** TEXT/BLOB defaults: "literal" (MariaDB ≥ 10.2.1), "expression" (MySQL ≥ 8.0.13), "none". */
  readonly lobDefaults: "literal" | "expression" | "none";
}

function atLeast(v: number[], want: number[]): boolean {
  for (let i = 0; i < want.length; i++) {
    const a = v[i] ?? 0;
    if (a !== want[i]) return a > want[i]!;
  }
  return true;
}

export function mysqlServerOf(version: string): MysqlServer {
  const mariadb = /mariadb/i.test(version);
  const nums = (/^(\d+)\.(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
  return {
    version,
    mariadb,
    renameColumn: mariadb ? atLeast(nums, [10, 5, 2]) : atLeast(nums, [8, 0, 0]),
    lobDefaults: mariadb
      ? atLeast(nums, [10, 2, 1])
        ? "literal"
        : "none"
      : atLeast(nums, [8, 0, 13])
        ? "expression"
        : "none",
  };
}

export async function detectMysqlServer(db: SqlExecutor): Promise<MysqlServer> {
  const row = await db.get<{ v: string }>("SELECT VERSION() AS v");
  return mysqlServerOf(String(row?.v ?? ""));
}
