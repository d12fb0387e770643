/**
 * Request limits and connection hygiene (issue 12): hostile JSON is refused
 * before it is parsed, with the same answer over HTTP/1.1 and HTTP/2; slow
 * or idle connections are closed; one address cannot hold every connection.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registry } from "../../services/registry.js";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { DEFAULT_CONFIG } from "../config/config.js";
import { silentLogger } from "../log.js";
import { Bundle } from "./bundle.js";

const ECHO = "/orbit.testing.v1.EchoService/Echo";
const NOTE = "/orbit.testing.v1.EchoService/Note";

let store: TestStore;
let bundle: Bundle;
let url: string;
let port: number;
beforeAll(async () => {
  store = sqliteStore();
  bundle = await Bundle.start({
    registry,
    config: {
      ...DEFAULT_CONFIG,
      services: ["echo"],
      host: "127.0.0.1",
      port: 0,
      maxJsonBytes: 64 * 1024,
      headersTimeoutMs: 300,
      bodyTimeoutMs: 5000,
      idleTimeoutMs: 300,
      maxConnectionsPerAddress: 20,
    },
    db: store.db,
    log: silentLogger(),
  });
  url = bundle.url!;
  port = Number(new URL(url).port);
});
afterAll(async () => {
  await bundle?.stop();
  await store?.dispose();
});

interface Answer {
  status: number;
  code?: string;
  grpcStatus?: string;
}

/** One request over HTTP/1.1; the body is streamed in 64 KiB pieces without a content-length unless declared. */
function h1(path: string, body: Buffer, headers: Record<string, string>, declare = true): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(
      `${url}${path}`,
      {
        agent: false,
        method: "POST",
        headers: { ...headers, ...(declare ? { "content-length": String(body.length) } : {}) },
      },
      (res) => {
        answered = true;
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode!, code: parseCode(text) }));
      },
    );
    // The server may close the connection once it has answered a body it refused.
    req.on("error", (err) => answered || reject(err));
    pump(req, body);
  });
}

/** The same over HTTP/2 (prior knowledge). */
function h2(path: string, body: Buffer, headers: Record<string, string>, declare = true): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const s = session.request({
      ":method": "POST",
      ":path": path,
      ...headers,
      ...(declare ? { "content-length": String(body.length) } : {}),
    });
    let status = 0;
    let grpcStatus: string | undefined;
    let text = "";
    s.on("response", (h) => {
      status = Number(h[":status"]);
      grpcStatus = h["grpc-status"] as string | undefined;
    });
    s.on("trailers", (t) => (grpcStatus = t["grpc-status"] as string | undefined));
    s.on("data", (d) => (text += d));
    s.on("error", () => undefined);
    // The server may reset the stream (NO_ERROR) once it has answered: the answer is what counts.
    const done = () => {
      resolve({ status, code: parseCode(text), grpcStatus });
      session.destroy();
    };
    s.on("end", () => setImmediate(done));
    s.on("close", done);
    pump(s, body);
  });
}

function pump(w: NodeJS.WritableStream & { once(e: string, f: () => void): unknown }, body: Buffer): void {
  let at = 0;
  const step = () => {
    while (at < body.length) {
      const piece = body.subarray(at, at + 64 * 1024);
      at += piece.length;
      if (!w.write(piece)) {
        w.once("drain", step);
        return;
      }
    }
    w.end();
  };
  w.once("error", () => undefined);
  step();
}

/** GET /healthz on a fresh connection (the short test timeouts close kept-alive ones). */
function healthz(): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(`${url}/healthz`, { agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
      .on("error", reject);
  });
}

function parseCode(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { code?: string }).code;
  } catch {
    return undefined;
  }
}

function envelope(payload: Buffer, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

const deep = (n: number) => Buffer.from(`{"text":${"[".repeat(n)}`);
const JSON_HEADERS = { "content-type": "application/json" };

describe("JSON budget", () => {
  it("a well-formed JSON call still works", async () => {
    const body = Buffer.from(JSON.stringify({ text: "hi" }));
    for (const send of [h1, h2]) {
      expect(await send(ECHO, body, JSON_HEADERS)).toMatchObject({ status: 200 });
    }
  });

  it("deep nesting is refused with invalid_argument over HTTP/1.1 and HTTP/2, declared or streamed", async () => {
    const body = deep(3 * 1024 * 1024);
    for (const send of [h1, h2]) {
      for (const declare of [true, false]) {
        const a = await send(ECHO, body, JSON_HEADERS, declare).catch((err: Error) => {
          throw new Error(`${send.name} declare=${declare}: ${err.message}`);
        });
        // Declared 3 MiB is over the 64 KiB JSON budget: refused before reading.
        expect(a.code).toBe(declare ? "resource_exhausted" : "invalid_argument");
        expect(a.status).toBe(declare ? 429 : 400);
      }
    }
    const small = deep(100);
    for (const send of [h1, h2]) {
      expect(await send(ECHO, small, JSON_HEADERS)).toMatchObject({ status: 400, code: "invalid_argument" });
    }
  });

  it("an oversized JSON body gets resource_exhausted over both HTTP versions", async () => {
    const body = Buffer.from(JSON.stringify({ text: "x".repeat(200 * 1024) }));
    for (const send of [h1, h2]) {
      for (const declare of [true, false]) {
        expect({ via: send.name, declare, ...(await send(ECHO, body, JSON_HEADERS, declare)) }).toMatchObject({
          status: 429,
          code: "resource_exhausted",
        });
      }
    }
  });

  it("brackets inside strings do not count; nesting within budget parses", async () => {
    const text = "[[[[{{{{".repeat(100);
    const a = await h1(ECHO, Buffer.from(JSON.stringify({ text })), JSON_HEADERS);
    expect(a).toMatchObject({ status: 200 });
  });

  it("compressed JSON is checked after decompression (bombs and deep nesting)", async () => {
    const bomb = gzipSync(Buffer.from(JSON.stringify({ text: "a".repeat(10 * 1024 * 1024) })));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const headers = { ...JSON_HEADERS, "content-encoding": "gzip" };
    expect(await h2(ECHO, bomb, headers)).toMatchObject({ status: 429, code: "resource_exhausted" });
    expect(await h1(ECHO, gzipSync(deep(10_000)), headers)).toMatchObject({ status: 400, code: "invalid_argument" });
    expect(await h1(ECHO, gzipSync(Buffer.from('{"text":"ok"}')), headers)).toMatchObject({ status: 200 });
  });

  it("enveloped JSON (gRPC, gRPC-Web) is checked per message", async () => {
    const grpc = { "content-type": "application/grpc+json", te: "trailers" };
    expect(await h2(ECHO, envelope(deep(10_000)), grpc, false)).toMatchObject({ grpcStatus: "3" });
    expect(await h2(ECHO, envelope(Buffer.from('{"text":"ok"}')), grpc, false)).toMatchObject({ grpcStatus: "0" });
    const web = { "content-type": "application/grpc-web+json" };
    const a = await h1(ECHO, envelope(deep(10_000)), web);
    expect(a.status).toBe(200);
  });

  it("a Connect GET with a deep JSON message is refused", async () => {
    const message = encodeURIComponent(`{"text":${"[".repeat(1000)}`);
    const a = await new Promise<Answer>((resolve, reject) => {
      http
        .get(`${url}${ECHO}?connect=v1&encoding=json&message=${message}`, { agent: false }, (res) => {
          let text = "";
          res.on("data", (d) => (text += d));
          res.on("end", () => resolve({ status: res.statusCode!, code: parseCode(text) }));
        })
        .on("error", reject);
    });
    expect(a).toMatchObject({ status: 400, code: "invalid_argument" });
  });

  it("a method's own limit (Note: 4 KiB) applies to binary and JSON", async () => {
    const big = Buffer.from(JSON.stringify({ text: "x".repeat(8 * 1024) }));
    for (const send of [h1, h2]) {
      expect(await send(NOTE, big, JSON_HEADERS)).toMatchObject({ status: 429, code: "resource_exhausted" });
    }
    const proto = Buffer.concat([Buffer.from([0x0a, 0x80, 0x40]), Buffer.alloc(8192, 0x61)]); // field 1, 8192 bytes
    for (const send of [h1, h2]) {
      expect(await send(NOTE, proto, { "content-type": "application/proto" })).toMatchObject({
        status: 429,
        code: "resource_exhausted",
      });
    }
  });

  it("/healthz answers while deep JSON floods in", async () => {
    const body = deep(1024 * 1024);
    const flood = Promise.all(Array.from({ length: 8 }, () => h2(ECHO, body, JSON_HEADERS, false)));
    expect(await healthz()).toBe(200);
    for (const a of await flood) expect(a.code).toBe("invalid_argument");
  });
});

async function cuts(reason: string): Promise<number> {
  const m = await bundle.metrics.registry.getSingleMetric("orbit_connections_cut_total")?.get();
  return m?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

/** Resolves once the server closes the socket (the test's own timeout is the bound). */
function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.on("error", () => undefined);
    socket.on("data", () => undefined);
    if (socket.destroyed) resolve();
    socket.once("close", () => resolve());
  });
}

function dial(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

describe("connection hygiene", () => {
  it("slow headers: closed after the headers timeout", async () => {
    const before = await cuts("headers_timeout");
    const s = await dial();
    s.write("POST /orbit.testing.v1.EchoService/Echo HTTP/1.1\r\nHost: x\r\n");
    const keep = setInterval(() => s.writable && s.write("X-A: b\r\n"), 50);
    await closed(s);
    clearInterval(keep);
    expect(await cuts("headers_timeout")).toBeGreaterThan(before);
  });

  it("a connection that sends nothing is closed", async () => {
    await closed(await dial());
  });

  it("slow body: closed after the body timeout", async () => {
    const before = await cuts("body_timeout");
    const s = await dial();
    s.write(
      "POST /orbit.testing.v1.EchoService/Echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
    );
    const keep = setInterval(() => s.writable && s.write(" "), 50);
    await closed(s);
    clearInterval(keep);
    expect(await cuts("body_timeout")).toBeGreaterThan(before);
  });

  it("HTTP/2: a connection that never sends SETTINGS is closed", async () => {
    const before = await cuts("settings_timeout");
    const s = await dial();
    s.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    await closed(s);
    expect(await cuts("settings_timeout")).toBeGreaterThan(before);
  });

  it("HTTP/2: an idle connection gets GOAWAY and is closed", async () => {
    const before = await cuts("idle_timeout");
    const session = http2.connect(url);
    session.on("error", () => undefined);
    await new Promise<void>((resolve) => session.once("connect", () => resolve()));
    const r = await new Promise<string>((resolve) => {
      session.once("goaway", () => resolve("goaway"));
      session.once("close", () => resolve("close"));
    });
    expect(["goaway", "close"]).toContain(r);
    session.destroy();
    expect(await cuts("idle_timeout")).toBeGreaterThan(before);
  });

  it("HTTP/1.1 keep-alive: the next request's headers must come in time too", async () => {
    const s = await dial();
    s.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let got = "";
    s.on("data", (d) => (got += d));
    await new Promise<void>((resolve) => s.once("data", () => resolve()));
    s.write("GET /healthz HTTP/1.1\r\n"); // never finished
    await closed(s);
    expect(got).toContain("200 OK");
  });

  it("one address holds at most maxConnectionsPerAddress connections", async () => {
    const before = await cuts("per_address_cap");
    const sockets = await Promise.all(Array.from({ length: 21 }, () => dial()));
    await Promise.race(sockets.map((s) => closed(s)));
    expect(await cuts("per_address_cap")).toBeGreaterThan(before);
    for (const s of sockets) s.destroy();
    // Once the server has seen them go, the address may connect again.
    for (;;) {
      const status = await healthz().catch(() => 0);
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});
