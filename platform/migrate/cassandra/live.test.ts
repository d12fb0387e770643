/**
 * The Cassandra migrator on the live node (CI starts one; locally
 * `npm run cassandra:start` and CASSANDRA_CONTACT_POINTS, see
 * test/support/cassandra.ts). Each test makes its own keyspace and drops it.
 *
 * Everything a real node can do on demand is proven here: creating a
 * keyspace's tables, adding a column and a table, refusals (what is lost, a
 * type change, a statement the node itself refuses), the history, a dry run,
 * interrupted steps resumed by the next boot after the dead process's lease
 * expired, a lease held by another process, and four migrators booting at
 * once. The in-memory fake (apply.test.ts) keeps only faults a node cannot
 * produce on demand: lagging or missing schema agreement, slow DDL against
 * lease renewal, a lease stolen or unrenewable mid-step.
 */
import { afterEach, describe, expect, it } from "vitest";
import { HomeFeedRowTable } from "../../../gen/orbit/feed/v1/tables_wide.js";
import type { CassandraClient } from "../../storage/cassandra/client.js";
import type { TableSpec, WideTableSpec } from "../../storage/schema.js";
import { CassandraWideStore } from "../../storage/wide/cassandra-store.js";
import { CASSANDRA_SKIP, liveKeyspace, type LiveKeyspace } from "../../../test/support/cassandra.js";
import { wideEventTables } from "../../../test/support/migrate/wide-events.js";
import {
  DestructiveChangeError,
  MigrationLockTimeoutError,
  MigrationStepError,
  UnsupportedChangeError,
} from "../errors.js";
import { readCqlHistory } from "./history.js";
import { migrateCassandra, type CassandraMigrateOptions } from "./migrate.js";
import { cqlSessionOf, type CqlSession } from "./session.js";

const v1 = wideEventTables(`int64 user_id = 1; int64 event_id = 2; string kind = 3;`);
/** v1 + two columns + a new table. */
const v2 = [
  ...wideEventTables(`int64 user_id = 1; int64 event_id = 2; string kind = 3; string detail = 4; string source = 5;`),
  HomeFeedRowTable,
];
/** v2 without `kind`: destructive. */
const v3 = [
  ...wideEventTables(`int64 user_id = 1; int64 event_id = 2; string detail = 4; string source = 5;`),
  HomeFeedRowTable,
];
/** v2 with `kind` a bigint: a type change. */
const vTyped = [
  ...wideEventTables(`int64 user_id = 1; int64 event_id = 2; int64 kind = 3; string detail = 4; string source = 5;`),
  HomeFeedRowTable,
];

const ddl = { readTimeoutMs: 60_000 };

/**
 * A session that dies like a killed process: from the matching statement on
 * (`before` it is sent, or right `after` the node ran it) nothing reaches the
 * node any more, and its lease is left to expire.
 */
function dyingSession(session: CqlSession, when: "before" | "after", match: (cql: string) => boolean): CqlSession {
  let dead = false;
  const gone = () => new Error("the migrating process is gone");
  return {
    url: session.url,
    async execute(cql, params) {
      if (dead) throw gone();
      if (when === "before" && match(cql)) {
        dead = true;
        throw gone();
      }
      const r = await session.execute(cql, params);
      if (when === "after" && match(cql)) {
        dead = true;
        throw gone();
      }
      return r;
    },
    async schemaAgreement() {
      if (dead) throw gone();
      return session.schemaAgreement();
    },
  };
}

async function columnsOf(client: CassandraClient, ks: string, table: string): Promise<Record<string, string>> {
  const rs = await client.execute(
    "SELECT column_name, type FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?",
    [ks, table],
  );
  return Object.fromEntries(rs.rows.map((r) => [r.get("column_name"), r.get("type")]));
}

async function tablesOf(client: CassandraClient, ks: string): Promise<string[]> {
  const rs = await client.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?", [ks]);
  return rs.rows.map((r) => String(r.get("table_name"))).sort();
}

/** The error a migration fails with (fails the test if it succeeds). */
async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the migration to fail");
}

async function schemaHistory(client: CassandraClient, ks: string): Promise<string[]> {
  return (await readCqlHistory(cqlSessionOf(client), ks))
    .filter((h) => h.kind === "schema")
    .map((h) => `${h.step} ${h.status} ${h.process}`);
}

describe.skipIf(CASSANDRA_SKIP !== undefined)("migrateCassandra on the live node", () => {
  const keyspaces: LiveKeyspace[] = [];
  afterEach(async () => {
    for (const ks of keyspaces.splice(0)) await ks.dispose();
  });
  async function keyspace(): Promise<{ ks: LiveKeyspace; client: CassandraClient }> {
    const ks = await liveKeyspace("orbit_mig");
    keyspaces.push(ks);
    return { ks, client: await ks.client() };
  }
  const migrate = (
    client: CassandraClient | CqlSession,
    ks: LiveKeyspace,
    tables: TableSpec[],
    opts: CassandraMigrateOptions = {},
  ) => migrateCassandra(client, ks.name, tables, opts);

  it("creates tables, adds columns and a table, refuses what loses data or what the node cannot do, and keeps the history", {
    timeout: 180_000,
  }, async () => {
    const { ks, client } = await keyspace();
    const dry = await migrate(client, ks, v1, { dryRun: true });
    expect(dry.plan.steps.map((s) => s.id)).toEqual(["create_table:events", "create_table:counts"]);
    expect(await tablesOf(client, ks.name)).toEqual([]); // a dry run changes nothing

    const r1 = await migrate(client, ks, v1, { processId: "boot-1" });
    expect(r1.applied.map((s) => s.id)).toEqual(["create_table:events", "create_table:counts"]);
    expect(await tablesOf(client, ks.name)).toEqual(["counts", "events", "orbit_migration_lock", "orbit_migrations"]);
    await client.execute(`INSERT INTO ${ks.name}.events (user_id, event_id, kind) VALUES (?, ?, ?)`, [
      1n,
      2n,
      "signup",
    ]);

    const r2 = await migrate(client, ks, v2, { processId: "boot-2" });
    expect(r2.applied.map((s) => s.id)).toEqual([
      "create_table:home_feed",
      "add_column:events.detail",
      "add_column:events.source",
    ]);
    const row = (await client.execute(`SELECT kind, detail FROM ${ks.name}.events WHERE user_id = ?`, [1n])).rows[0]!;
    expect([row.get("kind"), row.get("detail")]).toEqual(["signup", null]);

    // A dropped field: refused, naming the table, the column and what would be lost; nothing changes.
    const refused = await failure(migrate(client, ks, v3));
    expect(refused).toBeInstanceOf(DestructiveChangeError);
    expect((refused as DestructiveChangeError).changes).toEqual([
      {
        table: "events",
        column: "kind",
        summary: "drop column events.kind (text)",
        loses: "every value of kind would be lost",
      },
    ]);
    expect((await columnsOf(client, ks.name, "events")).kind).toBe("text");
    // A type change: Cassandra cannot make it, whatever the flags.
    const typed = await failure(migrate(client, ks, vTyped, { allowDestructive: true }));
    expect(typed).toBeInstanceOf(UnsupportedChangeError);
    expect(typed.message).toMatch(/\.events\.kind: Cassandra cannot change a column's type \(text → bigint\)/);

    const r3 = await migrate(client, ks, v3, { allowDestructive: true, processId: "boot-3" });
    expect(r3.applied.map((s) => s.id)).toEqual(["drop_column:events.kind"]);
    expect(await columnsOf(client, ks.name, "events")).not.toHaveProperty("kind");

    // Adding kind back as a bigint: the plan allows it, the node refuses it (a dropped column's
    // type is remembered); the step is recorded as failed and the error names it.
    const back = await failure(migrate(client, ks, vTyped, { processId: "boot-4" }));
    expect(back).toBeInstanceOf(MigrationStepError);
    expect((back as MigrationStepError).stepId).toBe("add_column:events.kind");
    expect(back.message).toMatch(/statement: ALTER TABLE \S+\.events ADD kind bigint/);

    expect(await schemaHistory(client, ks.name)).toEqual([
      "create_table:events applied boot-1",
      "create_table:counts applied boot-1",
      "create_table:home_feed applied boot-2",
      "add_column:events.detail applied boot-2",
      "add_column:events.source applied boot-2",
      "drop_column:events.kind applied boot-3",
      "add_column:events.kind failed boot-4",
    ]);
    expect((await migrate(client, ks, v3)).plan.upToDate).toBe(true);
  });

  it("resumes after a crash: a step that reached the node is found in place, one that did not is done again", {
    timeout: 180_000,
  }, async () => {
    const { ks, client } = await keyspace();
    const session = cqlSessionOf(client);
    await migrate(client, ks, v1, { processId: "boot-0" });
    // boot-a dies just before it sends ADD source; its 2-second lease is left behind.
    const a = dyingSession(session, "before", (cql) => /ADD source/.test(cql));
    await expect(migrate(a, ks, v2, { processId: "boot-a", leaseSeconds: 2 })).rejects.toThrow(/gone/);
    expect((await schemaHistory(client, ks.name)).slice(2)).toEqual([
      "create_table:home_feed applied boot-a",
      "add_column:events.detail applied boot-a",
      "add_column:events.source running boot-a",
    ]);

    // boot-b waits for the dead lease to expire, marks the step failed and does it again.
    const lines: string[] = [];
    const b = await migrate(client, ks, v2, { processId: "boot-b", log: (l) => lines.push(l) });
    expect(lines.some((l) => /boot-a holds the migration lease/.test(l))).toBe(true);
    expect(b.lockWaitMs).toBeGreaterThan(0);
    expect(b.recovered).toEqual(["add_column:events.source (failed)"]);
    expect(b.applied.map((s) => s.id)).toEqual(["add_column:events.source"]);
    expect(await columnsOf(client, ks.name, "events")).toMatchObject({ detail: "text", source: "text" });

    // boot-c dies right after the node ran its DROP: the next boot finds it in place.
    const c = dyingSession(session, "after", (cql) => /DROP kind/.test(cql));
    await expect(migrate(c, ks, v3, { processId: "boot-c", leaseSeconds: 2, allowDestructive: true })).rejects.toThrow(
      /gone/,
    );
    const d = await migrate(client, ks, v3, { processId: "boot-d", allowDestructive: true });
    expect(d.recovered).toEqual(["drop_column:events.kind (applied)"]);
    expect(d.applied).toEqual([]);
    const history = await readCqlHistory(session, ks.name);
    expect(
      history
        .filter((h) => h.kind === "schema")
        .map((h) => [h.step, h.status, h.process, h.detail])
        .slice(4),
    ).toEqual([
      ["add_column:events.source", "failed", "boot-a", "interrupted before it took effect; planned again by boot-b"],
      ["add_column:events.source", "applied", "boot-b", null],
      ["drop_column:events.kind", "applied", "boot-c", "interrupted after it took effect; found in place by boot-d"],
    ]);
    expect((await migrate(client, ks, v3)).plan.upToDate).toBe(true);
  });

  it("gives up waiting for a live holder's lease after lockTimeoutMs, naming the holder", {
    timeout: 120_000,
  }, async () => {
    const { ks, client } = await keyspace();
    await migrate(client, ks, v1);
    await client.execute(
      `INSERT INTO ${ks.name}.orbit_migration_lock (name, owner, acquired_at_ms) VALUES (?, ?, ?) USING TTL 120`,
      ["migrate", "busy-boot", BigInt(Date.now())],
    );
    const err = await failure(migrate(client, ks, v2, { lockTimeoutMs: 1_500 }));
    expect(err).toBeInstanceOf(MigrationLockTimeoutError);
    expect(err.message).toMatch(/gave up waiting 2 s for the Cassandra migration lease held by busy-boot/);
    expect(await tablesOf(client, ks.name)).not.toContain("home_feed");
  });

  it("four migrators boot at once: each step is applied once, and all four serve", { timeout: 180_000 }, async () => {
    const { ks } = await keyspace();
    const clients = await Promise.all([0, 1, 2, 3].map(() => ks.client()));
    const reports = await Promise.all(
      clients.map((c, i) => migrateCassandra(c, ks.name, v2, { processId: `boot-${i}` })),
    );
    const steps = ["create_table:events", "create_table:counts", "create_table:home_feed"];
    expect(reports.flatMap((r) => r.applied.map((s) => s.id)).sort()).toEqual([...steps].sort());
    const history = await schemaHistory(clients[0]!, ks.name);
    expect(history.map((h) => h.split(" ").slice(0, 2).join(" ")).sort()).toEqual(
      steps.map((s) => `${s} applied`).sort(),
    );
    const lock = await clients[0]!.execute(`SELECT owner FROM ${ks.name}.orbit_migration_lock`, []);
    expect(lock.rows).toEqual([]); // released

    // Every process serves: each writes through its own store, each reads what all wrote.
    const spec = v2.find((t) => t.name === "events") as WideTableSpec;
    const stores = clients.map((c) => new CassandraWideStore(c));
    await Promise.all(
      stores.map((s, i) =>
        s.put(spec, [{ user_id: 7n, event_id: BigInt(i), kind: `k${i}`, detail: null, source: null }], 0),
      ),
    );
    for (const s of stores) {
      const page = await s.scan(spec, { partition: [7n], order: "clustering", limit: 10 });
      expect(page.rows.map((r) => r.kind)).toEqual(["k3", "k2", "k1", "k0"]);
    }
  });
});
