/**
 * Reads the live schema of a SQLite database with two queries over the
 * table-valued pragmas (table_info, index_list, index_info). Indexes that
 * back the primary key or a UNIQUE constraint written in CREATE TABLE are
 * not managed (only CREATE INDEX ones are).
 */
import type { SqlExecutor } from "../storage/driver.js";
import type { IndexShape, LiveColumn, LiveSchema, LiveTable } from "./model.js";
import { parseSqliteDefault } from "../storage/sql/sql-literal.js";

interface ColumnRow {
  tbl: string;
  name: string;
  type: string;
  notnull: bigint | number;
  dflt_value: string | null;
  pk: bigint | number;
}

interface IndexRow {
  tbl: string;
  idx: string;
  uniq: bigint | number;
  origin: string;
  seqno: bigint | number;
  col: string | null;
}

export const SQLITE_COLUMNS_SQL =
  'SELECT m.name AS tbl, p.name AS name, p.type AS type, p."notnull" AS "notnull", p.dflt_value AS dflt_value, p.pk AS pk ' +
  "FROM sqlite_schema AS m JOIN pragma_table_info(m.name) AS p " +
  "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY m.name, p.cid";

export const SQLITE_INDEXES_SQL =
  'SELECT m.name AS tbl, il.name AS idx, il."unique" AS uniq, il.origin AS origin, ii.seqno AS seqno, ii.name AS col ' +
  "FROM sqlite_schema AS m JOIN pragma_index_list(m.name) AS il JOIN pragma_index_info(il.name) AS ii " +
  "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY m.name, il.name, ii.seqno";

export async function introspectSqlite(db: SqlExecutor): Promise<LiveSchema> {
  const colRows = await db.all<ColumnRow>(SQLITE_COLUMNS_SQL);
  const idxRows = await db.all<IndexRow>(SQLITE_INDEXES_SQL);
  const cols = new Map<string, { columns: LiveColumn[]; pk: { name: string; pos: number }[] }>();
  for (const r of colRows) {
    let t = cols.get(r.tbl);
    if (!t) cols.set(r.tbl, (t = { columns: [], pk: [] }));
    t.columns.push({
      name: r.name,
      type: r.type,
      // A primary-key column of a rowid table reports notnull 0 but can hold no NULL we manage.
      nullable: Number(r.notnull) === 0 && Number(r.pk) === 0,
      default: parseSqliteDefault(r.dflt_value),
    });
    if (Number(r.pk) > 0) t.pk.push({ name: r.name, pos: Number(r.pk) });
  }
  const idx = new Map<string, Map<string, { unique: boolean; columns: string[]; managed: boolean }>>();
  for (const r of idxRows) {
    let byName = idx.get(r.tbl);
    if (!byName) idx.set(r.tbl, (byName = new Map()));
    let i = byName.get(r.idx);
    if (!i) byName.set(r.idx, (i = { unique: Number(r.uniq) === 1, columns: [], managed: r.origin === "c" }));
    // An index on an expression has a NULL column name: not one of ours.
    if (r.col === null) i.managed = false;
    else i.columns.push(r.col);
  }
  const out = new Map<string, LiveTable>();
  for (const [name, t] of cols) {
    const indexes: IndexShape[] = [];
    for (const [iname, i] of idx.get(name) ?? []) {
      if (i.managed) indexes.push({ name: iname, columns: i.columns, unique: i.unique });
    }
    out.set(name, {
      name,
      columns: t.columns,
      primaryKey: t.pk.sort((a, b) => a.pos - b.pos).map((p) => p.name),
      indexes,
    });
  }
  return out;
}
