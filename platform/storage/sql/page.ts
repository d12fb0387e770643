/**
 * Keyset pagination: a page token is an opaque encoding of the ordering
 * columns' values of the last row returned, plus the direction it was made
 * for. Tokens are validated on the way back in.
 */
import type { SqlValue } from "../driver.js";

export type SortOrder = "asc" | "desc";

export interface PageOptions {
  /** Rows per page: 1..1000, default 50. */
  readonly limit?: number;
  /** The `nextPageToken` of the previous page; empty or absent for the first. */
  readonly pageToken?: string;
  /** Default "asc" (ascending by the finder's ordering columns). */
  readonly order?: SortOrder;
}

export interface Page<Row> {
  readonly rows: Row[];
  /** Pass as `pageToken` for the next page; "" when there are no more rows. */
  readonly nextPageToken: string;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

export class PageOptionError extends RangeError {
  override readonly name = "PageOptionError";
}

export function pageLimit(opts: PageOptions | undefined): number {
  const limit = opts?.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new PageOptionError(`page limit must be an integer in 1..${MAX_PAGE_SIZE}, got ${limit}`);
  }
  return limit;
}

export function pageOrder(opts: PageOptions | undefined): SortOrder {
  const order = opts?.order ?? "asc";
  if (order !== "asc" && order !== "desc")
    throw new PageOptionError(`order must be "asc" or "desc", got ${String(order)}`);
  return order;
}

type Encoded = string | number | { b: string } | { x: string } | null;

function enc(v: SqlValue): Encoded {
  if (typeof v === "bigint") return { b: v.toString() };
  if (v instanceof Uint8Array) return { x: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") };
  if (typeof v === "boolean") return v ? 1 : 0;
  return v;
}

function dec(v: unknown): SqlValue {
  if (v === null || typeof v === "string" || typeof v === "number") return v;
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (typeof o.b === "string" && /^-?\d{1,20}$/.test(o.b)) return BigInt(o.b);
    if (typeof o.x === "string") return new Uint8Array(Buffer.from(o.x, "base64"));
  }
  throw new PageOptionError("page_token: malformed");
}

/** Encodes the ordering values of the last row of a page. */
export function encodePageToken(scope: string, order: SortOrder, values: readonly SqlValue[]): string {
  return Buffer.from(JSON.stringify([scope, order, values.map(enc)])).toString("base64url");
}

/**
 * Decodes a token made by `encodePageToken` for the same finder (`scope`),
 * order and number of columns; throws PageOptionError otherwise.
 */
export function decodePageToken(token: string, scope: string, order: SortOrder, arity: number): SqlValue[] {
  let parsed: unknown;
  try {
    if (token.length > 4096) throw new Error("too long");
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw new PageOptionError("page_token: malformed");
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || !Array.isArray(parsed[2])) {
    throw new PageOptionError("page_token: malformed");
  }
  if (parsed[0] !== scope) throw new PageOptionError("page_token: belongs to another query");
  if (parsed[1] !== order) throw new PageOptionError("page_token: made for the other sort order");
  const values = (parsed[2] as unknown[]).map(dec);
  if (values.length !== arity) throw new PageOptionError("page_token: malformed");
  return values;
}
