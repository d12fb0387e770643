/**
 * The SQL text of every generated DAO method, per dialect, built at gen time
 * and emitted as constants a reader can see (the sqlc habit). Only prepared
 * statements with `?` placeholders.
 */
import type { Dialect } from "../../platform/storage/driver.js";
import type { SqlTableSpec } from "../../platform/storage/schema.js";
import { quoteIdent } from "../../platform/storage/sql/query.js";
import { countFinders, deleteFinders, listFinders, uniqueFinders, type DeleteFinder } from "./finders.js";

export interface KeysetText {
  asc: string;
  ascAfter: string;
  desc: string;
  descAfter: string;
}

export interface TableSql {
  insert: string;
  /** One-row upsert: insertHead + insertTuple + upsertTail. */
  upsert: string;
  /** One-row insert that leaves an existing row alone: insertHead + insertTuple + insertIfAbsentTail. */
  insertIfAbsent: string;
  insertHead: string;
  insertTuple: string;
  upsertTail: string;
  /**
   * MySQL, tables with a unique secondary index: `SELECT COUNT(*) … WHERE
   * key IN` (the key list is appended at run time), run after an upsert to
   * find rows the guarded upsertTail left alone because they collided with
   * another row on a unique index. Empty otherwise.
   */
  upsertCheck: string;
  insertIfAbsentTail: string;
  get: string;
  /** SELECT … WHERE k IN — the placeholder list is appended at run time. Single-column keys only. */
  getManyHead: string;
  delete: string;
  updateWhere: string;
  count: string;
  list: KeysetText;
  unique: Record<string, string>;
  finders: Record<string, KeysetText>;
  counts: Record<string, string>;
  /** Bounded deletes (`deleteBy…`): the equality values, then the limit. */
  deletes: Record<string, string>;
  increments: Record<string, string>;
}

function keysetCondition(cols: readonly string[], op: ">" | "<", q: (s: string) => string): string {
  // (a > ? OR (a = ? AND (b > ? OR (b = ? AND c > ?))))
  const build = (i: number): string =>
    i === cols.length - 1
      ? `${q(cols[i]!)} ${op} ?`
      : `(${q(cols[i]!)} ${op} ? OR (${q(cols[i]!)} = ? AND ${build(i + 1)}))`;
  const inner = build(0);
  return inner.startsWith("(") ? inner : `(${inner})`;
}

function keyset(
  select: string,
  eq: readonly string[],
  orderBy: readonly string[],
  q: (s: string) => string,
): KeysetText {
  const where = eq.map((c) => `${q(c)} = ?`);
  const order = (dir: "ASC" | "DESC") => orderBy.map((c) => `${q(c)} ${dir}`).join(", ");
  const stmt = (extra: string | undefined, dir: "ASC" | "DESC") => {
    const conds = extra ? [...where, extra] : where;
    return `${select}${conds.length ? ` WHERE ${conds.join(" AND ")}` : ""} ORDER BY ${order(dir)} LIMIT ?`;
  };
  return {
    asc: stmt(undefined, "ASC"),
    ascAfter: stmt(keysetCondition(orderBy, ">", q), "ASC"),
    desc: stmt(undefined, "DESC"),
    descAfter: stmt(keysetCondition(orderBy, "<", q), "DESC"),
  };
}

/**
 * A bounded delete: the rows matching `eq`, at most `?` of them, taken in
 * the finder's (index) order so the statement reads no more of the index
 * than it deletes and deletes the same rows on a replica.
 * - MySQL/MariaDB take `DELETE … ORDER BY … LIMIT ?` (a LIMIT placeholder
 *   is fine in a server-side prepared DELETE).
 * - SQLite has `DELETE … LIMIT` only when built with
 *   SQLITE_ENABLE_UPDATE_DELETE_LIMIT, so the statement deletes by primary
 *   key from a limited subquery, which works for rowid and WITHOUT ROWID
 *   tables alike (it is what SQLite itself rewrites `DELETE … LIMIT` to).
 */
function boundedDelete(spec: SqlTableSpec, d: DeleteFinder, dialect: Dialect, q: (s: string) => string): string {
  const t = q(spec.name);
  const where = d.eq.map((c) => `${q(c)} = ?`).join(" AND ");
  const order = d.orderBy.map(q).join(", ");
  if (dialect === "mysql") return `DELETE FROM ${t} WHERE ${where} ORDER BY ${order} LIMIT ?`;
  const key = spec.primaryKey.map(q).join(", ");
  const lhs = spec.primaryKey.length === 1 ? key : `(${key})`;
  return `DELETE FROM ${t} WHERE ${lhs} IN (SELECT ${key} FROM ${t} WHERE ${where} ORDER BY ${order} LIMIT ?)`;
}

/**
 * True if a unique index other than the primary key could conflict on its
 * own: one that does not include every primary-key column.
 */
export function hasUniqueSecondary(spec: SqlTableSpec): boolean {
  return uniqueSecondaries(spec).length > 0;
}

export function uniqueSecondaries(spec: SqlTableSpec): string[] {
  return spec.indexes
    .filter((i) => i.unique && !spec.primaryKey.every((k) => i.columns.includes(k)))
    .map((i) => i.name);
}

export function tableSql(spec: SqlTableSpec, dialect: Dialect): TableSql {
  const q = (s: string) => quoteIdent(s, dialect);
  const t = q(spec.name);
  const all = spec.columns.map((c) => q(c.name)).join(", ");
  const writable = spec.columns.filter((c) => !c.counter);
  const cols = writable.map((c) => q(c.name)).join(", ");
  const tuple = `(${writable.map(() => "?").join(", ")})`;
  const keyWhere = spec.primaryKey.map((k) => `${q(k)} = ?`).join(" AND ");
  const nonKey = writable.filter((c) => !spec.primaryKey.includes(c.name));
  const firstKey = q(spec.primaryKey[0]!);
  // MySQL's ON DUPLICATE KEY UPDATE fires on a conflict with ANY unique key,
  // SQLite's ON CONFLICT (pk) only on the primary key (a unique-index
  // conflict is an error). With unique secondary indexes the MySQL update
  // list is guarded to change a row only when its primary key matches; the
  // DAO then finds the rows that were left alone (upsertCheck) and throws.
  const guarded = dialect === "mysql" && hasUniqueSecondary(spec);
  const pkMatch = spec.primaryKey.map((k) => `${q(k)} <=> VALUES(${q(k)})`).join(" AND ");
  const upsertTail =
    dialect === "sqlite"
      ? nonKey.length
        ? ` ON CONFLICT (${spec.primaryKey.map(q).join(", ")}) DO UPDATE SET ${nonKey.map((c) => `${q(c.name)} = excluded.${q(c.name)}`).join(", ")}`
        : " ON CONFLICT DO NOTHING"
      : nonKey.length
        ? ` ON DUPLICATE KEY UPDATE ${nonKey
            .map((c) =>
              guarded
                ? `${q(c.name)} = IF(${pkMatch}, VALUES(${q(c.name)}), ${q(c.name)})`
                : `${q(c.name)} = VALUES(${q(c.name)})`,
            )
            .join(", ")}`
        : ` ON DUPLICATE KEY UPDATE ${firstKey} = ${firstKey}`;
  const keyList = spec.primaryKey.length === 1 ? firstKey : `(${spec.primaryKey.map(q).join(", ")})`;
  const upsertCheck = guarded ? `SELECT COUNT(*) AS ${q("n")} FROM ${t} WHERE ${keyList} IN` : "";
  const insertIfAbsentTail =
    dialect === "sqlite" ? " ON CONFLICT DO NOTHING" : ` ON DUPLICATE KEY UPDATE ${firstKey} = ${firstKey}`;
  const select = `SELECT ${all} FROM ${t}`;
  const unique: Record<string, string> = {};
  for (const u of uniqueFinders(spec)) {
    unique[u.name] = `${select} WHERE ${u.columns.map((c) => `${q(c)} = ?`).join(" AND ")}`;
  }
  const finders: Record<string, KeysetText> = {};
  const counts: Record<string, string> = {};
  for (const f of listFinders(spec)) finders[f.name] = keyset(select, f.eq, f.orderBy, q);
  for (const c of countFinders(spec)) {
    counts[c.name] = `SELECT COUNT(*) AS ${q("n")} FROM ${t} WHERE ${c.eq.map((x) => `${q(x)} = ?`).join(" AND ")}`;
  }
  const deletes: Record<string, string> = {};
  for (const d of deleteFinders(spec)) deletes[d.name] = boundedDelete(spec, d, dialect, q);
  const increments: Record<string, string> = {};
  for (const c of spec.columns.filter((c) => c.counter)) {
    increments[c.name] = `UPDATE ${t} SET ${q(c.name)} = ${q(c.name)} + ? WHERE ${keyWhere}`;
  }
  return {
    insert: `INSERT INTO ${t} (${cols}) VALUES ${tuple}`,
    upsert: `INSERT INTO ${t} (${cols}) VALUES ${tuple}${upsertTail}`,
    insertIfAbsent: `INSERT INTO ${t} (${cols}) VALUES ${tuple}${insertIfAbsentTail}`,
    insertHead: `INSERT INTO ${t} (${cols}) VALUES`,
    insertTuple: tuple,
    upsertTail,
    upsertCheck,
    insertIfAbsentTail,
    get: `${select} WHERE ${keyWhere}`,
    getManyHead: spec.primaryKey.length === 1 ? `${select} WHERE ${q(spec.primaryKey[0]!)} IN` : "",
    delete: `DELETE FROM ${t} WHERE ${keyWhere}`,
    updateWhere: keyWhere,
    count: `SELECT COUNT(*) AS ${q("n")} FROM ${t}`,
    list: keyset(select, [], spec.primaryKey, q),
    unique,
    finders,
    counts,
    deletes,
    increments,
  };
}
