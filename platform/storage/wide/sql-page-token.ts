/**
 * Page tokens of the SQL store: the opaque encoding of the last clustering
 * key returned (platform/storage/sql/page.ts does the encoding), scoped to
 * the table and the scan direction, and checked against the clustering
 * columns' types on the way back in.
 */
import type { WideTableSpec } from "../schema.js";
import type { SqlValue } from "../driver.js";
import { decodePageToken, encodePageToken } from "../sql/page.js";
import { WideInputError } from "./errors.js";
import { scalarCheck } from "./row-codec.js";
import type { WideValue } from "./store.js";

function scope(spec: WideTableSpec): string {
  return `wide:${spec.name}`;
}

export function encodeWideToken(
  spec: WideTableSpec,
  order: "clustering" | "reverse",
  key: readonly WideValue[],
): string {
  return encodePageToken(scope(spec), order === "clustering" ? "asc" : "desc", key as SqlValue[]);
}

export function decodeWideToken(
  spec: WideTableSpec,
  order: "clustering" | "reverse",
  token: string,
  where: string,
): WideValue[] {
  let raw: SqlValue[];
  try {
    raw = decodePageToken(token, scope(spec), order === "clustering" ? "asc" : "desc", spec.clustering.length);
  } catch (err) {
    throw new WideInputError(`${where}: bad page token (${(err as Error).message})`);
  }
  return spec.clustering.map((c, i) => {
    const col = spec.columns.find((x) => x.name === c.column)!;
    let v: unknown = raw[i];
    if (col.encoding === "bool" && (v === 0 || v === 1)) v = v === 1;
    try {
      return scalarCheck(col, v, where);
    } catch {
      throw new WideInputError(`${where}: bad page token (its ${col.name} value does not fit the column)`);
    }
  });
}
