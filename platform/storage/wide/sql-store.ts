/**
 * SqlWideStore: wide tables on the SQL store (SQLite or MySQL/MariaDB), with
 * Cassandra's semantics — rows kept and returned in clustering order (mixed
 * ASC/DESC across columns included), put = insert or overwrite, TTL through
 * the hidden `_expires_at_ms` column (expired rows are invisible at once and
 * deleted later by `sweepExpired`), counters by atomic upsert, and page
 * tokens that encode the last clustering key.
 *
 * The tables are created by the migrator from sqlShapeOfWide(spec).
 */
import type { Dialect, SqlDb, SqlRow, SqlValue } from "../driver.js";
import type { ColumnSpec, WideTableSpec } from "../schema.js";
import { toBigInt, toBool, toBytes, toNumber, toText, toUint64, uint64ForDialect } from "../sql/convert.js";
import { decodeWideToken, encodeWideToken } from "./sql-page-token.js";
import { lexicalParams, trimParams, wideSql, type WideSql } from "./sql-text.js";
import type { WideScanRequest, WideStore, WideStorePage, WideValue, WideValues } from "./store.js";

export interface SqlWideStoreOptions {
  /** The clock for TTLs, in ms since the epoch (tests inject one). Default Date.now. */
  readonly now?: () => number;
}

interface Prepared {
  readonly sql: WideSql;
  readonly key: readonly ColumnSpec[];
  readonly partition: readonly ColumnSpec[];
  readonly clustering: readonly ColumnSpec[];
  readonly counters: readonly ColumnSpec[];
}

const DEADLOCK_RETRIES = 5;
/** Rows per multi-row upsert of `put` (SQLite allows 32766 parameters per statement). */
const PUT_CHUNK = 256;
const MAX_PARAMS = 32_000;
const done = (): void => undefined;

function isDeadlock(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ER_LOCK_DEADLOCK" || code === "ER_LOCK_WAIT_TIMEOUT";
}

export class SqlWideStore implements WideStore {
  readonly engine: Dialect;
  private readonly now: () => number;
  private readonly prepared = new WeakMap<WideTableSpec, Prepared>();

  constructor(
    readonly db: SqlDb,
    opts: SqlWideStoreOptions = {},
  ) {
    this.engine = db.dialect;
    this.now = opts.now ?? Date.now;
  }

  private prep(spec: WideTableSpec): Prepared {
    let p = this.prepared.get(spec);
    if (!p) {
      const col = (n: string) => spec.columns.find((c) => c.name === n)!;
      p = {
        sql: wideSql(spec, this.db.dialect),
        key: spec.primaryKey.map(col),
        partition: spec.partitionKey.map(col),
        clustering: spec.clustering.map((c) => col(c.column)),
        counters: spec.columns.filter((c) => c.counter),
      };
      this.prepared.set(spec, p);
    }
    return p;
  }

  /** A canonical value as a bound parameter. */
  private param(c: ColumnSpec, v: WideValue): SqlValue {
    if (typeof v === "bigint" && c.unsigned) return uint64ForDialect(v, this.db.dialect);
    return v;
  }

  private params(cols: readonly ColumnSpec[], values: readonly WideValue[]): SqlValue[] {
    const out = new Array<SqlValue>(values.length);
    for (let i = 0; i < values.length; i++) out[i] = this.param(cols[i]!, values[i]!);
    return out;
  }

  private read(spec: WideTableSpec, raw: SqlRow): WideValues {
    const out: WideValues = {};
    const cols = spec.columns;
    for (let i = 0; i < cols.length; i++) {
      const c = cols[i]!;
      const v = raw[c.name];
      out[c.name] = v === null || v === undefined ? null : fromSql(c, v);
    }
    return out;
  }

  put(spec: WideTableSpec, rows: readonly WideValues[], ttlSeconds: number): Promise<void> {
    const { sql } = this.prep(spec);
    const expires = ttlSeconds > 0 ? BigInt(this.now() + ttlSeconds * 1000) : null;
    const cols = spec.columns;
    const paramsOf = (row: WideValues) => {
      const out = new Array<SqlValue>(cols.length + 1);
      for (let i = 0; i < cols.length; i++) out[i] = this.param(cols[i]!, row[cols[i]!.name] ?? null);
      out[cols.length] = expires;
      return out;
    };
    if (rows.length === 1) return this.db.run(sql.put, paramsOf(rows[0]!)).then(done);
    // Multi-row upserts: PUT_CHUNK rows per statement, the rest in power-of-two
    // statements (few distinct statement texts to prepare). Rows apply in
    // order, so a later row with the same key wins, as with single puts.
    const width = cols.length + 1;
    const chunk = Math.min(PUT_CHUNK, 2 ** Math.floor(Math.log2(Math.max(1, Math.floor(MAX_PARAMS / width)))));
    const statements: Array<[string, SqlValue[]]> = [];
    let i = 0;
    while (i < rows.length) {
      const left = rows.length - i;
      const n = left >= chunk ? chunk : 2 ** Math.floor(Math.log2(left));
      const params = new Array<SqlValue>(n * width);
      for (let r = 0; r < n; r++) {
        const row = rows[i + r]!;
        const at = r * width;
        for (let c = 0; c < cols.length; c++) params[at + c] = this.param(cols[c]!, row[cols[c]!.name] ?? null);
        params[at + cols.length] = expires;
      }
      statements.push([sql.putRows(n), params]);
      i += n;
    }
    if (statements.length === 1) return this.db.run(statements[0]![0], statements[0]![1]).then(done);
    return this.db.transaction(async (tx) => {
      for (const [text, params] of statements) await tx.run(text, params);
    });
  }

  get(spec: WideTableSpec, key: readonly WideValue[]): Promise<WideValues | undefined> {
    const p = this.prep(spec);
    const params = this.params(p.key, key);
    params.push(this.now());
    return this.db.get<SqlRow>(p.sql.get, params).then((raw) => (raw ? this.read(spec, raw) : undefined));
  }

  scan(spec: WideTableSpec, req: WideScanRequest): Promise<WideStorePage> {
    try {
      return this.scanPage(spec, req);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private scanPage(spec: WideTableSpec, req: WideScanRequest): Promise<WideStorePage> {
    const p = this.prep(spec);
    const where = `${spec.name}.scan`;
    const after = req.pageToken ? decodeWideToken(spec, req.order, req.pageToken, where) : undefined;
    const text = p.sql.scan({
      from: req.from && { length: req.from.values.length, inclusive: req.from.inclusive },
      to: req.to && { length: req.to.values.length, inclusive: req.to.inclusive },
      order: req.order,
      after: after !== undefined,
    });
    const params: SqlValue[] = this.params(p.partition, req.partition);
    if (req.from) params.push(...lexicalParams(this.params(p.clustering, req.from.values)));
    if (req.to) params.push(...lexicalParams(this.params(p.clustering, req.to.values)));
    if (after) params.push(...lexicalParams(this.params(p.clustering, after)));
    params.push(this.now(), req.limit + 1);
    return this.db.all<SqlRow>(text, params).then((raw) => {
      const more = raw.length > req.limit;
      if (more) raw.length = req.limit;
      const rows = new Array<WideValues>(raw.length);
      for (let i = 0; i < raw.length; i++) rows[i] = this.read(spec, raw[i]!);
      let nextPageToken = "";
      if (more) {
        const last = rows[rows.length - 1]!;
        nextPageToken = encodeWideToken(
          spec,
          req.order,
          p.clustering.map((c) => last[c.name]!),
        );
      }
      return { rows, nextPageToken };
    });
  }

  async delete(spec: WideTableSpec, key: readonly WideValue[]): Promise<void> {
    const p = this.prep(spec);
    await this.db.run(p.sql.delete, this.params(p.key, key));
  }

  async deletePartition(spec: WideTableSpec, partition: readonly WideValue[]): Promise<void> {
    const p = this.prep(spec);
    await this.db.run(p.sql.deletePartition, this.params(p.partition, partition));
  }

  /** One DELETE per partition (the engine finds the rows past `keep`), all in one transaction. */
  async trim(spec: WideTableSpec, partitions: readonly (readonly WideValue[])[], keep: number): Promise<number> {
    const p = this.prep(spec);
    if (!p.sql.trim) throw new Error(`${spec.name} has no clustering columns`);
    const text = p.sql.trim;
    const now = this.now();
    const paramsOf = (partition: readonly WideValue[]) =>
      trimParams<SqlValue>(this.db.dialect, this.params(p.partition, partition), now, keep);
    if (partitions.length === 0) return 0;
    if (partitions.length === 1) return (await this.db.run(text, paramsOf(partitions[0]!))).changes;
    return this.db.transaction(async (tx) => {
      let deleted = 0;
      for (const partition of partitions) deleted += (await tx.run(text, paramsOf(partition))).changes;
      return deleted;
    });
  }

  async increment(
    spec: WideTableSpec,
    key: readonly WideValue[],
    deltas: Readonly<Record<string, bigint>>,
  ): Promise<void> {
    const p = this.prep(spec);
    if (!p.sql.increment) throw new Error(`${spec.name} has no counter columns`);
    const params = [...this.params(p.key, key), ...p.counters.map((c) => deltas[c.name] ?? 0n)];
    // InnoDB may pick a concurrent upsert of a new key as a deadlock victim; it is safe to retry.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.db.run(p.sql.increment, params);
        return;
      } catch (err) {
        if (!isDeadlock(err) || attempt >= DEADLOCK_RETRIES) throw err;
        await new Promise((r) => setTimeout(r, 2 + Math.random() * 10 * (attempt + 1)));
      }
    }
  }

  /**
   * Deletes rows of `spec` whose TTL has passed, `batchSize` rows per
   * statement (so no statement holds locks for long), until none are left or
   * `maxRows` are gone. Returns how many rows were deleted.
   */
  async sweepExpired(spec: WideTableSpec, opts: { batchSize?: number; maxRows?: number } = {}): Promise<number> {
    const batch = opts.batchSize ?? 500;
    const max = opts.maxRows ?? Number.POSITIVE_INFINITY;
    if (!Number.isInteger(batch) || batch < 1)
      throw new RangeError(`batchSize must be a positive integer, got ${batch}`);
    const { sql } = this.prep(spec);
    let total = 0;
    while (total < max) {
      const n = Math.min(batch, max - total);
      const { changes } = await this.db.run(sql.sweep, [this.now(), n]);
      total += changes;
      if (changes < n) break;
    }
    return total;
  }
}

function fromSql(c: ColumnSpec, v: unknown): WideValue {
  switch (c.encoding) {
    case "int":
    case "enum":
    case "double":
      return toNumber(v);
    case "bigint":
      return c.unsigned ? toUint64(v) : toBigInt(v);
    case "bool":
      return toBool(v);
    case "string":
    case "json":
      return toText(v);
    case "bytes":
    case "proto":
      return toBytes(v);
  }
}
