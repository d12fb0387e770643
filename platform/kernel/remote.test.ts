/**
 * Calls to a service in another process (a real `orbit bundle` child) through
 * the kernel's remote client: retries only for methods the proto marks
 * idempotent, deadlines travel, errors keep their details, and a service
 * may only ask for clients of the services it lists in deps.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EchoService, FailDetailSchema } from "../../gen/orbit/testing/v1/echo_pb.js";
import { RelayService } from "../../gen/orbit/testing/v1/relay_pb.js";
import { echo } from "../../services/echo/service.js";
import { relay } from "../../services/relay/service.js";
import { startBundle, type BundleProcess } from "../../test/support/bundle-process.js";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { DEFAULT_CONFIG } from "../config/config.js";
import { silentLogger } from "../log.js";
import { Bundle } from "./bundle.js";
import { Registry } from "./registry.js";
import { defineService } from "./service.js";

const SECRET = "remote-test-cluster-secret";

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

describe("remote clients", () => {
  let peer: BundleProcess;
  let store: TestStore;
  let bundle: Bundle;
  beforeAll(async () => {
    peer = await startBundle(["--services", "echo"], { env: { ORBIT_CLUSTER_SECRET: SECRET } });
    store = sqliteStore();
    const registry = new Registry([defineService({ name: "caller", deps: ["echo"] }), echo, relay]);
    bundle = await Bundle.start({
      registry,
      config: { ...DEFAULT_CONFIG, services: ["caller"], peers: { echo: peer.url }, clusterSecret: SECRET },
      db: store.db,
      listen: false,
      log: silentLogger(),
    });
  });
  afterAll(async () => {
    await bundle?.stop();
    await store?.dispose();
    await peer?.stop();
  });

  it("reach the peer", async () => {
    const r = await bundle.client(EchoService).whoAmI({});
    expect(r.protocol).toBe("connect");
  });

  it("retry Unavailable for idempotent methods only", async () => {
    const client = bundle.client(EchoService);
    // IDEMPOTENT: fails twice, the third attempt succeeds within one call.
    expect((await client.flaky({ key: "k1", failTimes: 2 })).attempts).toBe(3);
    // Not marked idempotent: one attempt per call.
    expect((await failure(client.flakyWrite({ key: "k1", failTimes: 1 }))).code).toBe(Code.Unavailable);
    expect((await client.flakyWrite({ key: "k1", failTimes: 1 })).attempts).toBe(2);
    // Retries stop after three attempts.
    expect((await failure(client.flaky({ key: "k2", failTimes: 5 }))).code).toBe(Code.Unavailable);
    expect((await client.flaky({ key: "k2", failTimes: 5 })).attempts).toBe(6);
  });

  it("send the deadline to the peer", async () => {
    const client = bundle.client(EchoService);
    const r = await client.whoAmI({}, { timeoutMs: 3_000 });
    expect(r.timeoutMs).toBeGreaterThan(0n);
    expect(r.timeoutMs).toBeLessThanOrEqual(3_000n);
    expect((await failure(client.sleep({ ms: 10_000 }, { timeoutMs: 50 }))).code).toBe(Code.DeadlineExceeded);
    // Without one, a call to a peer gets the default deadline (--rpc-timeout).
    const d = await client.whoAmI({});
    expect(d.timeoutMs).toBeGreaterThan(0n);
    expect(d.timeoutMs).toBeLessThanOrEqual(BigInt(DEFAULT_CONFIG.rpcTimeoutMs));
  });

  it("stream, and pass response headers to the caller", async () => {
    const got: number[] = [];
    for await (const m of bundle.client(EchoService).echoStream({ text: "s", count: 3 })) got.push(m.index);
    expect(got).toEqual([0, 1, 2]);
    let requestId: string | null = null;
    await bundle.client(EchoService).echo({ text: "h" }, { onHeader: (h) => (requestId = h.get("x-request-id")) });
    expect(requestId).toMatch(/^[0-9a-f]{16}$/);
  });

  it("keep error details", async () => {
    const err = await failure(
      bundle.client(EchoService).fail({ code: Code.FailedPrecondition, message: "m", reason: "why" }),
    );
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.findDetails(FailDetailSchema)).toMatchObject([{ reason: "why", service: "echo" }]);
  });

  it("are only handed out for declared dependencies", async () => {
    expect(() => bundle.client(RelayService)).toThrow(
      "orbit.testing.v1.RelayService is served by relay, which neither runs in this bundle nor is given with --peer",
    );
    const sneaky = defineService({
      name: "sneaky",
      build(ctx) {
        ctx.client(EchoService);
        return {};
      },
    });
    const s2 = sqliteStore();
    try {
      await expect(
        Bundle.start({
          registry: new Registry([echo, sneaky]),
          config: { ...DEFAULT_CONFIG, services: ["sneaky"] },
          db: s2.db,
          listen: false,
          log: silentLogger(),
        }),
      ).rejects.toThrow(
        'service sneaky asks for a client of orbit.testing.v1.EchoService, which echo serves, but does not list "echo" in its deps',
      );
    } finally {
      await s2.dispose();
    }
  });
});
