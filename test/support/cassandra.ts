/**
 * The live Cassandra node for tests: set CASSANDRA_CONTACT_POINTS (CI does,
 * after `npm run cassandra:start`) and the live suites run against it;
 * without it they are skipped (vitest.global-setup.ts says so in one line).
 *
 *   CASSANDRA_CONTACT_POINTS=127.0.0.1:9042      host or host:port, comma-separated
 *   CASSANDRA_DC=datacenter1                      local data center (default datacenter1)
 *   CASSANDRA_REPLICATION_FACTOR=1                of the throwaway keyspaces (default 1)
 *   CASSANDRA_USERNAME / CASSANDRA_PASSWORD       optional
 *
 * Each test file makes its own keyspaces (liveKeyspace) and drops them at
 * the end, as the MariaDB tests do with databases.
 */
import { CassandraClient, ensureKeyspace } from "../../platform/storage/cassandra/client.js";
import type { CassandraConfig } from "../../platform/storage/open.js";

export const CASSANDRA_POINTS = process.env.CASSANDRA_CONTACT_POINTS?.trim() || undefined;

/** Why a live Cassandra suite is skipped, or undefined when it runs. */
export const CASSANDRA_SKIP = CASSANDRA_POINTS
  ? undefined
  : "CASSANDRA_CONTACT_POINTS is not set (npm run cassandra:start, see docs/wide-tables.md)";

let counter = 0;

/** A keyspace name no other test process uses (at most 48 characters). */
export function uniqueKeyspace(prefix: string): string {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  if (name.length > 48) throw new Error(`keyspace name ${name} is longer than 48 characters`);
  return name;
}

/** The live node's settings for a keyspace (CASSANDRA_CONTACT_POINTS must be set). */
export function liveConfig(keyspace: string, env: NodeJS.ProcessEnv = process.env): CassandraConfig {
  const points = env.CASSANDRA_CONTACT_POINTS?.trim();
  if (!points) throw new Error("CASSANDRA_CONTACT_POINTS is not set");
  return {
    contactPoints: points
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    keyspace,
    localDataCenter: env.CASSANDRA_DC || "datacenter1",
    consistency: "localQuorum",
    replicationFactor: Number(env.CASSANDRA_REPLICATION_FACTOR || 1),
    username: env.CASSANDRA_USERNAME || undefined,
    password: env.CASSANDRA_PASSWORD || undefined,
  };
}

/** The cassandra:// URL of a config (what `orbit bundle --cassandra` takes). */
export function cassandraUrl(c: CassandraConfig): string {
  const auth = c.username ? `${encodeURIComponent(c.username)}:${encodeURIComponent(c.password ?? "")}@` : "";
  const rf = c.replicationFactor ? `&rf=${c.replicationFactor}` : "";
  return `cassandra://${auth}${c.contactPoints.join(",")}/${c.keyspace}?dc=${c.localDataCenter}${rf}`;
}

export interface LiveKeyspace {
  readonly config: CassandraConfig;
  readonly url: string;
  readonly name: string;
  /** A client on the keyspace (closed by dispose). */
  client(): Promise<CassandraClient>;
  /** Drops the keyspace and closes the clients. */
  dispose(): Promise<void>;
}

/**
 * A throwaway keyspace on the live node: created now unless `create` is
 * false (for tests where our code creates it), dropped by dispose.
 */
export async function liveKeyspace(prefix: string, opts: { readonly create?: boolean } = {}): Promise<LiveKeyspace> {
  const config = liveConfig(uniqueKeyspace(prefix));
  if (opts.create !== false) await ensureKeyspace(config);
  const clients: CassandraClient[] = [];
  return {
    config,
    name: config.keyspace,
    url: cassandraUrl(config),
    async client() {
      const c = await CassandraClient.open(config, { readTimeoutMs: 60_000 });
      clients.push(c);
      return c;
    },
    async dispose() {
      await dropKeyspace(config);
      for (const c of clients.splice(0)) await c.close();
    },
  };
}

/** Drops a keyspace (if it exists) on the live node. */
export async function dropKeyspace(config: CassandraConfig): Promise<void> {
  const admin = await CassandraClient.open(config, { noKeyspace: true, readTimeoutMs: 60_000 });
  try {
    await admin.run(`DROP KEYSPACE IF EXISTS ${config.keyspace}`);
  } finally {
    await admin.close();
  }
}
