/**
 * The engines the wide-table contract suite runs on: SQLite and MariaDB
 * (always; real stores from test/support/stores.ts) and a real Cassandra
 * cluster when CASSANDRA_CONTACT_POINTS is set.
 *
 *   CASSANDRA_CONTACT_POINTS=10.0.0.1,10.0.0.2   (host or host:port, comma-separated)
 *   CASSANDRA_DC=datacenter1                      (local data center; default datacenter1)
 *   CASSANDRA_REPLICATION_FACTOR=1                (of the throwaway test keyspace)
 *   CASSANDRA_USERNAME / CASSANDRA_PASSWORD       (optional)
 */
import type { WideTableSpec } from "../../schema.js";
import { mysqlStore, sqliteStore, type TestStore } from "../../../../test/support/stores.js";
import { CassandraClient, ensureKeyspace } from "../../cassandra/client.js";
import { createTableCql } from "../../cassandra/cql.js";
import type { CassandraConfig } from "../../open.js";
import { CassandraWideStore } from "../cassandra-store.js";
import { SqlWideStore } from "../sql-store.js";
import type { WideStore } from "../store.js";
import { createWideSqlTables } from "./sql-tables.js";

export interface WideEnv {
  readonly store: WideStore;
  /**
   * Lets `seconds` pass for TTLs: the SQL store's injected clock jumps; on
   * Cassandra the test really waits (so keep it to a few seconds there).
   */
  elapse(seconds: number): Promise<void>;
  /** True when time can jump (the SQL stores): long TTLs are testable. */
  readonly fastClock: boolean;
  /** The SQL store underneath, if any (for store-specific checks). */
  readonly sql?: { readonly store: SqlWideStore; readonly test: TestStore };
  dispose(): Promise<void>;
}

export interface WideEngine {
  readonly name: string;
  /** Why the engine is skipped, or undefined when it runs. */
  readonly skip?: string;
  open(tables: readonly WideTableSpec[]): Promise<WideEnv>;
}

async function sqlEnv(test: TestStore, tables: readonly WideTableSpec[]): Promise<WideEnv> {
  await createWideSqlTables(test.db, tables);
  let now = Date.now();
  const store = new SqlWideStore(test.db, { now: () => now });
  return {
    store,
    fastClock: true,
    sql: { store, test },
    async elapse(seconds) {
      now += seconds * 1000;
    },
    dispose: () => test.dispose(),
  };
}

export function cassandraConfigFromEnv(env: NodeJS.ProcessEnv = process.env): CassandraConfig | undefined {
  const points = env.CASSANDRA_CONTACT_POINTS?.trim();
  if (!points) return undefined;
  return {
    contactPoints: points
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    keyspace: `orbit_wide_${process.pid}_${Date.now().toString(36)}`,
    localDataCenter: env.CASSANDRA_DC || "datacenter1",
    consistency: "localQuorum",
    username: env.CASSANDRA_USERNAME || undefined,
    password: env.CASSANDRA_PASSWORD || undefined,
  };
}

async function cassandraEnv(config: CassandraConfig, tables: readonly WideTableSpec[]): Promise<WideEnv> {
  const rf = Number(process.env.CASSANDRA_REPLICATION_FACTOR || 1);
  await ensureKeyspace(config, { class: "NetworkTopologyStrategy", dataCenters: { [config.localDataCenter]: rf } });
  const client = await CassandraClient.open(config, { readTimeoutMs: 30_000 });
  for (const t of tables) await client.run(createTableCql(t, config.keyspace));
  return {
    store: new CassandraWideStore(client),
    fastClock: false,
    async elapse(seconds) {
      await new Promise((r) => setTimeout(r, seconds * 1000 + 500));
    },
    async dispose() {
      try {
        await client.run(`DROP KEYSPACE IF EXISTS ${config.keyspace}`);
      } finally {
        await client.close();
      }
    },
  };
}

const cassandra = cassandraConfigFromEnv();

export const WIDE_ENGINES: readonly WideEngine[] = [
  { name: "sqlite", open: (t) => sqlEnv(sqliteStore(), t) },
  { name: "mariadb", open: async (t) => sqlEnv(await mysqlStore(), t) },
  {
    name: "cassandra",
    skip: cassandra ? undefined : "set CASSANDRA_CONTACT_POINTS to run it, see docs/wide-tables.md",
    open: (t) => cassandraEnv(cassandra!, t),
  },
];
