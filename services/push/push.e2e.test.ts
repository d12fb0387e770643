/**
 * The push gateway end to end over real sockets, on SQLite and MariaDB: a
 * service's ctx.push reaches every device of the user, over /ws (binary and
 * JSON) and over Subscribe; resume after a disconnect in order without
 * duplicates; resync past retention; channels and presence; limits.
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
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
import type { PushPart } from "../../platform/kernel/parts/push.js";

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
        settings: { push: { maxFrameBytes: 1024, rateLimit: 10 } },
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

  async function hello(o: Parameters<typeof PushClient.connect>[1]): Promise<PushClient> {
    const c = await connect(o);
    await expect.poll(() => c.of("hello").length + (c.closed ? 1 : 0)).toBe(1);
    return c;
  }

  it("delivers to several devices of a user, each with its own position, and resumes one in order without duplicates", async () => {
    const phone = await hello({ token: ANN });
    const laptop = await hello({ token: ANN });
    const head = phone.of("hello")[0]!.lastSequence;
    for (let i = 0; i < 3; i++) await pushView.toUser(undefined, 11n, notice(`a${i}`));
    await expect.poll(() => texts(phone.durable())).toEqual(["a0", "a1", "a2"]);
    await expect.poll(() => texts(laptop.durable())).toEqual(["a0", "a1", "a2"]);
    await phone.close();

    // The phone is offline while updates keep coming; it comes back with its last sequence
    // while more are pushed concurrently.
    for (let i = 0; i < 20; i++) await pushView.toUser(undefined, 11n, notice(`b${i}`));
    const more = (async () => {
      for (let i = 0; i < 30; i++) await pushView.toUser(undefined, 11n, notice(`c${i}`));
    })();
    const back = await hello({ token: ANN, after: phone.last() });
    await more;
    expect(back.of("hello")[0]).toMatchObject({ resumed: true });
    const expected = [
      ...Array.from({ length: 20 }, (_, i) => `b${i}`),
      ...Array.from({ length: 30 }, (_, i) => `c${i}`),
    ];
    await expect.poll(() => texts(back.durable()), { timeout: 15_000 }).toEqual(expected);
    const seqs = back.sequences();
    expect(seqs).toEqual(seqs.map((_, i) => head + 4n + BigInt(i)));
    await expect.poll(() => laptop.durable().length, { timeout: 15_000 }).toBe(53);
    expect(laptop.sequences()).toEqual(laptop.sequences().map((_, i) => head + 1n + BigInt(i)));
  });

  it("tells a device past the retention window, or ahead of the stream, to resync", async () => {
    const c = await hello({ token: BOB });
    const head = c.of("hello")[0]!.lastSequence;
    for (let i = 0; i < 3; i++) await pushView.toUser(undefined, 12n, notice(`r${i}`));
    const part = bundle.parts.push as PushPart;
    // Retention deletes everything made before now (the job does this for older updates).
    while ((await part.engine.store.sweep(store.db, BigInt(Date.now() + 1))) > 0);
    const late = await hello({ token: BOB, after: head + 1n });
    await expect.poll(() => late.of("resync").length).toBe(1);
    expect(late.of("resync")[0]).toMatchObject({ reason: "retention", lastSequence: head + 3n, firstKeptSequence: 0n });
    expect(late.of("hello")[0]).toMatchObject({ resumed: false });
    expect(late.durable()).toEqual([]);
    await pushView.toUser(undefined, 12n, notice("after resync"));
    await expect.poll(() => texts(late.durable())).toEqual(["after resync"]);
    expect(late.sequences()).toEqual([head + 4n]);

    const ahead = await hello({ token: BOB, after: head + 1000n });
    await expect.poll(() => ahead.of("resync").length).toBe(1);
    expect(ahead.of("resync")[0]).toMatchObject({ reason: "ahead", lastSequence: head + 4n });
  });

  it("refuses bad tokens, a bad position, malformed and oversized frames, and too many frames", async () => {
    const bad = await connect({ token: "nope" });
    await bad.closedP;
    expect(bad.refusedStatus).toBe(401);
    const badFirst = await connect({ token: "nope", firstFrame: true });
    expect((await badFirst.closedP).code).toBe(4401);
    const ws = new WebSocket(`${bundle.url!.replace(/^http/, "ws")}/ws?after=-1`, {
      headers: { authorization: `Bearer ${ANN}` },
    });
    const badAfterClose = await new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
    expect(badAfterClose).toBe(4400);

    const garbage = await hello({ token: ANN });
    garbage.ws.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    expect(await garbage.closedP).toMatchObject({ code: 4001, reason: expect.stringMatching(/^malformed frame/) });

    const big = await hello({ token: ANN });
    big.send({ frame: { case: "join", value: { channel: `room:${"x".repeat(2000)}` } } });
    expect((await big.closedP).code).toBe(1009);

    const chatty = await hello({ token: ANN });
    for (let i = 0; i < 100 && !chatty.closed; i++) chatty.send({ frame: { case: "ping", value: {} } });
    expect(await chatty.closedP).toMatchObject({ code: 4029, reason: expect.stringMatching(/too many frames/) });

    // A frame that parses but asks nothing is answered, and the connection stays.
    const empty = await hello({ token: ANN });
    empty.send({});
    await expect.poll(() => empty.of("problem").length).toBe(1);
    expect(empty.closed).toBeUndefined();
  });

  it("joins channels the owning service allows, with presence, and sends ephemeral updates to their members", async () => {
    const ann = await hello({ token: ANN });
    const bob = await hello({ token: BOB, json: true });
    ann.send({ frame: { case: "join", value: { channel: "room:1" } } });
    await expect.poll(() => ann.of("joined").length).toBe(1);
    bob.send({ frame: { case: "join", value: { channel: "room:1" } } });
    await expect.poll(() => bob.of("joined").length).toBe(1);
    expect(
      bob
        .of("joined")[0]!
        .members.map((m) => m.userId)
        .sort(),
    ).toEqual([11n, 12n]);
    await expect.poll(() => ann.of("presence").map((p) => [p.userId, p.online])).toContainEqual([12n, true]);

    bob.send({ frame: { case: "join", value: { channel: "room:secret" } } });
    bob.send({ frame: { case: "join", value: { channel: "Nope" } } });
    await expect
      .poll(() =>
        bob
          .of("left")
          .map((l) => `${l.channel}: ${l.reason}`)
          .sort(),
      )
      .toEqual(["Nope: bad channel name", "room:secret: not allowed"]);

    await pushView.ephemeral("room:1", notice("typing"));
    await expect
      .poll(() => ann.updates.filter((u) => u.channel === "room:1" && u.payload.case === "notice").length)
      .toBe(1);
    await expect
      .poll(() => bob.updates.filter((u) => u.channel === "room:1" && u.payload.case === "notice").length)
      .toBe(1);
    expect(ann.updates.find((u) => u.payload.case === "notice" && u.channel === "room:1")!.sequence).toBe(0n);
    expect((await pushView.presence("room:1")).map((m) => m.userId).sort()).toEqual([11n, 12n]);

    const rpc = createClient(PushService, createConnectTransport({ baseUrl: bundle.url!, httpVersion: "2" }));
    const auth = { headers: { authorization: `Bearer ${BOB}` } };
    const p = await rpc.getPresence({ channel: "room:1", userIds: [11n, 999n] }, auth);
    expect(p.members.map((m) => m.userId).sort()).toEqual([11n, 12n]);
    expect(p.users.map((u) => [u.userId, u.online])).toEqual([
      [11n, true],
      [999n, false],
    ]);
    await expect(rpc.getPresence({ channel: "room:secret" }, auth)).rejects.toMatchObject({ code: 7 });

    bob.send({ frame: { case: "leave", value: { channel: "room:1" } } });
    await expect.poll(() => ann.of("presence").map((p) => [p.userId, p.online])).toContainEqual([12n, false]);
    await bob.close();
    await expect
      .poll(async () => (await rpc.getPresence({ userIds: [12n] }, auth)).users[0]!.lastSeenMs)
      .toBeGreaterThan(0n);
  });

  it("cuts off a slow consumer while the user's other devices and other users keep receiving", async () => {
    const part = bundle.parts.push as PushPart;
    const slow = await hello({ token: BOB });
    const fast = await hello({ token: BOB });
    const other = await hello({ token: ANN });
    const otherBefore = other.durable().length;
    const open = part.engine.sessionsOf(12n).size;
    // The slow device stops reading.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    // 16 MB in all: more than the loopback socket buffers and the 1 MiB send buffer hold.
    const data = new Uint8Array(32 * 1024);
    const n = 500;
    for (let i = 0; i < n; i++) {
      await pushView.toUser(undefined, 12n, { case: "notice", value: { kind: "big", text: `s${i}`, data } });
      if (i % 10 === 0) await pushView.toUser(undefined, 11n, notice(`o${i / 10}`));
      // SQLite appends resolve without I/O: let this process's client sockets read meanwhile.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await expect.poll(() => fast.durable().length, { timeout: 60_000 }).toBe(n);
    // Another user's device got every update of its own, in order, while the slow one was stuck.
    await expect
      .poll(() => texts(other.durable().slice(otherBefore)), { timeout: 60_000 })
      .toEqual(Array.from({ length: n / 10 }, (_, i) => `o${i}`));
    await expect.poll(() => part.engine.sessionsOf(12n).size, { timeout: 15_000 }).toBe(open - 1);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect([4008, 1006]).toContain((await slow.closedP).code);
    expect(fast.closed).toBeUndefined();
  }, 90_000);
});
