/**
 * The wide-table runtime contract. A generated wide DAO (`gen/**\/*_wide.ts`)
 * turns messages into column values and calls a WideStore; two stores
 * implement it with the same semantics:
 *   - CassandraWideStore (cassandra-driver), and
 *   - SqlWideStore (SQLite or MySQL/MariaDB, a table keyed by partition key +
 *     clustering columns; see wide-sql-shape.ts).
 *
 * Values are column values in their canonical JS form (see WideValue), keyed
 * by column name. Stores trust their input: the DAO layer (WideTable)
 * validates keys, bounds, limits and types before calling them.
 */
import type { WideTableSpec } from "../schema.js";

/**
 * A column value: int/enum/double → number, bigint → bigint, bool → boolean,
 * string/json → string, bytes/proto → Uint8Array; null for an absent value.
 */
export type WideValue = null | boolean | number | bigint | string | Uint8Array;

/** Column name → value. */
export type WideValues = Record<string, WideValue>;

/** Cassandra consistency levels (ignored by the SQL store). */
export type Consistency =
  | "any"
  | "one"
  | "two"
  | "three"
  | "quorum"
  | "all"
  | "localQuorum"
  | "eachQuorum"
  | "serial"
  | "localSerial"
  | "localOne";

export interface WideReadOptions {
  /** Consistency of this call (Cassandra); defaults to the store's. */
  readonly consistency?: Consistency;
}

export interface WideWriteOptions {
  readonly consistency?: Consistency;
}

export interface WidePutOptions extends WideWriteOptions {
  /**
   * Time to live of the written row in seconds; 0 = never expires. Defaults
   * to the table's default_ttl_seconds.
   */
  readonly ttlSeconds?: number;
}

/** One end of a clustering range, on a prefix of the clustering columns. */
export interface WideStoreBound {
  /** Values of the first `values.length` clustering columns, in order. */
  readonly values: readonly WideValue[];
  readonly inclusive: boolean;
}

export interface WideScanRequest {
  /** Partition key values, in partition-key order. */
  readonly partition: readonly WideValue[];
  /** Lower bound (by value, lexicographic over the prefix). */
  readonly from?: WideStoreBound;
  /** Upper bound (by value, lexicographic over the prefix). */
  readonly to?: WideStoreBound;
  readonly order: "clustering" | "reverse";
  /** Rows per page, 1..MAX_SCAN_LIMIT. */
  readonly limit: number;
  /** The nextPageToken of the previous page of the same scan. */
  readonly pageToken?: string;
  readonly consistency?: Consistency;
}

export interface WideStorePage {
  readonly rows: WideValues[];
  /** Pass back as pageToken for the next page; "" when there are no more rows. */
  readonly nextPageToken: string;
}

export interface WideStore {
  /** "cassandra" or the SQL dialect the store runs on. */
  readonly engine: "cassandra" | "sqlite" | "mysql";
  /**
   * Inserts or overwrites rows (every column given). `ttlSeconds` is already
   * resolved (0 = none). Atomic on the SQL store; on Cassandra each row is
   * written on its own.
   */
  put(spec: WideTableSpec, rows: readonly WideValues[], ttlSeconds: number, opts?: WideWriteOptions): Promise<void>;
  /** The row with this full primary key (values in primary-key order). */
  get(spec: WideTableSpec, key: readonly WideValue[], opts?: WideReadOptions): Promise<WideValues | undefined>;
  scan(spec: WideTableSpec, req: WideScanRequest): Promise<WideStorePage>;
  delete(spec: WideTableSpec, key: readonly WideValue[], opts?: WideWriteOptions): Promise<void>;
  deletePartition(spec: WideTableSpec, partition: readonly WideValue[], opts?: WideWriteOptions): Promise<void>;
  /**
   * Keeps the first `keep` live rows of each partition, in clustering order,
   * and deletes the live rows after them (a capped timeline). Tables with
   * clustering columns only. Returns how many rows were deleted. The SQL
   * store runs one statement per partition, all in one transaction; on
   * Cassandra the rows past `keep` are read and deleted one by one.
   */
  trim(
    spec: WideTableSpec,
    partitions: readonly (readonly WideValue[])[],
    keep: number,
    opts?: WideWriteOptions,
  ): Promise<number>;
  /** Adds `deltas` (counter column → delta) to the row with this full key. */
  increment(
    spec: WideTableSpec,
    key: readonly WideValue[],
    deltas: Readonly<Record<string, bigint>>,
    opts?: WideWriteOptions,
  ): Promise<void>;
}

export const DEFAULT_SCAN_LIMIT = 100;
export const MAX_SCAN_LIMIT = 10_000;
/** Cassandra's maximum TTL (20 years); the SQL store enforces the same. */
export const MAX_TTL_SECONDS = 630_720_000;
