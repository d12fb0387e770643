/**
 * The social scenario on two bundle processes sharing one MariaDB database:
 * A runs user and graph, B runs post and feed and reaches A through --peer.
 * B verifies bearer tokens by asking A's user service (its verifiesTokens.remote);
 * identities cross between the processes signed with the cluster secret, and
 * events (post → counters in A, block → feed in B) go through the shared log.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSplitBundles, type BundleProcess } from "../test/support/bundle-process.js";
import { socialScenario } from "../test/support/social-scenario.js";
import { mysqlStore, type TestStore } from "../test/support/stores.js";

const METRICS_TOKEN = "two-process-metrics-token";
const env = {
  ORBIT_SCRYPT_LOG_N: "12",
  ORBIT_CLUSTER_SECRET: "two-process-social-cluster-secret",
  ORBIT_METRICS_TOKEN: METRICS_TOKEN,
};

describe("social on two processes (user,graph | post,feed) over MariaDB", () => {
  let store: TestStore;
  let a: BundleProcess;
  let b: BundleProcess;

  beforeAll(async () => {
    store = await mysqlStore();
    // A migrates its tables first; B's boot then finds them and adds its own.
    ({ a, b } = await startSplitBundles(["--mysql", store.url], "user,graph", "post,feed", ["user", "graph"], env));
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await store?.dispose();
  });

  it("runs user and graph in A, post and feed in B", () => {
    // user and post depend on media (avatars and posts take only READY media): each process runs it;
    // post also pulls in community.
    expect(a.logs().find((l) => l.msg === "starting bundle")).toMatchObject({ services: ["media", "user", "graph"] });
    expect(b.logs().find((l) => l.msg === "starting bundle")).toMatchObject({
      services: ["community", "media", "post", "feed"],
      peers: { user: a.url, graph: a.url },
    });
  });

  socialScenario(() => ({
    baseUrl: a.url,
    urls: { users: a.url, graph: a.url, posts: b.url, feed: b.url },
  }));

  it("B asked A over the network to verify tokens and to filter blocks", async () => {
    // /metrics on the service port with --metrics-token (ORBIT_METRICS_TOKEN): refused without it.
    expect((await fetch(`${a.url}/metrics`)).status).toBe(401);
    const metrics = await (
      await fetch(`${a.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    ).text();
    const served = (method: string) =>
      metrics
        .split("\n")
        .filter(
          (l) =>
            l.startsWith("orbit_rpc_server_handled_total{") &&
            l.includes(`method="${method}"`) &&
            l.includes('protocol="connect"'),
        )
        .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
    expect(served("VerifyToken")).toBeGreaterThan(0);
    expect(served("FilterBlocked")).toBeGreaterThan(0);
  });
});
