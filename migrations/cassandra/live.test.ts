/**
 * The Cassandra migrator against a real cluster. Opt-in: runs only when
 * CASSANDRA_CONTACT_POINTS is set (Cassandra cannot run on the CI machine).
 *
 *   CASSANDRA_CONTACT_POINTS=10.0.0.1,10.0.0.2   host or host:port, comma-separated
 *   CASSANDRA_DC=datacenter1                      local data center (default datacenter1)
 *   CASSANDRA_REPLICATION_FACTOR=1                of the throwaway keyspaces
 *   CASSANDRA_USERNAME / CASSANDRA_PASSWORD       optional
 *
 * Each test makes its own keyspace and drops it afterwards.
 */
import { afterEach, describe, expect, it } from "vitest";
import { CassandraClient, ensureKeyspace } from "../../platform/storage/cassandra/client.js";
import type { CassandraConfig } from "../../platform/storage/open.js";
import type { TableSpec } from "../../platform/storage/schema.js";
import { wideEventTables } from "../test-support/wide-events.js";
import { DestructiveChangeError } from "../errors.js";
import { readCqlHistory } from "./history.js";
import { migrateCassandra } from "./migrate.js";
import { cqlSessionOf } from "./session.js";

const points = process.env.CASSANDRA_CONTACT_POINTS?.trim();
let counter = 0;

function config(): CassandraConfig {
  return {
    contactPoints: points!
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    keyspace: `orbit_mig_${process.pid}_${Date.now().toString(36)}_${counter++}`,
    localDataCenter: process.env.CASSANDRA_DC || "datacenter1",
    consistency: "localQuorum",
    username: process.env.CASSANDRA_USERNAME || undefined,
    password: process.env.CASSANDRA_PASSWORD || undefined,
  };
}

const v1 = wideEventTables(`int64 user_id = 1; int64 event_id = 2; string kind = 3;`);
const v2 = wideEventTables(`int64 user_id = 1; int64 event_id = 2; string kind = 3; string detail = 4;`);
const v3 = wideEventTables(`int64 user_id = 1; int64 event_id = 2; string detail = 4;`);

describe.runIf(points)("migrateCassandra on a live cluster", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  async function keyspace(): Promise<{ cfg: CassandraConfig; client: () => Promise<CassandraClient> }> {
    const cfg = config();
    const rf = Number(process.env.CASSANDRA_REPLICATION_FACTOR || 1);
    await ensureKeyspace(cfg, { class: "NetworkTopologyStrategy", dataCenters: { [cfg.localDataCenter]: rf } });
    const clients: CassandraClient[] = [];
    cleanup.push(async () => {
      const admin = await CassandraClient.open(cfg, { readTimeoutMs: 60_000 });
      await admin.run(`DROP KEYSPACE IF EXISTS ${cfg.keyspace}`).finally(() => admin.close());
      for (const c of clients) await c.close();
    });
    return {
      cfg,
      client: async () => {
        const c = await CassandraClient.open(cfg, { readTimeoutMs: 60_000 });
        clients.push(c);
        return c;
      },
    };
  }

  it("creates, adds, refuses a drop, drops when allowed, then has nothing to do", { timeout: 300_000 }, async () => {
    const ks = await keyspace();
    const client = await ks.client();
    const r1 = await migrateCassandra(client, ks.cfg.keyspace, v1 as TableSpec[]);
    expect(r1.applied.map((s) => s.id).sort()).toEqual(["create_table:counts", "create_table:events"]);
    await client.execute(`INSERT INTO ${ks.cfg.keyspace}.events (user_id, event_id, kind) VALUES (?, ?, ?)`, [
      1n,
      2n,
      "signup",
    ]);

    const r2 = await migrateCassandra(client, ks.cfg.keyspace, v2 as TableSpec[]);
    expect(r2.applied.map((s) => s.id)).toEqual(["add_column:events.detail"]);
    const row = (await client.execute(`SELECT kind, detail FROM ${ks.cfg.keyspace}.events WHERE user_id = ?`, [1n]))
      .rows[0]!;
    expect([row.get("kind"), row.get("detail")]).toEqual(["signup", null]);

    await expect(migrateCassandra(client, ks.cfg.keyspace, v3 as TableSpec[])).rejects.toBeInstanceOf(
      DestructiveChangeError,
    );
    const r3 = await migrateCassandra(client, ks.cfg.keyspace, v3 as TableSpec[], { allowDestructive: true });
    expect(r3.applied.map((s) => s.id)).toEqual(["drop_column:events.kind"]);

    const r4 = await migrateCassandra(client, ks.cfg.keyspace, v3 as TableSpec[]);
    expect(r4.plan.upToDate).toBe(true);
  });

  it("lets one of four concurrent boots migrate; the others wait on the lease", { timeout: 300_000 }, async () => {
    const ks = await keyspace();
    const clients = await Promise.all([0, 1, 2, 3].map(() => ks.client()));
    const reports = await Promise.all(
      clients.map((c, i) => migrateCassandra(c, ks.cfg.keyspace, v2 as TableSpec[], { processId: `boot-${i}` })),
    );
    expect(reports.filter((r) => r.applied.length > 0).length).toBe(1);
    const history = await readCqlHistory(cqlSessionOf(clients[0]!), ks.cfg.keyspace);
    const steps = history.filter((h) => h.kind === "schema").map((h) => `${h.step} ${h.status}`);
    expect(steps.sort()).toEqual(["create_table:counts applied", "create_table:events applied"]);
  });
});
