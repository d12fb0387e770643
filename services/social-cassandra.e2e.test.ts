/**
 * The social slice on MariaDB + the live Cassandra node: a real
 * `orbit bundle --services=social --mysql … --cassandra cassandra://…/<ks>?rf=1`
 * whose home feed (the wide table home_feed) lives on Cassandra. The shared
 * scenario runs over the network; then the bundle restarts and the feeds
 * are intact; then home_feed is truncated on Cassandra and
 * `orbit events replay feed.fanout` rebuilds it row for row.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runOrbit, startBundle, type BundleProcess } from "../test/support/bundle-process.js";
import { CASSANDRA_SKIP, liveKeyspace, type LiveKeyspace } from "../test/support/cassandra.js";
import { socialScenario } from "../test/support/social-scenario.js";
import { consumersSettled, eventually, homeFeedOf, signUp, type Member } from "../test/support/social-client.js";
import { mysqlStore, type TestStore } from "../test/support/stores.js";
import type { CassandraClient } from "../platform/storage/cassandra/client.js";

const env = { ORBIT_SCRYPT_LOG_N: "12" };

describe.skipIf(CASSANDRA_SKIP !== undefined)("social on MariaDB + Cassandra (home feed on the live node)", () => {
  let store: TestStore;
  let ks: LiveKeyspace;
  let cql: CassandraClient;
  let b: BundleProcess;
  const bundleArgs = () => ["--services", "social", "--mysql", store.url, "--cassandra", ks.url];

  beforeAll(async () => {
    store = await mysqlStore();
    // The bundle creates the keyspace itself, with the URL's rf=1.
    ks = await liveKeyspace("orbit_social", { create: false });
    b = await startBundle(bundleArgs(), { env, readyTimeoutMs: 120_000 });
    cql = await ks.client();
  }, 150_000);
  afterAll(async () => {
    await b?.stop();
    await ks?.dispose();
    await store?.dispose();
  });

  it("created the keyspace with one replica and the home feed on Cassandra, not in MariaDB", async () => {
    const rs = await cql.execute("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?", [ks.name]);
    expect(rs.rows[0]?.get("replication")).toMatchObject({ datacenter1: "1" });
    const tables = await cql.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?", [ks.name]);
    expect(tables.rows.map((r) => r.get("table_name"))).toContain("home_feed");
    expect(
      await store.db.all(
        "SELECT table_name FROM information_schema.tables WHERE table_name = 'home_feed' AND table_schema = DATABASE()",
      ),
    ).toEqual([]);
    const ready = await (await fetch(`${b.url}/readyz`)).json();
    expect(ready).toMatchObject({ status: "ready", checks: { cassandra: { ok: true } } });
  });

  socialScenario(() => ({ baseUrl: b.url }));

  describe("after the scenario", () => {
    let dan: Member, eve: Member, fay: Member;
    /** The home_feed rows on Cassandra as "user/post/author" lines, for our three members. */
    async function feedRows(): Promise<string[]> {
      const out: string[] = [];
      for (const m of [dan, eve, fay]) {
        const rs = await cql.execute(`SELECT user_id, post_id, author_id FROM ${ks.name}.home_feed WHERE user_id = ?`, [
          m.user.id,
        ]);
        out.push(...rs.rows.map((r) => `${r.get("user_id")}/${r.get("post_id")}/${r.get("author_id")}`));
      }
      return out.sort();
    }

    it("keeps every feed across a restart of the bundle", { timeout: 150_000 }, async () => {
      [dan, eve, fay] = await Promise.all([signUp(b.url, "dan"), signUp(b.url, "eve"), signUp(b.url, "fay")]);
      await eve.api.graph.follow({ userId: dan.user.id });
      await fay.api.graph.follow({ userId: dan.user.id });
      await fay.api.graph.follow({ userId: eve.user.id });
      for (let i = 0; i < 6; i++) await [dan, eve][i % 2]!.api.posts.createPost({ text: `cassandra ${i}` });
      await consumersSettled(store.db);
      const before = await Promise.all([dan, eve, fay].map((m) => homeFeedOf(m)));
      expect(before.map((f) => f.length)).toEqual([3, 6, 6]);
      const rowsBefore = await feedRows();
      expect(rowsBefore).toHaveLength(15);

      await b.stop();
      b = await startBundle(bundleArgs(), { env, port: b.port, readyTimeoutMs: 120_000 });
      expect(b.logs().find((l) => l.msg === "cassandra wide tables migrated")).toMatchObject({ applied: 0 });
      expect(await Promise.all([dan, eve, fay].map((m) => homeFeedOf(m)))).toEqual(before);
      expect(await feedRows()).toEqual(rowsBefore);
    });

    it("rebuilds the feeds on Cassandra from the event log (orbit events replay feed.fanout)", {
      timeout: 60_000,
    }, async () => {
      const before = await Promise.all([dan, eve, fay].map((m) => homeFeedOf(m)));
      const rowsBefore = await feedRows();
      await cql.run(`TRUNCATE ${ks.name}.home_feed`);
      expect(await homeFeedOf(fay)).toEqual([]);

      const replay = runOrbit(["events", "replay", "feed.fanout", "--from", "earliest", "--mysql", store.url]);
      expect(await replay.exited).toMatchObject({ code: 0 });
      expect(replay.stdout.join("\n")).toMatch(/group feed\.fanout: position \d+ → 0/);
      // A new event makes the fenced consumer notice at once (else its next heartbeat does).
      await (await signUp(b.url, "gus")).api.posts.createPost({ text: "wakes the consumer" });
      await eventually(
        async () => (await homeFeedOf(fay)).length === before[2]!.length,
        "fay's feed is rebuilt",
        30_000,
      );
      await consumersSettled(store.db, 30_000);
      expect(await Promise.all([dan, eve, fay].map((m) => homeFeedOf(m)))).toEqual(before);
      expect(await feedRows()).toEqual(rowsBefore);
    });
  });
});
