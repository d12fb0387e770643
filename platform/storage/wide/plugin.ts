/**
 * The wide-table store as a kernel plugin: every service gets `ctx.wide`.
 * Without `--cassandra` it is the SQL store (the bundle's SQLite or MySQL,
 * tables migrated on boot with the rest) plus a sweeper for expired rows;
 * with `--cassandra URL` it is Cassandra/ScyllaDB, whose wide tables this
 * plugin migrates (lease, history, schema agreement) before services start;
 * the keyspace is created if missing, with `?rf=N` replicas in the local
 * data center (default 3; use rf=1 for a one-node development cluster).
 */
import type { KernelPlugin } from "../../kernel/plugin.js";
import type { HealthProbe } from "../health.js";
import type { WideTableSpec } from "../schema.js";
import type { WideStore } from "./store.js";
import { SqlWideStore } from "./sql-store.js";
import { startWideSweeper, type WideSweeper } from "./sweeper.js";

declare module "../../kernel/context.js" {
  interface ContextExtensions {
    /** Where the service's wide tables live: Cassandra if configured, else the SQL store. */
    readonly wide: WideStore;
  }
}

export function wideStorePlugin(): KernelPlugin {
  let store: WideStore | undefined;
  let sweeper: WideSweeper | undefined;
  let close: (() => Promise<void>) | undefined;
  let probe: HealthProbe | undefined;
  return {
    name: "wide",
    async setup(host) {
      const specs = host.services.flatMap((s) => s.tables).filter((t): t is WideTableSpec => t.kind === "wide");
      const url = host.config.cassandra;
      if (url) {
        const { CassandraClient, ensureKeyspace } = await import("../cassandra/client.js");
        const { CassandraWideStore } = await import("./cassandra-store.js");
        const { migrateCassandra } = await import("../../../migrations/index.js");
        const { parseCassandraUrl } = await import("../open.js");
        const { cassandraProbe } = await import("../cassandra/health.js");
        const cfg = parseCassandraUrl(url);
        // ?rf=N (default 3): replication factor in the local data center when the keyspace is created.
        await ensureKeyspace(cfg);
        const client = await CassandraClient.open(cfg);
        const log = host.log.child({ component: "wide" });
        const report = await migrateCassandra(client, client.keyspace, specs, {
          allowDestructive: host.config.allowDestructive,
          log: (line) => log.info(line),
        });
        log.info({ applied: report.applied.length }, "cassandra wide tables migrated");
        store = new CassandraWideStore(client);
        close = () => client.close();
        // /readyz asks it: not ready while the Cassandra store cannot answer.
        probe = cassandraProbe(client, {
          onChange: (r) =>
            r.ok
              ? log.info({ store: r.detail }, "cassandra is back")
              : log.warn({ store: r.detail }, "cassandra is unavailable"),
        });
      } else {
        const sql = new SqlWideStore(host.db);
        store = sql;
        const log = host.log.child({ component: "wide" });
        sweeper = startWideSweeper(
          sql,
          specs.filter((s) => s.defaultTtlSeconds > 0),
          {
            onError: (err, table) => log.error({ err, table }, "wide sweeper failed"),
          },
        );
      }
    },
    probes() {
      return probe ? [probe] : [];
    },
    extendContext() {
      if (!store) throw new Error("wide store plugin used before setup");
      return { wide: store };
    },
    async stop() {
      await sweeper?.stop();
      await close?.();
    },
  };
}
