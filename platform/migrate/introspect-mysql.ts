/**
 * Reads the live schema of the current MySQL/MariaDB database from
 * information_schema (two queries: columns of base tables, and index
 * columns). Only B-tree indexes on whole columns are managed; FULLTEXT,
 * SPATIAL and prefix indexes made by hand are left alone.
 */
import type { SqlExecutor } from "../storage/driver.js";
import type { IndexShape, LiveColumn, LiveSchema, LiveTable } from "./model.js";
import type { MysqlServer } from "./mysql-server.js";
import { parseMysqlDefault } from "../storage/sql/sql-literal.js";
import { mysqlValueClass } from "../storage/sql/sql-types.js";

interface ColumnRow {
  tbl: string;
  name: string;
  type: string;
  nullable: string;
  dflt: string | null;
  extra: string | null;
}

interface IndexRow {
  tbl: string;
  idx: string;
  non_unique: number | string;
  seq: number | string;
  col: string | null;
  sub_part: number | string | null;
  idx_type: string;
}

export const MYSQL_COLUMNS_SQL =
  "SELECT c.TABLE_NAME AS tbl, c.COLUMN_NAME AS name, c.COLUMN_TYPE AS type, c.IS_NULLABLE AS nullable, " +
  "c.COLUMN_DEFAULT AS dflt, c.EXTRA AS extra " +
  "FROM information_schema.COLUMNS AS c JOIN information_schema.TABLES AS t " +
  "ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME " +
  "WHERE c.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE' " +
  "ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION";

export const MYSQL_INDEXES_SQL =
  "SELECT TABLE_NAME AS tbl, INDEX_NAME AS idx, NON_UNIQUE AS non_unique, SEQ_IN_INDEX AS seq, " +
  "COLUMN_NAME AS col, SUB_PART AS sub_part, INDEX_TYPE AS idx_type " +
  "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() " +
  "ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX";

export async function introspectMysql(db: SqlExecutor, server: MysqlServer): Promise<LiveSchema> {
  const colRows = await db.all<ColumnRow>(MYSQL_COLUMNS_SQL);
  const idxRows = await db.all<IndexRow>(MYSQL_INDEXES_SQL);
  const cols = new Map<string, LiveColumn[]>();
  for (const r of colRows) {
    let list = cols.get(r.tbl);
    if (!list) cols.set(r.tbl, (list = []));
    list.push({
      name: r.name,
      type: r.type,
      nullable: r.nullable === "YES",
      default: parseMysqlDefault(r.dflt, {
        mariadb: server.mariadb,
        extra: r.extra ?? "",
        valueClass: mysqlValueClass(r.type),
      }),
    });
  }
  const idx = new Map<string, Map<string, { unique: boolean; columns: string[]; managed: boolean }>>();
  for (const r of idxRows) {
    let byName = idx.get(r.tbl);
    if (!byName) idx.set(r.tbl, (byName = new Map()));
    let i = byName.get(r.idx);
    if (!i) {
      byName.set(
        r.idx,
        (i = {
          unique: Number(r.non_unique) === 0,
          columns: [],
          managed: r.idx_type === "BTREE" || r.idx_type === "HASH",
        }),
      );
    }
    if (r.col === null || r.sub_part !== null) i.managed = false;
    else i.columns.push(r.col);
  }
  const out = new Map<string, LiveTable>();
  for (const [name, columns] of cols) {
    let primaryKey: string[] = [];
    const indexes: IndexShape[] = [];
    for (const [iname, i] of idx.get(name) ?? []) {
      if (iname === "PRIMARY") primaryKey = i.columns;
      else if (i.managed) indexes.push({ name: iname, columns: i.columns, unique: i.unique });
    }
    out.set(name, { name, columns, primaryKey, indexes });
  }
  return out;
}
