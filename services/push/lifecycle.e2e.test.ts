/**
 * The gateway's connection lifecycle over real sockets: graceful drain when
 * an `orbit bundle` process gets SIGTERM (every device is told to reconnect,
 * sockets close with 1012, streams end, and the process exits 0, even with a
 * device that stopped reading), and the idle timeout (a client that stops
 * answering pings is cut with 4000 while one that answers stays).
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { PushService, type Update } from "../../gen/orbit/push/v1/push_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { Registry } from "../../platform/kernel/registry.js";
import { silentLogger } from "../../platform/log.js";
import { startBundle, type BundleProcess } from "../../test/support/bundle-process.js";
import { PushClient } from "../../test/support/push-client.js";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { push } from "./service.js";

describe("push gateway drain on SIGTERM (an orbit bundle process)", () => {
  let p: BundleProcess | undefined;
  afterAll(async () => {
    await p?.stop("SIGKILL");
  });

  it("tells every device to reconnect, closes with 1012, ends streams, then exits 0", async () => {
    p = await startBundle(["--services=push", "--dev-token", "tok-a=31", "--dev-token", "tok-b=32"]);
    const clients = await Promise.all([
      PushClient.connect(p.url, { token: "tok-a" }),
      PushClient.connect(p.url, { token: "tok-a", json: true }),
      PushClient.connect(p.url, { token: "tok-b" }),
    ]);
    for (const c of clients) await expect.poll(() => c.of("hello").length).toBe(1);
    // A device that stopped reading must not keep the process alive.
    const stuck = await PushClient.connect(p.url, { token: "tok-b" });
    await expect.poll(() => stuck.of("hello").length).toBe(1);
    (stuck.ws as unknown as { _socket: { pause(): void } })._socket.pause();

    const rpc = createClient(PushService, createConnectTransport({ baseUrl: p.url, httpVersion: "2" }));
    const got: Update[] = [];
    let streamEnd: unknown = "running";
    const reading = (async () => {
      try {
        for await (const u of rpc.subscribe({ afterSequence: 0n }, { headers: { authorization: "Bearer tok-a" } })) {
          got.push(u);
        }
        streamEnd = "ended";
      } catch (err) {
        streamEnd = err;
      }
    })();
    await expect.poll(() => got.filter((u) => u.payload.case === "hello").length).toBe(1);

    const exit = await p.stop("SIGTERM");
    expect(exit).toEqual({ code: 0, signal: null });
    for (const c of clients) {
      expect(await c.closedP).toMatchObject({ code: 1012 });
      expect(c.updates.at(-1)!.payload).toMatchObject({
        case: "reconnect",
        value: { reason: "the server is going away" },
      });
    }
    await reading;
    expect(streamEnd).toBe("ended");
    expect(got.at(-1)!.payload.case).toBe("reconnect");
    (stuck.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    // Cut (the process is gone) or closed once it read its frames: never left open.
    expect((await stuck.closedP).code).toBeGreaterThanOrEqual(1000);
    expect(p.logs().filter((l) => l.level === "error" || l.level === "fatal")).toEqual([]);
  }, 120_000);
});

describe("push gateway idle timeout", () => {
  let store: TestStore;
  let bundle: Bundle;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    store = await sqliteStore();
    bundle = await Bundle.start({
      registry: new Registry([push]),
      config: {
        ...DEFAULT_CONFIG,
        services: ["push"],
        host: "127.0.0.1",
        port: 0,
        devTokens: { "tok-idle": "41", "tok-alive": "42" },
        // Pings every 200 ms; a client silent for 2 s is cut.
        settings: { push: { heartbeatMs: 200, idleTimeoutMs: 2_000 } },
      },
      db: store.db,
      log: silentLogger(),
    });
  });
  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    await bundle?.stop();
    await store?.dispose();
  });

  function open(token: string, autoPong: boolean) {
    const ws = new WebSocket(`${bundle.url!.replace(/^http/, "ws")}/ws`, {
      headers: { authorization: `Bearer ${token}` },
      autoPong,
    });
    sockets.push(ws);
    const s = { ws, pings: 0, frames: 0, closed: undefined as { code: number; reason: string } | undefined };
    ws.on("ping", () => s.pings++);
    ws.on("message", () => s.frames++);
    ws.on("close", (code, reason) => (s.closed = { code, reason: reason.toString() }));
    return s;
  }

  it("cuts a client that stops answering pings (4000) and keeps one that answers", async () => {
    const alive = open("tok-alive", true);
    const idle = open("tok-idle", false);
    await expect
      .poll(() => idle.closed, { timeout: 30_000 })
      .toEqual({
        code: 4000,
        reason: "no frame from the client for 2000 ms",
      });
    // The silent client was pinged (and got heartbeats) before it was cut.
    expect(idle.pings).toBeGreaterThan(0);
    expect(idle.frames).toBeGreaterThan(1);
    // The answering client, connected longer, is still open and keeps being pinged.
    const pings = alive.pings;
    await expect.poll(() => alive.pings, { timeout: 30_000 }).toBeGreaterThanOrEqual(pings + 3);
    expect(alive.closed).toBeUndefined();
    expect(alive.ws.readyState).toBe(WebSocket.OPEN);
  });
});
