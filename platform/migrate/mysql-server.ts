/**
 * What the MySQL-family server can do, from SELECT VERSION(): MariaDB or
 * MySQL, and the features whose syntax differs by version.
 */
import type { SqlExecutor } from "../storage/driver.js";

export interface MysqlServer {
  readonly version: string;
  readonly mariadb: boolean;
  /** ALTER TABLE … RENAME COLUMN (MariaDB ≥ 10.5.2, MySQL ≥ 8.0); else CHANGE. */
  readonly renameColumn: boolean;
  /** TEXT/BLOB defaults: "literal" (MariaDB ≥ 10.2.1), "expression" (MySQL ≥ 8.0.13), "none". */
  readonly lobDefaults: "literal" | "expression" | "none";
  /**
   * The binary utf8mb4 collation the migrator creates tables with: a NO PAD
   * one where the server has it (MariaDB ≥ 10.2.2 utf8mb4_nopad_bin, MySQL ≥
   * 8.0.17 utf8mb4_0900_bin), so "a" and "a " are different keys, as on
   * SQLite and Cassandra; else utf8mb4_bin (PAD SPACE: trailing spaces are
   * ignored in comparisons).
   */
  readonly binaryCollation: string;
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
    binaryCollation: mariadb
      ? atLeast(nums, [10, 2, 2])
        ? "utf8mb4_nopad_bin"
        : "utf8mb4_bin"
      : atLeast(nums, [8, 0, 17])
        ? "utf8mb4_0900_bin"
        : "utf8mb4_bin",
  };
}

export async function detectMysqlServer(db: SqlExecutor): Promise<MysqlServer> {
  const row = await db.get<{ v: string }>("SELECT VERSION() AS v");
  return mysqlServerOf(String(row?.v ?? ""));
}
