/**
 * The push gateway end to end over real sockets, on SQLite and MariaDB: a
 * service's ctx.push reaches every device of the user, over /ws (binary and
 * JSON) and over Subscribe; resume after a disconnect in order without
 * duplicates; resync past retention; channels and presence; limits.
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PushService, type Update } from "../../gen/orbit/push/v1/push_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import type { PushView } from "../../platform/kernel/parts/push.js";
import { Registry } from "../../platform/kernel/registry.js";
import { defineService } from "../../platform/kernel/service.js";
import { silentLogger } from "../../platform/log.js";
import { PushClient } from "../../test/support/push-client.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { push } from "./service.js";

const ANN = "tok-ann"; // user 11
const BOB = "tok-bob"; // user 12

function notice(text: string) {
  return { case: "notice" as const, value: { kind: "test", text } };
}

function texts(updates: readonly Update[]): string[] {
  return updates.flatMap((u) => (u.payload.case === "notice" ? [u.payload.value.text] : []));
}

describe.each(ENGINES)("push gateway on $name", (engine) => {
  let store: TestStore;
  let bundle: Bundle;
  let pushView: PushView;
  const clients: PushClient[] = [];

  beforeAll(async () => {
    store = await engine.open();
    // A service of the bundle that pushes (as chat, notify, live will).
    const pusher = defineService({
      name: "pusher",
      build(ctx) {
        pushView = ctx.push;
        ctx.push.authorizeChannels("room", async (userId, channel) => channel !== "room:secret" || userId === 11n);
        return {};
      },
    });
    bundle = await Bundle.start({
      registry: new Registry([push, pusher]),
      config: {
        ...DEFAULT_CONFIG,
        services: ["push", "pusher"],
        host: "127.0.0.1",
        port: 0,
        devTokens: { [ANN]: "11", [BOB]: "12" },
      },
      db: store.db,
      log: silentLogger(),
    });
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await bundle?.stop();
    await store?.dispose();
  });

  async function connect(o: Parameters<typeof PushClient.connect>[1]): Promise<PushClient> {
    const c = await PushClient.connect(bundle.url!, o);
    clients.push(c);
    return c;
  }

  it("delivers a service's toUser to a /ws device and a Subscribe stream", async () => {
    const ws = await connect({ token: ANN });
    await expect.poll(() => ws.of("hello").length).toBe(1);
    expect(ws.of("hello")[0]).toMatchObject({ userId: 11n, lastSequence: 0n, resumed: false });

    const rpc = createClient(PushService, createConnectTransport({ baseUrl: bundle.url!, httpVersion: "2" }));
    const abort = new AbortController();
    const got: Update[] = [];
    const reading = (async () => {
      try {
        for await (const u of rpc.subscribe(
          { afterSequence: 0n },
          { headers: { authorization: `Bearer ${ANN}` }, signal: abort.signal },
        )) {
          got.push(u);
        }
      } catch {
        // aborted below
      }
    })();
    await expect.poll(() => got.filter((u) => u.payload.case === "hello").length).toBe(1);

    await pushView.toUser(undefined, 11n, notice("one"));
    await pushView.toUser(undefined, 12n, notice("for bob"));
    await pushView.toUsers(undefined, [11n, 12n], notice("two"));

    await expect.poll(() => texts(ws.durable())).toEqual(["one", "two"]);
    expect(ws.sequences()).toEqual([1n, 2n]);
    await expect.poll(() => texts(got.filter((u) => u.sequence > 0n))).toEqual(["one", "two"]);
    expect(got.filter((u) => u.sequence > 0n).map((u) => u.sequence)).toEqual([1n, 2n]);
    expect(ws.durable()[0]!.atMs).toBeGreaterThan(0n);
    abort.abort();
    await reading;
  });

  it("serves JSON frames on the orbit.push.v1.json subprotocol, with the token in the first frame", async () => {
    const c = await connect({ token: BOB, json: true, firstFrame: true, after: 0n });
    await expect.poll(() => c.of("hello").length).toBe(1);
    expect(c.ws.protocol).toBe("orbit.push.v1.json");
    const before = c.of("hello")[0]!.lastSequence;
    await pushView.toUser(undefined, 12n, notice("json"));
    await expect.poll(() => texts(c.durable())).toEqual(["json"]);
    expect(c.durable()[0]!.sequence).toBe(before + 1n);
  });

  it("commits with the caller's transaction, and not at all when it rolls back", async () => {
    const c = await connect({ token: BOB });
    await expect.poll(() => c.of("hello").length).toBe(1);
    const head = c.of("hello")[0]!.lastSequence;
    await expect(
      store.db.transaction(async (tx) => {
        await pushView.toUser(tx, 12n, notice("rolled back"));
        throw new Error("no");
      }),
    ).rejects.toThrow("no");
    await store.db.transaction(async (tx) => {
      await pushView.toUser(tx, 12n, notice("committed"));
    });
    await expect.poll(() => texts(c.durable())).toEqual(["committed"]);
    expect(c.sequences()).toEqual([head + 1n]);
  });
});
