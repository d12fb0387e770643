/**
 * The few statements a generated DAO cannot spell out at gen time — a
 * multi-row INSERT for N rows, an UPDATE of the fields a patch sets, a
 * keyset page — built here from fragments the generator emitted, and the
 * checks of the bounded deletes.
 */
import { DuplicateKeyError, type Dialect, type SqlDb, type SqlExecutor, type SqlValue } from "../driver.js";
import { decodePageToken, encodePageToken, pageLimit, pageOrder, type Page, type PageOptions } from "./page.js";

/** SQLite's default limit on bound parameters is 32766; MySQL's is 65535. */
const MAX_PARAMS = 32_000;

/**
 * Inserts rows with multi-row INSERTs. Chunks are powers of two, so a table
 * sees at most ~16 distinct statements however many rows are inserted.
 * `head` is "INSERT INTO t (a, b) VALUES", `tuple` is "(?, ?)", `tail` an
 * optional upsert clause.
 */
export async function insertRows(
  db: SqlExecutor,
  head: string,
  tuple: string,
  tail: string,
  rows: readonly SqlValue[][],
): Promise<number> {
  if (rows.length === 0) return 0;
  const maxRows = maxRowsPerStatement(rows[0]!.length);
  let changes = 0;
  let i = 0;
  while (i < rows.length) {
    const left = rows.length - i;
    const n = Math.min(maxRows, 2 ** Math.floor(Math.log2(left)));
    const sql = `${head} ${new Array<string>(n).fill(tuple).join(", ")}${tail}`;
    const params: SqlValue[] = [];
    for (let r = i; r < i + n; r++) params.push(...rows[r]!);
    changes += (await db.run(sql, params)).changes;
    i += n;
  }
  return changes;
}

function maxRowsPerStatement(width: number): number {
  return Math.max(1, 2 ** Math.floor(Math.log2(Math.max(1, Math.floor(MAX_PARAMS / width)))));
}

/** True if insertRows needs more than one statement for `rows`. */
function manyStatements(rows: readonly SqlValue[][]): boolean {
  const n = rows.length;
  return n > maxRowsPerStatement(rows[0]!.length) || (n & (n - 1)) !== 0;
}

/** The store itself (which can open a transaction), as opposed to a transaction or a held connection. */
function isStore(db: SqlExecutor): db is SqlDb {
  return typeof (db as Partial<SqlDb>).transaction === "function";
}

/**
 * What a generated DAO passes for a MySQL upsert into a table with a unique
 * secondary index (see upsertRows).
 */
export interface UpsertCheck {
  readonly table: string;
  /** Positions of the primary-key values in a bound row. */
  readonly keyAt: readonly number[];
  /** The unique secondary indexes, for the error message. */
  readonly uniqueIndexes: readonly string[];
}

function keyText(v: SqlValue): string {
  if (v instanceof Uint8Array) return `x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex")}`;
  return `${typeof v}:${String(v)}`;
}

/**
 * After a guarded MySQL upsert: every row's primary key must now exist. One
 * that does not was left alone because it collided with another row on a
 * unique index, which SQLite answers with a UNIQUE constraint error, so this
 * throws DuplicateKeyError naming the table. `countHead` is the generated
 * `SELECT COUNT(*) … WHERE key IN`.
 */
export async function checkUpserted(
  db: SqlExecutor,
  countHead: string,
  check: UpsertCheck,
  rows: readonly SqlValue[][],
): Promise<void> {
  const keys = new Map<string, SqlValue[]>();
  for (const r of rows) {
    const key = check.keyAt.map((i) => r[i]!);
    keys.set(key.map(keyText).join("\u0000"), key);
  }
  const all = [...keys.values()];
  const tuple = check.keyAt.length === 1 ? "?" : `(${check.keyAt.map(() => "?").join(", ")})`;
  let found = 0;
  for (const { list, items } of inLists(all, tuple)) {
    const r = await db.get<{ n: unknown }>(`${countHead} ${list}`, items.flat());
    found += Number(r?.n ?? 0);
  }
  if (found < all.length) {
    const missing = all.length - found;
    throw new DuplicateKeyError(
      `upsert into ${check.table}: ${missing === 1 ? "a row collides" : `${missing} rows collide`} with another row on unique index ` +
        `${check.uniqueIndexes.join(" or ")} (duplicate key)`,
    );
  }
}

/**
 * upsertMany: multi-row upserts, all or nothing. When the rows need more
 * than one statement, or (MySQL, a table with a unique secondary index)
 * a check after them, they run in a transaction of their own, rolled back
 * if any row fails; called with a transaction (`dao.with(tx)`), they run in
 * it and the caller decides. On a held connection (`withConnection`), rows
 * written before a failure stay.
 */
export async function upsertRows(
  db: SqlExecutor,
  head: string,
  tuple: string,
  tail: string,
  rows: readonly SqlValue[][],
  countHead: string,
  check?: UpsertCheck,
): Promise<void> {
  if (rows.length === 0) return;
  const guarded = countHead !== "" && check !== undefined;
  const run = async (ex: SqlExecutor) => {
    await insertRows(ex, head, tuple, tail, rows);
    if (guarded) await checkUpserted(ex, countHead, check, rows);
  };
  if ((guarded || manyStatements(rows)) && isStore(db)) await db.transaction(run);
  else await run(db);
}

/** Quotes an identifier for the dialect (names are validated at gen time). */
export function quoteIdent(name: string, dialect: Dialect): string {
  return dialect === "mysql" ? `\`${name}\`` : `"${name}"`;
}

/**
 * The ordering part of a keyset query: `(a > ? OR (a = ? AND b > ?))`, with
 * the cursor values expanded to match.
 */
export function keysetParams(cursor: readonly SqlValue[]): SqlValue[] {
  const out: SqlValue[] = [];
  for (let i = 0; i < cursor.length; i++) {
    out.push(cursor[i]!);
    if (i < cursor.length - 1) out.push(cursor[i]!);
  }
  return out;
}

/** The four statements of one keyset finder. */
export interface KeysetSql {
  readonly asc: string;
  readonly ascAfter: string;
  readonly desc: string;
  readonly descAfter: string;
}

/**
 * Runs one page of a keyset finder: rows matching `eq`, ordered by the
 * finder's ordering columns, after the page token's position.
 */
export async function keysetPage<Row>(
  db: SqlExecutor,
  sql: KeysetSql,
  scope: string,
  eq: readonly SqlValue[],
  opts: PageOptions | undefined,
  fromRow: (r: readonly unknown[]) => Row,
  cursorAt: readonly number[],
): Promise<Page<Row>> {
  const arity = cursorAt.length;
  const limit = pageLimit(opts);
  const order = pageOrder(opts);
  let text: string;
  let params: SqlValue[];
  if (opts?.pageToken) {
    const cursor = decodePageToken(opts.pageToken, scope, order, arity);
    text = order === "asc" ? sql.ascAfter : sql.descAfter;
    params = [...eq, ...keysetParams(cursor), limit + 1];
  } else {
    text = order === "asc" ? sql.asc : sql.desc;
    params = [...eq, limit + 1];
  }
  const raw = await db.allValues(text, params);
  const more = raw.length > limit;
  if (more) raw.length = limit;
  const last = raw[raw.length - 1];
  return {
    rows: raw.map(fromRow),
    nextPageToken:
      more && last
        ? encodePageToken(
            scope,
            order,
            cursorAt.map((i) => last[i] as SqlValue),
          )
        : "",
  };
}

/**
 * Builds `UPDATE t SET a = ?, b = ? WHERE k = ?` for the columns a patch
 * sets, caching the text per column set.
 */
export class UpdateBuilder {
  private readonly cache = new Map<string, string>();
  constructor(
    private readonly table: string,
    private readonly where: string,
    private readonly dialect: Dialect,
  ) {}

  sql(columns: readonly string[]): string {
    const key = columns.join(",");
    let text = this.cache.get(key);
    if (!text) {
      const set = columns.map((c) => `${quoteIdent(c, this.dialect)} = ?`).join(", ");
      text = `UPDATE ${quoteIdent(this.table, this.dialect)} SET ${set} WHERE ${this.where}`;
      this.cache.set(key, text);
    }
    return text;
  }
}

/** Keys per `getMany` statement; larger lists are split. */
const MAX_IN_LIST = 512;

/**
 * `items` cut into IN lists of at most 512, each padded to a power of two by
 * repeating its last item, so a table sees few distinct statements:
 * `list` is the parenthesised placeholder list (`tuple` per item, "?" by
 * default), `items` the padded items.
 */
export function inLists<T>(items: readonly T[], tuple = "?"): { list: string; items: T[] }[] {
  const out: { list: string; items: T[] }[] = [];
  for (let i = 0; i < items.length; i += MAX_IN_LIST) {
    const chunk = items.slice(i, i + MAX_IN_LIST);
    const n = 2 ** Math.ceil(Math.log2(chunk.length));
    while (chunk.length < n) chunk.push(chunk[chunk.length - 1]!);
    out.push({ list: `(${new Array<string>(n).fill(tuple).join(", ")})`, items: chunk });
  }
  return out;
}

/** `SELECT … WHERE k IN (?, …)` for many keys, in padded lists (inLists). */
export async function selectIn<Row>(
  db: SqlExecutor,
  head: string,
  keys: readonly SqlValue[],
  fromRow: (r: readonly unknown[]) => Row,
): Promise<Row[]> {
  const out: Row[] = [];
  for (const { list, items } of inLists(keys)) {
    for (const r of await db.allValues(`${head} ${list}`, items)) out.push(fromRow(r));
  }
  return out;
}

/** The most rows one bounded delete (`deleteBy…`) may remove. */
export const MAX_DELETE_LIMIT = 10_000;

export interface DeleteOptions {
  /** Rows to delete at most: an integer in 1..MAX_DELETE_LIMIT (required). */
  readonly limit: number;
}

export class DeleteLimitError extends RangeError {
  override readonly name = "DeleteLimitError";
}

/** The checked `limit` of a bounded delete; DeleteLimitError otherwise. */
export function deleteLimit(opts: DeleteOptions | undefined): number {
  const limit: unknown = opts?.limit;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > MAX_DELETE_LIMIT) {
    throw new DeleteLimitError(`delete limit must be an integer in 1..${MAX_DELETE_LIMIT}, got ${String(limit)}`);
  }
  return limit;
}

/**
 * Runs a bounded delete emitted by the generator (its last placeholder is
 * the limit) and returns the number of rows deleted.
 */
export async function deleteLimited(
  db: SqlExecutor,
  sql: string,
  eq: readonly SqlValue[],
  opts: DeleteOptions,
): Promise<number> {
  const limit = deleteLimit(opts);
  return (await db.run(sql, [...eq, limit])).changes;
}
