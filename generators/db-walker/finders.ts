/**
 * Finders come from keys and indexes (the xo habit):
 * - the primary key gives `get`, `delete`, `update` and `list` (keyset over
 *   the whole table in key order);
 * - a unique index on columns (a, b) gives `getByAB`;
 * - a single-column primary key also gives `getMany` (one `IN (…)` query);
 * - a composite primary key (k1, …, kn) gives `listByK1…Kn-1` over its
 *   prefix, ordered by the last key column;
 * - an index on (c1, …, cn) gives `listByC1…Cn-1` (equality on all but the
 *   last column, keyset-ordered by the last column then the primary key); an
 *   index on a single column (c) gives `listByC`, ordered by the primary key.
 * When two of these would get the same name, the later one is called
 * `listBy…OrderBy<Column>`.
 * Each distinct set of equality columns of the list finders also gives one
 * `countBy…` (a count has no order: `listByAOrderByB` adds no count of its
 * own) and one bounded `deleteBy…` (at most `limit` rows, in the order of the
 * first list finder with those columns).
 */
import type { SqlTableSpec } from "../../platform/storage/schema.js";

export interface Finder {
  /** Method name, e.g. "listByAuthorId". */
  readonly name: string;
  /** Columns compared for equality. */
  readonly eq: readonly string[];
  /** Columns the keyset orders by (unique together with eq). */
  readonly orderBy: readonly string[];
  /** Index it uses. */
  readonly index: string;
}

export function pascal(s: string): string {
  return s
    .split("_")
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join("");
}

export function uniqueFinders(spec: SqlTableSpec): { name: string; columns: readonly string[]; index: string }[] {
  return spec.indexes
    .filter((i) => i.unique)
    .map((i) => ({ name: `getBy${i.columns.map(pascal).join("")}`, columns: i.columns, index: i.name }));
}

export function listFinders(spec: SqlTableSpec): Finder[] {
  const out: Finder[] = [];
  const taken = new Set<string>();
  if (spec.primaryKey.length > 1) {
    const eq = spec.primaryKey.slice(0, -1);
    const by = `By${eq.map(pascal).join("")}`;
    taken.add(by);
    out.push({ name: `list${by}`, eq, orderBy: spec.primaryKey.slice(-1), index: "primary key" });
  }
  for (const idx of spec.indexes.filter((i) => !i.unique)) {
    const eq = idx.columns.length > 1 ? idx.columns.slice(0, -1) : idx.columns;
    const sortCols = idx.columns.length > 1 ? idx.columns.slice(-1) : [];
    const orderBy = [...sortCols, ...spec.primaryKey.filter((k) => !idx.columns.includes(k))];
    if (orderBy.length === 0) {
      // The index covers the whole primary key and ends with it: order by it.
      orderBy.push(...idx.columns.slice(-1));
    }
    let by = `By${eq.map(pascal).join("")}`;
    if (taken.has(by)) by = `${by}OrderBy${pascal(sortCols[0] ?? idx.name)}`;
    if (taken.has(by)) throw new Error(`${spec.message}: two indexes give the finder list${by}; name one of them`);
    taken.add(by);
    out.push({ name: `list${by}`, eq, orderBy, index: idx.name });
  }
  return out;
}

export interface DeleteFinder {
  /** Method name, e.g. "deleteByPostId". */
  readonly name: string;
  /** Columns compared for equality. */
  readonly eq: readonly string[];
  /** The order rows are deleted in (that of the first list finder with these columns: an index order). */
  readonly orderBy: readonly string[];
  /** Index it uses. */
  readonly index: string;
}

/**
 * One bounded delete per distinct set of equality columns of the list
 * finders. Finders that differ only in their order (`listByAOrderByB`) share
 * one `deleteByA`: a delete has no order a caller can see.
 */
export function deleteFinders(spec: SqlTableSpec): DeleteFinder[] {
  const out: DeleteFinder[] = [];
  const eqOf = new Map<string, string>();
  for (const f of listFinders(spec)) {
    const name = `deleteBy${f.eq.map(pascal).join("")}`;
    const eq = f.eq.join(",");
    const seen = eqOf.get(name);
    if (seen === eq) continue;
    if (seen !== undefined)
      throw new Error(`${spec.message}: columns (${seen}) and (${eq}) both give the finder ${name}; rename one`);
    eqOf.set(name, eq);
    out.push({ name, eq: f.eq, orderBy: f.orderBy, index: f.index });
  }
  return out;
}

export interface CountFinder {
  /** Method name, e.g. "countByPostId". */
  readonly name: string;
  /** Columns compared for equality. */
  readonly eq: readonly string[];
  /** Index it uses (that of the first list finder with these columns). */
  readonly index: string;
}

/**
 * One count per distinct set of equality columns of the list finders: a
 * count has no order, so `listByA` and `listByAOrderByB` share `countByA`.
 */
export function countFinders(spec: SqlTableSpec): CountFinder[] {
  return deleteFinders(spec).map((d) => ({ name: d.name.replace(/^delete/, "count"), eq: d.eq, index: d.index }));
}
