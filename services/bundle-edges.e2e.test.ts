/**
 * Two edges of running the social services as bundles on MariaDB:
 *  - a bundle that runs only `feed` verifies tokens through the user service
 *    given as a peer, though no service it runs depends on `user`;
 *  - SIGTERM while a call that publishes an event is in flight: the call
 *    finishes, its event is written, and the bundle exits 0.
 */
import { Code } from "@connectrpc/connect";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBundle, startSplitBundles, type BundleProcess } from "../test/support/bundle-process.js";
import { codeOf } from "../test/support/social-scenario.js";
import { signUp, socialClients } from "../test/support/social-client.js";
import { mysqlStore, type TestStore } from "../test/support/stores.js";
import { waitFor } from "../test/support/wait.js";

const env = { ORBIT_SCRYPT_LOG_N: "10", ORBIT_CLUSTER_SECRET: "bundle-edges-cluster-secret-0123" };

describe("a feed-only bundle", () => {
  let store: TestStore;
  let a: BundleProcess;
  let b: BundleProcess;

  beforeAll(async () => {
    store = await mysqlStore();
    ({ a, b } = await startSplitBundles(
      ["--mysql", store.url],
      "user,graph,post",
      "feed",
      ["graph", "post", "user"],
      env,
    ));
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await store?.dispose();
  });

  it("verifies tokens through the user service it was given as a peer, and does not call that peer unused", async () => {
    const ann = await signUp(a.url, "ann");
    await ann.api.posts.createPost({ text: "hello from a split deployment" });
    const feed = socialClients(b.url, ann.token).feed;
    // The feed is built from the post's event: wait until it shows, then look at it.
    let posts: unknown[] = [];
    await waitFor(async () => {
      posts = (await feed.getHomeFeed({ pageSize: 10 })).posts;
      return posts.length > 0;
    }, "the post in the feed-only bundle's home feed");
    expect(posts).toHaveLength(1);
    expect(await codeOf(socialClients(b.url, "not-a-token").feed.getHomeFeed({}))).toBe(Code.Unauthenticated);
    expect(
      b
        .logs()
        .filter((l) => l.msg.includes("no service here depends on it"))
        .map((l) => l.peer),
    ).toEqual([]);
  }, 30_000);
});

describe("SIGTERM with a publishing call in flight", () => {
  let store: TestStore;
  let b: BundleProcess;
  let lock: mysql.Connection;

  beforeAll(async () => {
    store = await mysqlStore();
    b = await startBundle(["--services", "social", "--mysql", store.url], { env });
    const u = new URL(store.url);
    lock = await mysql.createConnection({
      host: u.hostname,
      port: Number(u.port || 3306),
      user: decodeURIComponent(u.username),
      database: u.pathname.slice(1),
    });
  }, 60_000);
  afterAll(async () => {
    await lock?.end();
    await b?.stop();
    await store?.dispose();
  });

  it("lets the call finish and write its event, then exits 0", async () => {
    const ann = await signUp(b.url, "ann");
    // Hold the posts table so that CreatePost waits inside its transaction.
    await lock.query("LOCK TABLES posts WRITE");
    const created = ann.api.posts.createPost({ text: "written while shutting down" });
    const waiting = async () => {
      const [rows] = await lock.query(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE STATE LIKE '%lock%' AND INFO LIKE '%posts%'",
      );
      return Number((rows as Array<{ n: number }>)[0]!.n) > 0;
    };
    await waitFor(waiting, "CreatePost waiting on the posts table lock");
    const exited = b.stop("SIGTERM");
    // The lock goes only once the bundle is draining with the call in flight.
    await waitFor(
      () => b.logs().some((l) => l.msg === "shutting down: draining" && Number(l.inflight) >= 1),
      "the bundle draining with CreatePost in flight",
    );
    await lock.query("UNLOCK TABLES");
    const post = (await created).post!;
    expect(post.text).toBe("written while shutting down");
    expect((await exited).code).toBe(0);
    const [events] = await lock.query("SELECT COUNT(*) AS n FROM orbit_event_log WHERE topic = 'post.created'");
    expect(Number((events as Array<{ n: number }>)[0]!.n)).toBe(1);
    expect(
      b
        .logs()
        .filter((l) => l.level === "error" || l.level === "fatal")
        .map((l) => l.msg),
    ).toEqual([]);
  }, 30_000);
});
