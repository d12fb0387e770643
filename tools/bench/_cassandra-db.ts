/**
 * A scratch Cassandra keyspace for one bench step, on the node the benches
 * find: CASSANDRA_CONTACT_POINTS (first host), else the local node of
 * `npm run cassandra:start` at 127.0.0.1:9042 if it answers. Created fresh
 * (rf 1) and dropped afterwards.
 */
import { CassandraClient, ensureKeyspace } from "../../platform/storage/cassandra/client.js";
import type { CassandraConfig } from "../../platform/storage/open.js";
import { cqlAnswers } from "../cassandra/node.js";

/** The contact points of a reachable node, or undefined (the Cassandra engine is then skipped). */
export async function benchCassandraPoints(): Promise<string[] | undefined> {
  const points = (process.env.CASSANDRA_CONTACT_POINTS ?? "127.0.0.1:9042")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const [host, port] = points[0]!.split(":");
  return (await cqlAnswers(host!, Number(port ?? 9042))) ? points : undefined;
}

export interface ScratchCassandra {
  readonly config: CassandraConfig;
  readonly client: CassandraClient;
  /** The keyspace's cassandra:// URL (for `orbit bundle --cassandra`). */
  readonly url: string;
  /** Drops the keyspace and closes the client. */
  dispose(): Promise<void>;
}

export async function scratchCassandra(points: readonly string[], keyspace: string): Promise<ScratchCassandra> {
  const config: CassandraConfig = {
    contactPoints: [...points],
    keyspace,
    localDataCenter: process.env.CASSANDRA_DC || "datacenter1",
    consistency: "localQuorum",
    replicationFactor: 1,
  };
  const admin = await CassandraClient.open(config, { noKeyspace: true, readTimeoutMs: 60_000 });
  await admin.run(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await ensureKeyspace(config);
  const client = await CassandraClient.open(config, { readTimeoutMs: 60_000 });
  return {
    config,
    client,
    url: `cassandra://${points.join(",")}/${keyspace}?dc=${config.localDataCenter}&rf=1`,
    async dispose() {
      await client.close();
      await admin.run(`DROP KEYSPACE IF EXISTS ${keyspace}`);
      await admin.close();
    },
  };
}
