/**
 * The live schema of a Cassandra keyspace, from system_schema.tables and
 * system_schema.columns (Cassandra 3.0+, ScyllaDB). `liveFromSystemSchema`
 * is pure, so the planner is tested from fixture rows.
 */
import type { CqlSession } from "./session.js";

export interface SystemTableRow {
  readonly table_name: string;
  readonly default_time_to_live?: number | null;
}

export interface SystemColumnRow {
  readonly table_name: string;
  readonly column_name: string;
  /** "asc", "desc" or "none". */
  readonly clustering_order: string;
  /** "partition_key", "clustering", "regular" or "static". */
  readonly kind: string;
  readonly position: number;
  readonly type: string;
}

export interface CqlLiveTable {
  readonly name: string;
  readonly partitionKey: readonly string[];
  readonly clustering: readonly { readonly column: string; readonly order: "asc" | "desc" }[];
  /** Every column (keys too) → normalised CQL type. */
  readonly columns: ReadonlyMap<string, string>;
  readonly defaultTtlSeconds: number;
}

/** CQL type as compared: lower case, no spaces, varchar is text. */
export function normaliseCqlType(type: string): string {
  return type
    .toLowerCase()
    .replace(/\s+/g, "")
    .replace(/\bvarchar\b/g, "text");
}

export function liveFromSystemSchema(
  tables: readonly SystemTableRow[],
  columns: readonly SystemColumnRow[],
): Map<string, CqlLiveTable> {
  const out = new Map<string, CqlLiveTable>();
  for (const t of tables) {
    const cols = columns.filter((c) => c.table_name === t.table_name);
    const byPos = (kind: string) =>
      cols.filter((c) => c.kind === kind).sort((a, b) => Number(a.position) - Number(b.position));
    out.set(t.table_name, {
      name: t.table_name,
      partitionKey: byPos("partition_key").map((c) => c.column_name),
      clustering: byPos("clustering").map((c) => ({
        column: c.column_name,
        order: c.clustering_order.toLowerCase() === "desc" ? "desc" : "asc",
      })),
      columns: new Map(cols.map((c) => [c.column_name, normaliseCqlType(c.type)])),
      defaultTtlSeconds: Number(t.default_time_to_live ?? 0),
    });
  }
  return out;
}

export const SYSTEM_TABLES_CQL =
  "SELECT table_name, default_time_to_live FROM system_schema.tables WHERE keyspace_name = ?";
export const SYSTEM_COLUMNS_CQL =
  "SELECT table_name, column_name, clustering_order, kind, position, type FROM system_schema.columns WHERE keyspace_name = ?";

export async function introspectCassandra(session: CqlSession, keyspace: string): Promise<Map<string, CqlLiveTable>> {
  const tables = await session.execute(SYSTEM_TABLES_CQL, [keyspace]);
  const columns = await session.execute(SYSTEM_COLUMNS_CQL, [keyspace]);
  return liveFromSystemSchema(tables.rows as unknown as SystemTableRow[], columns.rows as unknown as SystemColumnRow[]);
}
