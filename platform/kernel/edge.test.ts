/**
 * Services' HTTP routes and WebSocket endpoints on the bundle's port, over
 * real sockets (the echo and relay fixtures): the same bearer tokens as RPCs
 * (header, or a WebSocket's first frame), a call scope that carries the
 * caller to other services, /metrics, and shutdown closing sockets with 1012.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { registry } from "../../services/registry.js";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { DEFAULT_CONFIG } from "../config/config.js";
import { silentLogger } from "../log.js";
import { Bundle } from "./bundle.js";
import { Registry } from "./registry.js";
import { defineService } from "./service.js";
import { CLOSE } from "./sockets.js";

const TOKEN = "tok-5";

/** A WebSocket client that records what it receives and how it closed. */
function client(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  const received: string[] = [];
  ws.on("message", (data, isBinary) =>
    received.push(isBinary ? `binary:${(data as Buffer).toString("hex")}` : String(data)),
  );
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const refused = new Promise<number>((resolve) =>
    ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)),
  );
  ws.on("error", () => undefined);
  return { ws, received, closed, opened, refused };
}

async function metric(bundle: Bundle, line: RegExp): Promise<string | undefined> {
  const text = await (await fetch(`${bundle.adminUrl}/metrics`)).text();
  return text.split("\n").find((l) => line.test(l));
}

describe("routes and sockets", () => {
  let store: TestStore;
  let bundle: Bundle;
  let http: string;
  let ws: string;
  beforeAll(async () => {
    store = sqliteStore();
    bundle = await Bundle.start({
      registry,
      config: {
        ...DEFAULT_CONFIG,
        services: ["testing"],
        host: "127.0.0.1",
        port: 0,
        adminPort: 0,
        devTokens: { [TOKEN]: "5" },
      },
      db: store.db,
      log: silentLogger(),
    });
    http = bundle.url!;
    ws = http.replace(/^http/, "ws");
  });
  afterAll(async () => {
    await bundle?.stop();
    await store?.dispose();
  });

  it("serve HTTP routes with the bundle's auth, request ids and errors", async () => {
    const plain = await fetch(`${http}/testing/echo?text=hi`, { headers: { "x-request-id": "req-1" } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get("x-request-id")).toBe("req-1");
    expect(await plain.json()).toEqual({ text: "hi" });

    const anonymous = await fetch(`${http}/testing/whoami`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await anonymous.json()).toMatchObject({ code: "unauthenticated" });
    const bad = await fetch(`${http}/testing/whoami`, { headers: { authorization: "Bearer nope" } });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ code: "unauthenticated", message: "invalid or expired token" });
    const malformed = await fetch(`${http}/testing/echo`, { headers: { authorization: "Basic eDp5" } });
    expect(malformed.status).toBe(401);
    const me = await fetch(`${http}/testing/whoami`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await me.json()).toMatchObject({ userId: "5", sessionId: "" });

    expect((await fetch(`${http}/testing/echo`, { method: "POST" })).status).toBe(405);
  });

  it("run route handlers in a call scope: clients they use carry the caller", async () => {
    const r = await fetch(`${http}/testing/relay/whoami`, {
      headers: { authorization: `Bearer ${TOKEN}`, "x-request-id": "edge-7" },
    });
    expect(await r.json()).toEqual({ userId: "5", requestId: "edge-7", protocol: "in-process" });
  });

  it("count route requests in /metrics", async () => {
    await fetch(`${http}/testing/echo?text=m`);
    expect(
      await metric(bundle, /^orbit_http_requests_total\{route="\/testing\/echo",method="GET",status="200"\}/),
    ).toMatch(/ [1-9]\d*$/);
    expect(
      await metric(bundle, /^orbit_http_requests_total\{route="\/testing\/whoami",method="GET",status="401"\}/),
    ).toMatch(/ 2$/);
  });

  it("accept a WebSocket with the token in the authorization header, and echo", async () => {
    const c = client(`${ws}/testing/ws`, { authorization: `Bearer ${TOKEN}` });
    await c.opened;
    c.ws.send("ping");
    c.ws.send(Buffer.from([1, 2, 3]));
    await expect.poll(() => c.received.length).toBe(3);
    expect(c.received).toEqual(['{"hello":"5"}', "ping", "binary:010203"]);
    expect(await metric(bundle, /^orbit_websocket_connections\{endpoint="\/testing\/ws"\}/)).toMatch(/ 1$/);
    c.ws.close(1000);
    expect((await c.closed).code).toBe(1000);
    await expect.poll(() => metric(bundle, /^orbit_websocket_connections\{endpoint="\/testing\/ws"\}/)).toMatch(/ 0$/);
  });

  it("accept the token as the first frame, keeping the messages sent right after it", async () => {
    const c = client(`${ws}/testing/ws`);
    await c.opened;
    // Both frames leave in one write: the second arrives while the token is being checked.
    c.ws.send(`Bearer ${TOKEN}`);
    c.ws.send("right after");
    await expect.poll(() => c.received.length).toBe(2);
    expect(c.received).toEqual(['{"hello":"5"}', "right after"]);
    c.ws.close(1000);
    await c.closed;
  });

  it("refuse bad tokens: 401 before the upgrade, 4401 for a bad first frame", async () => {
    const badHeader = client(`${ws}/testing/ws`, { authorization: "Bearer nope" });
    expect(await badHeader.refused).toBe(401);

    const badFrame = client(`${ws}/testing/ws`);
    await badFrame.opened;
    badFrame.ws.send("Bearer nope");
    expect(await badFrame.closed).toEqual({ code: CLOSE.unauthorized, reason: "invalid or expired token" });

    const notBearer = client(`${ws}/testing/ws`);
    await notBearer.opened;
    notBearer.ws.send("hello");
    expect((await notBearer.closed).code).toBe(CLOSE.unauthorized);
    expect(notBearer.received).toEqual([]);

    expect(
      await metric(bundle, /^orbit_websocket_connections_total\{endpoint="\/testing\/ws",result="unauthenticated"\}/),
    ).toMatch(/ 3$/);
  });

  it("close a connection that sends a message over the endpoint's limit (1009)", async () => {
    const c = client(`${ws}/testing/ws`, { authorization: `Bearer ${TOKEN}` });
    await c.opened;
    c.ws.send(Buffer.alloc(64 * 1024 + 1));
    expect((await c.closed).code).toBe(1009);
  });

  it("answer 404 to an upgrade on a path no endpoint serves", async () => {
    const c = client(`${ws}/no/such/socket`, { authorization: `Bearer ${TOKEN}` });
    expect(await c.refused).toBe(404);
  });
});

describe("socket lifecycle", () => {
  it("times out a first-frame token that never comes (4408)", async () => {
    const store = sqliteStore();
    const quick = defineService({
      name: "quick",
      build: () => ({
        sockets: [{ path: "/quick", tokenInFirstFrame: true, firstFrameTimeoutMs: 100, connect: () => undefined }],
      }),
    });
    const bundle = await Bundle.start({
      registry: new Registry([quick]),
      config: { ...DEFAULT_CONFIG, services: ["quick"], host: "127.0.0.1", port: 0 },
      db: store.db,
      log: silentLogger(),
    });
    try {
      const c = client(`${bundle.url!.replace(/^http/, "ws")}/quick`);
      await c.opened;
      expect(await c.closed).toEqual({ code: CLOSE.authTimeout, reason: "no token in time" });
    } finally {
      await bundle.stop();
      await store.dispose();
    }
  });

  it("closes open WebSockets with 1012 when the bundle stops", async () => {
    const store = sqliteStore();
    const bundle = await Bundle.start({
      registry,
      config: { ...DEFAULT_CONFIG, services: ["echo"], host: "127.0.0.1", port: 0, devTokens: { [TOKEN]: "5" } },
      db: store.db,
      log: silentLogger(),
    });
    const c = client(`${bundle.url!.replace(/^http/, "ws")}/testing/ws`, { authorization: `Bearer ${TOKEN}` });
    await c.opened;
    await expect.poll(() => c.received.length).toBe(1);
    const stopped = bundle.stop();
    expect(await c.closed).toEqual({ code: CLOSE.serviceRestart, reason: "the bundle is shutting down; reconnect" });
    expect(await stopped).toEqual({ forced: 0, failures: 0 });
    await store.dispose();
  });
});
