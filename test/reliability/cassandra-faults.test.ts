/**
 * Faults with a real Cassandra node. The outage test starts a node of its
 * own (127.0.0.1:9142, its own directory, tools/cassandra/node.ts), stops it
 * while a bundle on MariaDB + that node serves, and starts it again: the
 * shared node at 9042 that other tests use is never touched. Cassandra
 * down at boot needs no node at all and always runs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeLayout, startNode, stopNode } from "../../tools/cassandra/node.js";
import { freePort, runOrbit, startBundle, type BundleProcess } from "../support/bundle-process.js";
import { CASSANDRA_SKIP, cassandraUrl, dropKeyspace, liveConfig, uniqueKeyspace } from "../support/cassandra.js";
import { codeOf } from "../support/social-scenario.js";
import { consumersSettled, eventually, homeFeedOf, type Member, signUp } from "../support/social-client.js";
import { mysqlStore, type TestStore } from "../support/stores.js";

const env = { ORBIT_SCRYPT_LOG_N: "12" };

describe("orbit bundle when Cassandra is down at boot", () => {
  it("exits non-zero, naming the contact points", async () => {
    const dir = mkdtempSync(join(tmpdir(), "orbit-cassandra-down-"));
    try {
      const dead = await freePort(); // nothing listens there
      const p = runOrbit([
        "bundle",
        "--services",
        "social",
        "--host",
        "127.0.0.1",
        "--port",
        String(await freePort()),
        "--data-dir",
        dir,
        "--cassandra",
        `cassandra://127.0.0.1:${dead}/orbit_down?rf=1`,
      ]);
      expect(await p.exited).toMatchObject({ code: 1 });
      const fatal = p.logs().find((l) => l.level === "fatal");
      expect(fatal?.msg).toMatch(
        new RegExp(`failed to start: cannot connect to Cassandra at 127\\.0\\.0\\.1:${dead} `),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A member's home feed, or undefined while the feed answers Unavailable; any other error fails the test. */
async function feedUnlessUnavailable(m: Member): Promise<bigint[] | undefined> {
  try {
    return await homeFeedOf(m);
  } catch (err) {
    if (ConnectError.from(err).code === Code.Unavailable) return undefined;
    throw err;
  }
}

describe.skipIf(CASSANDRA_SKIP !== undefined)("a bundle while its Cassandra node stops and comes back", () => {
  const node = { nativePort: 9142, heapMb: 512 };
  const layout = nodeLayout(node);
  const config = { ...liveConfig(uniqueKeyspace("orbit_fault")), contactPoints: [`127.0.0.1:${layout.nativePort}`] };
  let store: TestStore;
  let b: BundleProcess;

  beforeAll(async () => {
    await startNode({ ...node, timeoutMs: 240_000 });
    store = await mysqlStore();
    b = await startBundle(["--services", "social", "--mysql", store.url, "--cassandra", cassandraUrl(config)], {
      env,
      readyTimeoutMs: 120_000,
    });
  }, 400_000);
  afterAll(async () => {
    await b?.stop();
    await startNode(node); // a no-op unless the test left it stopped
    await dropKeyspace(config).catch(() => undefined);
    await stopNode(node);
    await store?.dispose();
  }, 300_000);

  const readyz = async () => {
    const res = await fetch(`${b.url}/readyz`);
    return { status: res.status, body: (await res.json()) as { checks?: { cassandra?: { ok: boolean } } } };
  };

  it("answers Unavailable and turns not ready while the node is down, loses nothing acknowledged, and recovers by itself", {
    timeout: 400_000,
  }, async () => {
    const [ann, bob] = await Promise.all([signUp(b.url, "ann"), signUp(b.url, "bob")]);
    await bob.api.graph.follow({ userId: ann.user.id });
    const p1 = (await ann.api.posts.createPost({ text: "before the outage" })).post!.id;
    await eventually(async () => (await homeFeedOf(bob)).includes(p1), "p1 in bob's feed");
    expect((await readyz()).status).toBe(200);

    await stopNode(node);
    // Feed calls need Cassandra: Unavailable (retry later), never Internal.
    await eventually(async () => (await codeOf(bob.api.feed.getHomeFeed({}))) === Code.Unavailable, "Unavailable");
    await eventually(async () => (await readyz()).status === 503, "/readyz not ready");
    expect((await readyz()).body).toMatchObject({ status: "not_ready", checks: { cassandra: { ok: false } } });
    expect((await fetch(`${b.url}/healthz`)).status).toBe(200); // alive: not a reason to restart it

    // What does not need Cassandra is acknowledged; its fan-out waits for the node.
    const p2 = (await ann.api.posts.createPost({ text: "during the outage" })).post!.id;
    const cat = await signUp(b.url, "cat");
    await cat.api.graph.follow({ userId: ann.user.id }); // its backfill waits too
    expect(await codeOf(cat.api.feed.getHomeFeed({}))).toBe(Code.Unavailable);

    await startNode(node);
    await eventually(async () => (await readyz()).status === 200, "/readyz ready again", 60_000);
    // Ready means the probe's query answered; the driver may still be bringing the
    // rest of its pool back, so a feed call can answer Unavailable (retryable) a
    // little longer. What counts: the feeds come back by themselves, complete.
    let bobFeed: bigint[] | undefined;
    await eventually(
      async () => (bobFeed = await feedUnlessUnavailable(bob))?.length === 2,
      "bob's feed has both posts",
      60_000,
    );
    expect(bobFeed).toEqual([p2, p1]);
    let catFeed: bigint[] | undefined;
    await eventually(async () => (catFeed = await feedUnlessUnavailable(cat))?.length === 2, "cat's backfill", 60_000);
    expect(catFeed).toEqual([p2, p1]);
    await consumersSettled(store.db, 30_000); // nothing parked as a dead letter
    const msgs = b.logs().map((l) => l.msg);
    expect(msgs).toContain("cassandra is unavailable");
    expect(msgs).toContain("cassandra is back");
  });
});
