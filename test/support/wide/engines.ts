/**
 * The engines the wide-table contract suite runs on: SQLite and MariaDB
 * (always; real stores from test/support/stores.ts) and the live Cassandra
 * node when CASSANDRA_CONTACT_POINTS is set (CI starts one; locally
 * `npm run cassandra:start`; settings in test/support/cassandra.ts).
 */
import type { WideTableSpec } from "../../../platform/storage/schema.js";
import { mysqlStore, sqliteStore, type TestStore } from "../stores.js";
import { CASSANDRA_SKIP, liveKeyspace } from "../cassandra.js";
import { createTableCql } from "../../../platform/storage/cassandra/cql.js";
import { CassandraWideStore } from "../../../platform/storage/wide/cassandra-store.js";
import { SqlWideStore } from "../../../platform/storage/wide/sql-store.js";
import type { WideStore } from "../../../platform/storage/wide/store.js";
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

/** Wide tables on a throwaway keyspace of the live node (created here, dropped by dispose). */
export async function cassandraWideEnv(tables: readonly WideTableSpec[], prefix = "orbit_wide"): Promise<WideEnv> {
  const ks = await liveKeyspace(prefix);
  try {
    const client = await ks.client();
    // One schema change at a time, each waited on: Cassandra wants no concurrent DDL.
    for (const t of tables) await client.run(createTableCql(t, ks.name));
    return {
      store: new CassandraWideStore(client),
      fastClock: false,
      async elapse(seconds) {
        await new Promise((r) => setTimeout(r, seconds * 1000 + 500));
      },
      dispose: () => ks.dispose(),
    };
  } catch (err) {
    await ks.dispose();
    throw err;
  }
}

export const WIDE_ENGINES: readonly WideEngine[] = [
  { name: "sqlite", open: (t) => sqlEnv(sqliteStore(), t) },
  { name: "mariadb", open: async (t) => sqlEnv(await mysqlStore(), t) },
  {
    name: "cassandra",
    skip: CASSANDRA_SKIP,
    open: (t) => cassandraWideEnv(t),
  },
];
