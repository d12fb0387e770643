/**
 * CQL text for wide tables, built from their TableSpec. The Cassandra walker
 * prints these statements as constants in `gen/**\/*_wide.ts` and `*.cql`;
 * the Cassandra runtime prepares exactly the same text; the migrator calls
 * `createTableCql`. One builder, so what a reader sees is what runs.
 */
import type { WideTableSpec } from "../schema.js";

/**
 * CQL's reserved keywords (they cannot be unquoted identifiers). Column and
 * table names are validated as [a-z][a-z0-9_]* at gen time, so quoting is
 * needed only for these.
 */
const RESERVED = new Set(
  (
    "add aggregate all allow alter and apply as asc ascii authorize batch begin by columnfamily create default delete desc " +
    "describe drop entries execute from full function grant if in index infinity insert into is keyspace limit " +
    "materialized mbean mbeans modify nan norecursive not null of on or order primary rename replace revoke schema " +
    "select set table to token truncate unlogged unset update use using view where with"
  ).split(" "),
);

/** Quotes `name` if it is a CQL reserved word. */
export function cqlIdent(name: string): string {
  return RESERVED.has(name.toLowerCase()) ? `"${name}"` : name;
}

const KEYSPACE = /^[A-Za-z][A-Za-z0-9_]{0,47}$/;

function tableRef(spec: WideTableSpec, keyspace?: string): string {
  if (keyspace === undefined) return cqlIdent(spec.name);
  if (!KEYSPACE.test(keyspace)) throw new Error(`invalid Cassandra keyspace name "${keyspace}"`);
  return `${cqlIdent(keyspace)}.${cqlIdent(spec.name)}`;
}

/** Replication of a keyspace created by `createKeyspaceCql`. */
export type Replication =
  | { readonly class: "SimpleStrategy"; readonly replicationFactor: number }
  | { readonly class: "NetworkTopologyStrategy"; readonly dataCenters: Readonly<Record<string, number>> };

export function createKeyspaceCql(keyspace: string, replication: Replication): string {
  if (!KEYSPACE.test(keyspace)) throw new Error(`invalid Cassandra keyspace name "${keyspace}"`);
  const r =
    replication.class === "SimpleStrategy"
      ? `'class': 'SimpleStrategy', 'replication_factor': ${replication.replicationFactor}`
      : [
          "'class': 'NetworkTopologyStrategy'",
          ...Object.entries(replication.dataCenters).map(([dc, n]) => `'${dc.replace(/'/g, "''")}': ${n}`),
        ].join(", ");
  return `CREATE KEYSPACE IF NOT EXISTS ${cqlIdent(keyspace)} WITH replication = {${r}}`;
}

/**
 * `CREATE TABLE IF NOT EXISTS` for a wide table: the partition key in its own
 * parentheses, the clustering columns after it, `CLUSTERING ORDER BY` and
 * `default_time_to_live` when declared. Names are qualified with `keyspace`
 * when one is given.
 */
export function createTableCql(spec: WideTableSpec, keyspace?: string): string {
  const lines = spec.columns.map((c) => `  ${cqlIdent(c.name)} ${c.cql},`);
  const pk = `(${spec.partitionKey.map(cqlIdent).join(", ")})`;
  lines.push(`  PRIMARY KEY (${[pk, ...spec.clustering.map((c) => cqlIdent(c.column))].join(", ")})`);
  const withs: string[] = [];
  if (spec.clustering.length > 0) {
    const order = spec.clustering.map((c) => `${cqlIdent(c.column)} ${c.order.toUpperCase()}`).join(", ");
    withs.push(`CLUSTERING ORDER BY (${order})`);
  }
  if (spec.defaultTtlSeconds > 0) withs.push(`default_time_to_live = ${spec.defaultTtlSeconds}`);
  const tail = withs.length > 0 ? ` WITH ${withs.join("\n  AND ")}` : "";
  return `CREATE TABLE IF NOT EXISTS ${tableRef(spec, keyspace)} (\n${lines.join("\n")}\n)${tail}`;
}

/** `DROP TABLE IF EXISTS` (for tests and explicit destructive migrations). */
export function dropTableCql(spec: WideTableSpec, keyspace?: string): string {
  return `DROP TABLE IF EXISTS ${tableRef(spec, keyspace)}`;
}

/** The shape of a scan: which clustering bounds it has, and its order. */
export interface ScanShape {
  /** Lower bound on the first `length` clustering columns (value order). */
  readonly from?: { readonly length: number; readonly inclusive: boolean };
  /** Upper bound on the first `length` clustering columns (value order). */
  readonly to?: { readonly length: number; readonly inclusive: boolean };
  /** "clustering": the table's clustering order; "reverse": the opposite. */
  readonly order: "clustering" | "reverse";
}

/** The statements the Cassandra runtime prepares for a wide table. */
export interface WideCql {
  /**
   * Insert or overwrite every column; the last parameter is the TTL in
   * seconds (0 = none). Absent on counter tables, which only take UPDATEs.
   */
  readonly insert?: string;
  /** One row by its full primary key. */
  readonly selectByKey: string;
  /** One partition, in clustering order (paged by the driver). */
  readonly scanPartition: string;
  /** One partition between two full clustering keys, both inclusive (tables with clustering). */
  readonly scanRange?: string;
  readonly deleteRow: string;
  readonly deletePartition: string;
  /** Counter tables only: `SET c = c + ?` for every counter, then the key. */
  readonly increment?: string;
}

function selectList(spec: WideTableSpec): string {
  return spec.columns.map((c) => cqlIdent(c.name)).join(", ");
}

function eqList(cols: readonly string[]): string {
  return cols.map((c) => `${cqlIdent(c)} = ?`).join(" AND ");
}

function tuple(spec: WideTableSpec, length: number): { cols: string; marks: string } {
  const cols = spec.clustering.slice(0, length).map((c) => cqlIdent(c.column));
  return { cols: `(${cols.join(", ")})`, marks: `(${cols.map(() => "?").join(", ")})` };
}

/**
 * A partition scan of the given shape. Bounds are tuple relations over a
 * prefix of the clustering columns, `(a, b) >= (?, ?)`, which Cassandra
 * compares by value (lexicographically) whatever the clustering order.
 * Parameters: partition key, then the lower bound's values, then the upper's.
 * The page size is the driver's fetchSize, so there is no LIMIT.
 */
export function scanCql(spec: WideTableSpec, shape: ScanShape): string {
  const where = [eqList(spec.partitionKey)];
  if (shape.from) {
    const t = tuple(spec, shape.from.length);
    where.push(`${t.cols} ${shape.from.inclusive ? ">=" : ">"} ${t.marks}`);
  }
  if (shape.to) {
    const t = tuple(spec, shape.to.length);
    where.push(`${t.cols} ${shape.to.inclusive ? "<=" : "<"} ${t.marks}`);
  }
  let text = `SELECT ${selectList(spec)} FROM ${tableRef(spec)} WHERE ${where.join(" AND ")}`;
  if (shape.order === "reverse" && spec.clustering.length > 0) {
    const by = spec.clustering.map((c) => `${cqlIdent(c.column)} ${c.order === "asc" ? "DESC" : "ASC"}`);
    text += ` ORDER BY ${by.join(", ")}`;
  }
  return text;
}

/** Every statement of a wide table (what the generated `…Cql` constant holds). */
export function wideCql(spec: WideTableSpec): WideCql {
  const t = tableRef(spec);
  const counters = spec.columns.filter((c) => c.counter);
  const all = spec.columns.map((c) => cqlIdent(c.name));
  const n = spec.clustering.length;
  const insert = `INSERT INTO ${t} (${all.join(", ")}) VALUES (${all.map(() => "?").join(", ")}) USING TTL ?`;
  const common = {
    selectByKey: `SELECT ${selectList(spec)} FROM ${t} WHERE ${eqList(spec.primaryKey)}`,
    scanPartition: scanCql(spec, { order: "clustering" }),
    ...(n > 0
      ? {
          scanRange: scanCql(spec, {
            from: { length: n, inclusive: true },
            to: { length: n, inclusive: true },
            order: "clustering",
          }),
        }
      : {}),
    deleteRow: `DELETE FROM ${t} WHERE ${eqList(spec.primaryKey)}`,
    deletePartition: `DELETE FROM ${t} WHERE ${eqList(spec.partitionKey)}`,
  };
  if (counters.length === 0) return { insert, ...common };
  // Counter tables cannot be INSERTed into: rows come into being by UPDATE.
  const set = counters.map((c) => `${cqlIdent(c.name)} = ${cqlIdent(c.name)} + ?`).join(", ");
  return { ...common, increment: `UPDATE ${t} SET ${set} WHERE ${eqList(spec.primaryKey)}` };
}
