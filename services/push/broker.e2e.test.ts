/**
 * Two bundles over MariaDB and Redis (--redis): the gateway (push) in one, a
 * service that pushes in the other. Durable updates, ephemeral updates,
 * channel authorization and presence cross through the broker; during a
 * broker outage updates stay durable, and the device catches up from its
 * sequence once the broker is back. Redis is reached through a TCP proxy
 * the test cuts (the shared Redis itself is never stopped).
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Update } from "../../gen/orbit/push/v1/push_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import type { PushView } from "../../platform/kernel/parts/push.js";
import { Registry } from "../../platform/kernel/registry.js";
import { defineService } from "../../platform/kernel/service.js";
import { silentLogger } from "../../platform/log.js";
import { PushClient } from "../../test/support/push-client.js";
import { mysqlStore, type TestStore } from "../../test/support/stores.js";
import { push } from "./service.js";

const REDIS = { host: "127.0.0.1", port: Number(process.env.ORBIT_TEST_REDIS_PORT ?? 6379) };

/** A TCP proxy to Redis that can be cut and restored on the same port. */
class Proxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  async start(): Promise<void> {
    this.server = net.createServer((c) => {
      const u = net.connect(REDIS.port, REDIS.host);
      for (const s of [c, u]) {
        this.sockets.add(s);
        s.on("error", () => undefined);
        s.on("close", () => {
          this.sockets.delete(s);
          c.destroy();
          u.destroy();
        });
      }
      c.pipe(u);
      u.pipe(c);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, "127.0.0.1", resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  async cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server?.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

function texts(updates: readonly Update[]): string[] {
  return updates.flatMap((u) => (u.payload.case === "notice" ? [u.payload.value.text] : []));
}
const notice = (text: string) => ({ case: "notice" as const, value: { kind: "test", text } });

describe("push across bundles over Redis (MariaDB)", () => {
  let store: TestStore;
  let gateway: Bundle;
  let pushing: Bundle;
  let view: PushView;
  const proxy = new Proxy();
  const clients: PushClient[] = [];

  beforeAll(async () => {
    store = await mysqlStore();
    await proxy.start();
    const base = {
      ...DEFAULT_CONFIG,
      host: "127.0.0.1",
      port: 0,
      devTokens: { "tok-21": "21", "tok-22": "22" },
      redis: `redis://127.0.0.1:${proxy.port}`,
    };
    const pusher = defineService({
      name: "pusher",
      build(ctx) {
        view = ctx.push;
        ctx.push.authorizeChannels("room", async (userId, channel) => channel === "room:1" && userId !== 0n);
        return {};
      },
    });
    const registry = new Registry([push, pusher]);
    gateway = await Bundle.start({
      registry,
      config: { ...base, services: ["push"] },
      db: store.db,
      log: silentLogger(),
    });
    pushing = await Bundle.start({
      registry,
      config: { ...base, services: ["pusher"], nodeId: 2 },
      db: store.db,
      log: silentLogger(),
    });
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await pushing?.stop();
    await gateway?.stop();
    await proxy.cut().catch(() => undefined);
    await store?.dispose();
  });

  async function hello(token: string, after?: bigint): Promise<PushClient> {
    const c = await PushClient.connect(gateway.url!, { token, after });
    clients.push(c);
    await expect.poll(() => c.of("hello").length).toBe(1);
    return c;
  }

  it("delivers what a service in another bundle pushes, authorizes its channels there, and shares presence", async () => {
    const ann = await hello("tok-21");
    await view.toUser(undefined, 21n, notice("from the other bundle"));
    await expect.poll(() => texts(ann.durable())).toEqual(["from the other bundle"]);

    ann.send({ frame: { case: "join", value: { channel: "room:1" } } });
    ann.send({ frame: { case: "join", value: { channel: "room:2" } } });
    await expect.poll(() => ann.of("joined").map((j) => j.channel)).toEqual(["room:1"]);
    await expect.poll(() => ann.of("left").map((l) => `${l.channel}: ${l.reason}`)).toEqual(["room:2: not allowed"]);
    await expect.poll(async () => (await view.presence("room:1")).map((m) => m.userId)).toEqual([21n]);
    await view.ephemeral("room:1", notice("typing"));
    await expect
      .poll(() => ann.updates.filter((u) => u.channel === "room:1" && u.payload.case === "notice").length)
      .toBe(1);
  });

  it("keeps updates durable through a broker outage; the device catches up in order when it returns", async () => {
    const bob = await hello("tok-22");
    await view.toUser(undefined, 22n, notice("before"));
    await expect.poll(() => texts(bob.durable())).toEqual(["before"]);

    await proxy.cut();
    for (let i = 0; i < 5; i++) await view.toUser(undefined, 22n, notice(`during ${i}`));
    expect(texts(bob.durable())).toEqual(["before"]);
    await proxy.start();
    await expect
      .poll(() => texts(bob.durable()), { timeout: 30_000 })
      .toEqual(["before", "during 0", "during 1", "during 2", "during 3", "during 4"]);
    const seqs = bob.sequences();
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + BigInt(i)));
    // And live delivery works again.
    await view.toUser(undefined, 22n, notice("after"));
    await expect.poll(() => texts(bob.durable()).at(-1)).toBe("after");
  }, 60_000);
});
