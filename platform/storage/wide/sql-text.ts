/**
 * The SQL a wide table runs on the SQL store (SQLite or MySQL/MariaDB), built
 * once per table and dialect from its TableSpec and the physical shape in
 * wide-sql-shape.ts: upsert, get, delete, counter upsert, the expiry sweep,
 * and partition scans (built per bound shape and cached).
 *
 * Clustering bounds compare by value, lexicographically over a prefix of the
 * clustering columns (as CQL compares tuples), spelled out as
 * `(a > ? OR (a = ? AND b >= ?))` so both dialects can use the primary key.
 * The page-token continuation compares in scan order instead: per column `>`
 * or `<` depending on its clustering order and the scan direction.
 */
import type { Dialect } from "../driver.js";
import { WIDE_EXPIRES_COLUMN, type WideTableSpec } from "../schema.js";
import { quoteIdent } from "../sql/query.js";

export interface WideSqlShape {
  readonly from?: { readonly length: number; readonly inclusive: boolean };
  readonly to?: { readonly length: number; readonly inclusive: boolean };
  readonly order: "clustering" | "reverse";
  /** Continue after a page token (a full clustering key). */
  readonly after: boolean;
}

export interface WideSql {
  /** Upsert of every column plus the expiry; parameters: columns in spec order, then expires_at_ms. */
  readonly put: string;
  /** The same upsert with `n` rows (parameters: each row's as for `put`, one after another); cached per n. */
  putRows(n: number): string;
  /** Parameters: full key, then now (ms). */
  readonly get: string;
  readonly delete: string;
  readonly deletePartition: string;
  /** Counter upsert; parameters: full key, then one delta per counter column. */
  readonly increment?: string;
  /** Deletes up to ? expired rows; parameters: now (ms), batch size. */
  readonly sweep: string;
  /**
   * Deletes the live rows of a partition after its first `keep` live rows in
   * clustering order (tables with clustering columns only); parameters: see
   * trimParams.
   */
  readonly trim?: string;
  /** A scan of the given shape (see scanParams for its parameters). */
  scan(shape: WideSqlShape): string;
}

/**
 * `(c1 op1 ? OR (c1 = ? AND (c2 op2 ? OR (c2 = ? AND c3 opN ?))))`: the
 * lexicographic comparison of a column prefix against a tuple, where the last
 * column's operator may be inclusive. `ops[i]` is ">" or "<".
 */
function lexical(cols: readonly string[], ops: readonly string[], inclusive: boolean): string {
  let expr = `${cols[cols.length - 1]} ${ops[cols.length - 1]}${inclusive ? "=" : ""} ?`;
  for (let i = cols.length - 2; i >= 0; i--) {
    expr = `${cols[i]} ${ops[i]} ? OR (${cols[i]} = ? AND ${expr.includes(" OR ") ? `(${expr})` : expr})`;
  }
  // A leading single-column term lets the planner narrow the key range.
  return cols.length > 1 ? `${cols[0]} ${ops[0]}= ? AND (${expr})` : expr;
}

/** The parameters of `trim` for one partition, in the dialect's order. */
export function trimParams<T>(dialect: Dialect, partition: readonly T[], now: T, keep: T): T[] {
  return dialect === "sqlite" ? [...partition, ...partition, now, keep] : [...partition, now, keep, ...partition];
}

/** How many parameters `lexical` takes for a tuple of `n` values, in order. */
export function lexicalParams<T>(values: readonly T[]): T[] {
  const out: T[] = [];
  if (values.length > 1) out.push(values[0]!);
  for (let i = 0; i < values.length; i++) {
    out.push(values[i]!);
    if (i < values.length - 1) out.push(values[i]!);
  }
  return out;
}

export function wideSql(spec: WideTableSpec, dialect: Dialect): WideSql {
  const q = (n: string) => quoteIdent(n, dialect);
  const t = q(spec.name);
  const exp = q(WIDE_EXPIRES_COLUMN);
  const cols = spec.columns.map((c) => q(c.name));
  const key = spec.primaryKey.map(q);
  const live = `(${exp} IS NULL OR ${exp} > ?)`;
  const eq = (names: readonly string[]) => names.map((n) => `${q(n)} = ?`).join(" AND ");
  const keySet = new Set(spec.primaryKey);
  const nonKey = spec.columns.filter((c) => !keySet.has(c.name)).map((c) => q(c.name));
  const counters = spec.columns.filter((c) => c.counter).map((c) => q(c.name));

  const tuple = `(${[...cols, exp].map(() => "?").join(", ")})`;
  const insertHead = `INSERT INTO ${t} (${[...cols, exp].join(", ")}) VALUES `;
  const overwrite = [...nonKey, exp];
  const upsertTail =
    dialect === "sqlite"
      ? ` ON CONFLICT (${key.join(", ")}) DO UPDATE SET ${overwrite.map((c) => `${c} = excluded.${c}`).join(", ")}`
      : ` ON DUPLICATE KEY UPDATE ${overwrite.map((c) => `${c} = VALUES(${c})`).join(", ")}`;
  const put = insertHead + tuple + upsertTail;
  const puts = new Map<number, string>([[1, put]]);
  const putRows = (n: number): string => {
    let text = puts.get(n);
    if (!text) puts.set(n, (text = insertHead + new Array<string>(n).fill(tuple).join(", ") + upsertTail));
    return text;
  };

  let increment: string | undefined;
  if (counters.length > 0) {
    const head = `INSERT INTO ${t} (${[...key, ...counters].join(", ")}) VALUES (${[...key, ...counters].map(() => "?").join(", ")})`;
    increment =
      dialect === "sqlite"
        ? `${head} ON CONFLICT (${key.join(", ")}) DO UPDATE SET ${counters.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`
        : `${head} ON DUPLICATE KEY UPDATE ${counters.map((c) => `${c} = ${c} + VALUES(${c})`).join(", ")}`;
  }

  const sweep =
    dialect === "sqlite"
      ? `DELETE FROM ${t} WHERE (${key.join(", ")}) IN (SELECT ${key.join(", ")} FROM ${t} WHERE ${exp} <= ? LIMIT ?)`
      : `DELETE FROM ${t} WHERE ${exp} <= ? LIMIT ?`;

  const select = `SELECT ${cols.join(", ")} FROM ${t}`;
  const clustering = spec.clustering.map((c) => q(c.column));
  const scans = new Map<string, string>();
  const scan = (shape: WideSqlShape): string => {
    const id = `${shape.from ? `${shape.from.length}${shape.from.inclusive ? "i" : "x"}` : "-"}/${
      shape.to ? `${shape.to.length}${shape.to.inclusive ? "i" : "x"}` : "-"
    }/${shape.order}/${shape.after ? "a" : ""}`;
    let text = scans.get(id);
    if (text) return text;
    const where = [eq(spec.partitionKey)];
    if (shape.from) {
      const n = shape.from.length;
      where.push(`(${lexical(clustering.slice(0, n), new Array<string>(n).fill(">"), shape.from.inclusive)})`);
    }
    if (shape.to) {
      const n = shape.to.length;
      where.push(`(${lexical(clustering.slice(0, n), new Array<string>(n).fill("<"), shape.to.inclusive)})`);
    }
    const forward = (i: number) => (spec.clustering[i]!.order === "asc") === (shape.order === "clustering");
    if (shape.after) {
      const ops = spec.clustering.map((_, i) => (forward(i) ? ">" : "<"));
      where.push(`(${lexical(clustering, ops, false)})`);
    }
    where.push(live);
    text = `${select} WHERE ${where.join(" AND ")}`;
    if (clustering.length > 0) {
      text += ` ORDER BY ${clustering.map((c, i) => `${c} ${forward(i) ? "ASC" : "DESC"}`).join(", ")}`;
    }
    text += " LIMIT ?";
    scans.set(id, text);
    return text;
  };

  // Trim: the rows past the first `keep` in clustering order, found by the
  // engine with OFFSET on the primary key (SQLite: LIMIT -1 = no limit;
  // MySQL: the documented "largest BIGINT UNSIGNED" idiom, and a derived
  // table, which MySQL allows on the table a DELETE targets).
  let trim: string | undefined;
  if (clustering.length > 0) {
    const order = spec.clustering.map((c, i) => `${clustering[i]} ${c.order === "asc" ? "ASC" : "DESC"}`).join(", ");
    const inner = `SELECT ${clustering.join(", ")} FROM ${t} WHERE ${eq(spec.partitionKey)} AND ${live} ORDER BY ${order}`;
    trim =
      dialect === "sqlite"
        ? `DELETE FROM ${t} WHERE ${eq(spec.partitionKey)} AND (${clustering.join(", ")}) IN (${inner} LIMIT -1 OFFSET ?)`
        : `DELETE ${t} FROM ${t} JOIN (${inner} LIMIT 18446744073709551615 OFFSET ?) AS trimmed ON ${clustering
            .map((c) => `${t}.${c} = trimmed.${c}`)
            .join(" AND ")} WHERE ${spec.partitionKey.map((n) => `${t}.${q(n)} = ?`).join(" AND ")}`;
  }

  return {
    put,
    putRows,
    ...(trim ? { trim } : {}),
    get: `${select} WHERE ${eq(spec.primaryKey)} AND ${live}`,
    delete: `DELETE FROM ${t} WHERE ${eq(spec.primaryKey)}`,
    deletePartition: `DELETE FROM ${t} WHERE ${eq(spec.partitionKey)}`,
    ...(increment ? { increment } : {}),
    sweep,
    scan,
  };
}
