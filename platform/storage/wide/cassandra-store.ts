/**
 * CassandraWideStore: wide tables on Cassandra/ScyllaDB through
 * cassandra-driver. Every statement is the text from cassandra/cql.ts (what
 * the generated `…Cql` constants show), prepared, and routed token-aware by
 * its partition key. Scans page with the driver's paging state, which is the
 * page token. Consistency: the client's default, or per call.
 */
import { forEachLimit } from "../../concurrency.js";
import type { ColumnSpec, WideTableSpec } from "../schema.js";
import type { CassandraClient } from "../cassandra/client.js";
import { scanCql, wideCql, type ScanShape, type WideCql } from "../cassandra/cql.js";
import { fromCql, toCql } from "./cassandra-values.js";
import { WideInputError } from "./errors.js";
import type {
  Consistency,
  WideReadOptions,
  WideScanRequest,
  WideStore,
  WideStorePage,
  WideValue,
  WideValues,
  WideWriteOptions,
} from "./store.js";
import { MAX_SCAN_LIMIT } from "./store.js";

/**
 * Statements in flight at once for put with many rows and for the deletes of
 * a trim (one connection carries up to 2048; the raw driver's bulk path,
 * concurrent.executeConcurrent, defaults to 100).
 */
const PUT_CONCURRENCY = 64;
/** Partitions trimmed at once. */
const TRIM_PARTITIONS = 8;

const TOKEN_PREFIX = "c1.";

interface Prepared {
  readonly cql: WideCql;
  readonly key: readonly ColumnSpec[];
  readonly partition: readonly ColumnSpec[];
  readonly clustering: readonly ColumnSpec[];
  readonly counters: readonly ColumnSpec[];
  readonly scans: Map<string, string>;
}

/**
 * A page token: the driver's paging state, tagged with the table and the
 * scan order it belongs to, so a token passed to another scan fails clearly.
 */
export function cassandraPageToken(table: string, order: "clustering" | "reverse", pageState: string): string {
  return `${TOKEN_PREFIX}${table}.${order === "clustering" ? "c" : "r"}.${pageState}`;
}

/** Checks a page token made by this store and returns the driver's paging state. */
export function pagingStateOf(token: string, table: string, order: "clustering" | "reverse", where: string): string {
  const m = /^c1\.([a-z0-9_]+)\.([cr])\.([0-9a-f]{2,16384})$/.exec(token);
  if (!m) throw new WideInputError(`${where}: bad page token (not a nextPageToken of this store)`);
  if (m[1] !== table) throw new WideInputError(`${where}: bad page token (it belongs to table ${m[1]})`);
  if (m[2] !== (order === "clustering" ? "c" : "r")) {
    throw new WideInputError(`${where}: bad page token (it was made for the other scan order)`);
  }
  return m[3]!;
}

export class CassandraWideStore implements WideStore {
  readonly engine = "cassandra" as const;
  private readonly prepared = new WeakMap<WideTableSpec, Prepared>();

  /** Consistency of calls that name none; default: the client's (its URL's `consistency`). */
  private readonly consistency: Consistency | undefined;

  constructor(
    readonly client: CassandraClient,
    opts: { readonly consistency?: Consistency } = {},
  ) {
    this.consistency = opts.consistency;
  }

  private cl(opts: { readonly consistency?: Consistency } | undefined): Consistency | undefined {
    return opts?.consistency ?? this.consistency;
  }

  private prep(spec: WideTableSpec): Prepared {
    let p = this.prepared.get(spec);
    if (!p) {
      const col = (n: string) => spec.columns.find((c) => c.name === n)!;
      p = {
        cql: wideCql(spec),
        key: spec.primaryKey.map(col),
        partition: spec.partitionKey.map(col),
        clustering: spec.clustering.map((c) => col(c.column)),
        counters: spec.columns.filter((c) => c.counter),
        scans: new Map(),
      };
      this.prepared.set(spec, p);
    }
    return p;
  }

  private read(spec: WideTableSpec, row: Record<string, unknown>): WideValues {
    const out: WideValues = {};
    for (const c of spec.columns) out[c.name] = fromCql(c, row[c.name]);
    return out;
  }

  async put(
    spec: WideTableSpec,
    rows: readonly WideValues[],
    ttlSeconds: number,
    opts?: WideWriteOptions,
  ): Promise<void> {
    const { cql } = this.prep(spec);
    if (!cql.insert) throw new Error(`${spec.name} is a counter table; use increment`);
    const insert = cql.insert;
    const one = (row: WideValues) =>
      this.client.execute(insert, [...spec.columns.map((c) => toCql(c, row[c.name] ?? null)), ttlSeconds], {
        consistency: this.cl(opts),
        idempotent: true,
      });
    if (rows.length === 1) await one(rows[0]!);
    else await forEachLimit(rows, PUT_CONCURRENCY, one);
  }

  async get(spec: WideTableSpec, key: readonly WideValue[], opts?: WideReadOptions): Promise<WideValues | undefined> {
    const p = this.prep(spec);
    const rs = await this.client.execute(
      p.cql.selectByKey,
      key.map((v, i) => toCql(p.key[i]!, v)),
      { consistency: this.cl(opts), idempotent: true },
    );
    const row = rs.first();
    return row ? this.read(spec, row as unknown as Record<string, unknown>) : undefined;
  }

  async scan(spec: WideTableSpec, req: WideScanRequest): Promise<WideStorePage> {
    const p = this.prep(spec);
    const where = `${spec.name}.scan`;
    const pageState = req.pageToken ? pagingStateOf(req.pageToken, spec.name, req.order, where) : undefined;
    const shape: ScanShape = {
      from: req.from && { length: req.from.values.length, inclusive: req.from.inclusive },
      to: req.to && { length: req.to.values.length, inclusive: req.to.inclusive },
      order: req.order,
    };
    const id = JSON.stringify(shape);
    let text = p.scans.get(id);
    if (!text) {
      text = scanCql(spec, shape);
      p.scans.set(id, text);
    }
    const params = req.partition.map((v, i) => toCql(p.partition[i]!, v));
    if (req.from) params.push(...req.from.values.map((v, i) => toCql(p.clustering[i]!, v)));
    if (req.to) params.push(...req.to.values.map((v, i) => toCql(p.clustering[i]!, v)));
    let rs;
    try {
      rs = await this.client.execute(text, params, {
        consistency: this.cl(req),
        fetchSize: req.limit,
        pageState,
        idempotent: true,
      });
    } catch (err) {
      if (pageState && /paging state/i.test((err as Error).message)) {
        throw new WideInputError(`${where}: bad page token (${(err as Error).message})`);
      }
      throw err;
    }
    return {
      rows: rs.rows.map((r) => this.read(spec, r as unknown as Record<string, unknown>)),
      nextPageToken: rs.pageState ? cassandraPageToken(spec.name, req.order, rs.pageState) : "",
    };
  }

  async delete(spec: WideTableSpec, key: readonly WideValue[], opts?: WideWriteOptions): Promise<void> {
    const p = this.prep(spec);
    await this.client.execute(
      p.cql.deleteRow,
      key.map((v, i) => toCql(p.key[i]!, v)),
      {
        consistency: this.cl(opts),
        idempotent: true,
      },
    );
  }

  async deletePartition(spec: WideTableSpec, partition: readonly WideValue[], opts?: WideWriteOptions): Promise<void> {
    const p = this.prep(spec);
    await this.client.execute(
      p.cql.deletePartition,
      partition.map((v, i) => toCql(p.partition[i]!, v)),
      {
        consistency: this.cl(opts),
        idempotent: true,
      },
    );
  }

  async trim(
    spec: WideTableSpec,
    partitions: readonly (readonly WideValue[])[],
    keep: number,
    opts?: WideWriteOptions,
  ): Promise<number> {
    const p = this.prep(spec);
    if (p.clustering.length === 0) throw new Error(`${spec.name} has no clustering columns`);
    const keyNames = spec.primaryKey;
    let deleted = 0;
    await forEachLimit(partitions, TRIM_PARTITIONS, async (partition) => {
      // Skip the first `keep` rows (pages may be shorter than asked), collect the rest.
      const doomed: WideValue[][] = [];
      let skip = keep;
      let pageToken = "";
      do {
        const page = await this.scan(spec, {
          partition,
          order: "clustering",
          limit: skip > 0 ? Math.min(skip + 1, MAX_SCAN_LIMIT) : 1000,
          ...(pageToken ? { pageToken } : {}),
          ...(opts?.consistency ? { consistency: opts.consistency } : {}),
        });
        for (const row of page.rows) {
          if (skip > 0) skip--;
          else doomed.push(keyNames.map((n) => row[n]!));
        }
        pageToken = page.nextPageToken;
      } while (pageToken);
      await forEachLimit(doomed, PUT_CONCURRENCY, (key) => this.delete(spec, key, opts));
      deleted += doomed.length;
    });
    return deleted;
  }

  async increment(
    spec: WideTableSpec,
    key: readonly WideValue[],
    deltas: Readonly<Record<string, bigint>>,
    opts?: WideWriteOptions,
  ): Promise<void> {
    const p = this.prep(spec);
    if (!p.cql.increment) throw new Error(`${spec.name} has no counter columns`);
    const params = [...p.counters.map((c) => deltas[c.name] ?? 0n), ...key.map((v, i) => toCql(p.key[i]!, v))];
    // Counter updates are not idempotent: the driver must not retry them blindly.
    await this.client.execute(p.cql.increment, params, { consistency: this.cl(opts), idempotent: false });
  }
}
