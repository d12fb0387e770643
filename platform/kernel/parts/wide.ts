/**
 * The wide-table store as a platform part: every service gets `ctx.wide`.
 * Without `--cassandra` it is the SQL store (the bundle's SQLite or MySQL,
 * tables migrated on boot with the rest) plus a sweeper for expired rows;
 * with `--cassandra URL` it is Cassandra/ScyllaDB, whose wide tables this
 * part migrates (lease, history, schema agreement) before services are
 * built; the keyspace is created if missing, with `?rf=N` replicas in the
 * local data center (default 3; use rf=1 for a one-node development cluster).
 */
import type { WideTableSpec } from "../../storage/schema.js";
import { SqlWideStore } from "../../storage/wide/sql-store.js";
import type { WideStore } from "../../storage/wide/store.js";
import { startWideSweeper } from "../../storage/wide/sweeper.js";
import type { PartHost, PlatformPart } from "./index.js";

export async function openWidePart(host: PartHost): Promise<PlatformPart<WideStore>> {
  const specs = host.services.flatMap((s) => s.tables).filter((t): t is WideTableSpec => t.kind === "wide");
  const log = host.log.child({ component: "wide" });
  const url = host.config.cassandra;
  if (url) {
    const { CassandraClient, ensureKeyspace } = await import("../../storage/cassandra/client.js");
    const { CassandraWideStore } = await import("../../storage/wide/cassandra-store.js");
    const { migrateCassandra } = await import("../../migrate/index.js");
    const { parseCassandraUrl } = await import("../../storage/open.js");
    const { cassandraProbe } = await import("../../storage/cassandra/health.js");
    const cfg = parseCassandraUrl(url);
    // ?rf=N (default 3): replication factor in the local data center when the keyspace is created.
    await ensureKeyspace(cfg);
    const client = await CassandraClient.open(cfg);
    try {
      const report = await migrateCassandra(client, client.keyspace, specs, {
        allowDestructive: host.config.allowDestructive,
        log: (line) => log.info(line),
      });
      log.info({ applied: report.applied.length }, "cassandra wide tables migrated");
    } catch (err) {
      await client.close();
      throw err;
    }
    const store = new CassandraWideStore(client);
    // /readyz asks it: not ready while the Cassandra store cannot answer.
    const probe = cassandraProbe(client, {
      onChange: (r) =>
        r.ok
          ? log.info({ store: r.detail }, "cassandra is back")
          : log.warn({ store: r.detail }, "cassandra is unavailable"),
    });
    return { view: () => store, probes: () => [probe], stop: () => client.close() };
  }
  const store = new SqlWideStore(host.db);
  const sweeper = startWideSweeper(
    store,
    specs.filter((s) => s.defaultTtlSeconds > 0),
    { onError: (err, table) => log.error({ err, table }, "wide sweeper failed") },
  );
  return { view: () => store, stop: () => sweeper.stop() };
}
