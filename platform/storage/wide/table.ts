/**
 * WideTable: the runtime behind every generated wide DAO. It validates the
 * input (key fields, bounds, limit, TTL, page token shape), converts messages
 * to column values with RowCodec, and runs the operation on a WideStore.
 */
import { isCassandraConsistency } from "../cassandra/consistency.js";
import type { DescMessage, Message } from "@bufbuild/protobuf";
import type { WideTableSpec } from "../schema.js";
import { WideInputError } from "./errors.js";
import { RowCodec } from "./row-codec.js";
import {
  DEFAULT_SCAN_LIMIT,
  MAX_SCAN_LIMIT,
  MAX_TTL_SECONDS,
  type Consistency,
  type WidePutOptions,
  type WideReadOptions,
  type WideScanRequest,
  type WideStore,
  type WideStoreBound,
  type WideWriteOptions,
} from "./store.js";

type Meta = "$typeName" | "$unknown";

/** A row to write: the key fields are required; absent fields take their zero value. */
export type WideRowInit<Row, Key extends keyof Row> = Partial<Omit<Row, Meta>> & Pick<Row, Key>;

/** One end of a scan range: a prefix of the clustering columns. */
export interface WideBound<Prefix> {
  readonly key: Prefix;
  /** Default true. */
  readonly inclusive?: boolean;
}

export interface WideScanOptions<Prefix> {
  /**
   * Lower bound on the clustering values (lexicographic by value, as CQL
   * compares tuples), whatever the clustering order of each column.
   */
  readonly from?: WideBound<Prefix>;
  /** Upper bound on the clustering values. */
  readonly to?: WideBound<Prefix>;
  /** "clustering" (default): the table's clustering order; "reverse": the opposite. */
  readonly order?: "clustering" | "reverse";
  /** Rows per page: 1..10000, default 100. */
  readonly limit?: number;
  /** The nextPageToken of the previous page of the same scan. */
  readonly pageToken?: string;
  readonly consistency?: Consistency;
}

export interface WideScanPage<Row> {
  readonly rows: Row[];
  /** Pass as pageToken for the next page; "" when there are no more rows. */
  readonly nextPageToken: string;
}

export class WideTable<Row extends Message, Key, Partition, Prefix, Delta = never> {
  readonly codec: RowCodec<Row>;
  private readonly isCounter: boolean;

  constructor(
    readonly store: WideStore,
    readonly spec: WideTableSpec,
    schema: DescMessage,
  ) {
    if (!store || typeof store.scan !== "function") {
      throw new TypeError(`${spec.name}: a WideStore is required (SqlWideStore or CassandraWideStore)`);
    }
    this.codec = new RowCodec<Row>(spec, schema);
    this.isCounter = this.codec.counters.length > 0;
  }

  private readonly wheres = new Map<string, string>();
  /** "table.method", for error messages. */
  private where(method: string): string {
    let w = this.wheres.get(method);
    if (w === undefined) {
      w = `${this.spec.name}.${method}`;
      this.wheres.set(method, w);
    }
    return w;
  }

  private checkWrite(where: string, opts: WideWriteOptions | undefined): void {
    if (opts?.consistency !== undefined && !isCassandraConsistency(opts.consistency)) {
      throw new WideInputError(`${where}: unknown consistency "${String(opts.consistency)}"`);
    }
  }

  private ttlOf(where: string, opts: WidePutOptions | undefined): number {
    const ttl = opts?.ttlSeconds ?? this.spec.defaultTtlSeconds;
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL_SECONDS) {
      throw new WideInputError(`${where}: ttlSeconds must be an integer in 0..${MAX_TTL_SECONDS}, got ${String(ttl)}`);
    }
    return ttl;
  }

  private noCounters(where: string): void {
    if (this.isCounter) {
      throw new WideInputError(`${where}: ${this.spec.name} is a counter table; use increment`);
    }
  }

  put(row: WideRowInit<Row, keyof Key & keyof Row>, opts?: WidePutOptions): Promise<void> {
    try {
      const where = this.where("put");
      this.noCounters(where);
      this.checkWrite(where, opts);
      const ttl = this.ttlOf(where, opts);
      return this.store.put(this.spec, [this.codec.rowValues(row, where)], ttl, opts);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async putMany(rows: readonly WideRowInit<Row, keyof Key & keyof Row>[], opts?: WidePutOptions): Promise<void> {
    const where = this.where("putMany");
    this.noCounters(where);
    this.checkWrite(where, opts);
    if (!Array.isArray(rows)) throw new WideInputError(`${where}: expected an array of rows`);
    const ttl = this.ttlOf(where, opts);
    const values = rows.map((r, i) => this.codec.rowValues(r, `${where}[${i}]`));
    if (values.length > 0) await this.store.put(this.spec, values, ttl, opts);
  }

  get(key: Key, opts?: WideReadOptions): Promise<Row | undefined> {
    try {
      const where = this.where("get");
      this.checkWrite(where, opts);
      return this.store
        .get(this.spec, this.codec.keyValues(key, this.codec.key, where), opts)
        .then((values) => (values ? this.codec.decode(values) : undefined));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  scan(partition: Partition, opts?: WideScanOptions<Prefix>): Promise<WideScanPage<Row>> {
    try {
      return this.scanPage(partition, opts);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private scanPage(partition: Partition, opts: WideScanOptions<Prefix> | undefined): Promise<WideScanPage<Row>> {
    const where = this.where("scan");
    this.checkWrite(where, opts);
    const part = this.codec.keyValues(partition, this.codec.partition, where);
    const limit = opts?.limit ?? DEFAULT_SCAN_LIMIT;
    if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > MAX_SCAN_LIMIT) {
      throw new WideInputError(`${where}: limit must be an integer in 1..${MAX_SCAN_LIMIT}, got ${String(limit)}`);
    }
    const order = opts?.order ?? "clustering";
    if (order !== "clustering" && order !== "reverse") {
      throw new WideInputError(`${where}: order must be "clustering" or "reverse", got ${String(order)}`);
    }
    const token = opts?.pageToken;
    if (token !== undefined && typeof token !== "string") {
      throw new WideInputError(`${where}: pageToken must be a string`);
    }
    const req: WideScanRequest = {
      partition: part,
      from: opts?.from === undefined ? undefined : this.bound(opts.from, `${where} from`),
      to: opts?.to === undefined ? undefined : this.bound(opts.to, `${where} to`),
      order,
      limit,
      pageToken: token === "" ? undefined : token,
      consistency: opts?.consistency,
    };
    return this.store.scan(this.spec, req).then((page) => {
      const rows = new Array<Row>(page.rows.length);
      for (let i = 0; i < rows.length; i++) rows[i] = this.codec.decode(page.rows[i]!);
      return { rows, nextPageToken: page.nextPageToken };
    });
  }

  private bound(b: WideBound<Prefix> | undefined, where: string): WideStoreBound | undefined {
    if (b === undefined) return undefined;
    if (b === null || typeof b !== "object" || !("key" in b)) {
      throw new WideInputError(`${where}: a bound is { key: { …clustering prefix }, inclusive?: boolean }`);
    }
    if (b.inclusive !== undefined && typeof b.inclusive !== "boolean") {
      throw new WideInputError(`${where}: inclusive must be a boolean`);
    }
    return { values: this.codec.prefixValues(b.key, where), inclusive: b.inclusive ?? true };
  }

  async delete(key: Key, opts?: WideWriteOptions): Promise<void> {
    const where = this.where("delete");
    this.checkWrite(where, opts);
    await this.store.delete(this.spec, this.codec.keyValues(key, this.codec.key, where), opts);
  }

  async deletePartition(partition: Partition, opts?: WideWriteOptions): Promise<void> {
    const where = this.where("deletePartition");
    this.checkWrite(where, opts);
    await this.store.deletePartition(this.spec, this.codec.keyValues(partition, this.codec.partition, where), opts);
  }

  /**
   * Keeps the first `keep` rows of each partition (in clustering order) and
   * deletes the rest: a capped timeline. Returns how many rows went.
   */
  async trim(partitions: readonly Partition[], keep: number, opts?: WideWriteOptions): Promise<number> {
    const where = this.where("trim");
    this.checkWrite(where, opts);
    if (this.spec.clustering.length === 0)
      throw new WideInputError(`${where}: ${this.spec.name} has no clustering columns`);
    if (!Array.isArray(partitions)) throw new WideInputError(`${where}: expected an array of partition keys`);
    if (!Number.isSafeInteger(keep) || keep < 0)
      throw new WideInputError(`${where}: keep must be a non-negative integer, got ${String(keep)}`);
    const keys = partitions.map((p, i) => this.codec.keyValues(p, this.codec.partition, `${where}[${i}]`));
    return keys.length ? this.store.trim(this.spec, keys, keep, opts) : 0;
  }

  async increment(key: Key, delta: Delta, opts?: WideWriteOptions): Promise<void> {
    const where = this.where("increment");
    this.checkWrite(where, opts);
    const k = this.codec.keyValues(key, this.codec.key, where);
    await this.store.increment(this.spec, k, this.codec.deltaValues(delta, where), opts);
  }
}
