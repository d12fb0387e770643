/**
 * The SQL store hangs or goes away (issue 12), through a TCP proxy the test
 * controls between the bundle and the shared MariaDB (which is never stopped
 * or frozen itself):
 *
 *  - frozen: calls answer deadline_exceeded at their deadline (the client's,
 *    or this server's cap when the client gives none), and the write of such
 *    a call never commits, not even once the store answers again;
 *  - down: calls answer unavailable, logged once for the episode; /readyz
 *    turns 503 within about 2 s and back to 200 once the store is back,
 *    without a restart.
 */
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { silentLogger, type Logger } from "../../platform/log.js";
import type { SqlDb } from "../../platform/storage/driver.js";
import { openSqlStore } from "../../platform/storage/open.js";
import { registry } from "../../services/registry.js";
import { mysqlStore, type TestStore } from "../support/stores.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { waitFor } from "../support/wait.js";

const NOTE = "/orbit.testing.v1.EchoService/Note";

let store: TestStore;
let proxy: TcpProxy;
let db: SqlDb;
let bundle: Bundle;
let url: string;
const warnings: string[] = [];

function capture(): Logger {
  const log = silentLogger();
  const wrap = (l: Logger): Logger =>
    new Proxy(l, {
      get(target, prop, receiver) {
        if (prop === "warn") return (a: unknown, b?: unknown) => warnings.push(String(typeof a === "string" ? a : b));
        if (prop === "child") return () => wrap(target);
        return Reflect.get(target, prop, receiver);
      },
    });
  return wrap(log);
}

beforeAll(async () => {
  store = await mysqlStore();
  const u = new URL(store.url);
  proxy = await TcpProxy.start(u.hostname, Number(u.port || 3306));
  u.hostname = "127.0.0.1";
  u.port = String(proxy.port);
  db = openSqlStore(u.toString());
  bundle = await Bundle.start({
    registry,
    config: { ...DEFAULT_CONFIG, services: ["echo"], host: "127.0.0.1", port: 0, maxCallTimeoutMs: 1_500 },
    db,
    log: capture(),
  });
  url = bundle.url!;
});
afterAll(async () => {
  await bundle?.stop();
  await db?.close().catch(() => undefined);
  await proxy?.close();
  await store?.dispose();
});

async function note(text: string, timeoutMs?: number) {
  const t0 = performance.now();
  const res = await fetch(`${url}${NOTE}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(timeoutMs ? { "connect-timeout-ms": String(timeoutMs) } : {}) },
    body: JSON.stringify({ text }),
  });
  const body = (await res.json()) as { code?: string; id?: string };
  return { status: res.status, code: body.code ?? "ok", ms: performance.now() - t0 };
}

async function readyz(): Promise<number> {
  return (await fetch(`${url}/readyz`)).status;
}

/** Rows with `text`, read on a connection of the test's own (not through the proxy). */
async function rows(text: string): Promise<number> {
  const conn = await mysql.createConnection(store.url);
  try {
    const [r] = await conn.query("SELECT COUNT(*) AS n FROM testing_echo_notes WHERE text = ?", [text]);
    return Number((r as Array<{ n: number }>)[0]!.n);
  } finally {
    await conn.end();
  }
}

describe("the store frozen", () => {
  it("answers deadline_exceeded at the client's deadline, and the write never commits", async () => {
    expect((await note("warm up")).code).toBe("ok");
    proxy.freeze();
    try {
      const a = await note("frozen-1", 800);
      expect(a.code).toBe("deadline_exceeded");
      console.log(`frozen store, 800 ms deadline: answered ${a.code} after ${a.ms.toFixed(0)} ms`);
      expect(a.ms).toBeLessThan(800 + 2_000); // generous on a loaded machine; the bound is the deadline
      // No deadline from the client: this server's cap (1.5 s here) applies.
      const b = await note("frozen-2");
      expect(b.code).toBe("deadline_exceeded");
      console.log(`frozen store, no client deadline (cap 1500 ms): answered after ${b.ms.toFixed(0)} ms`);
    } finally {
      proxy.thaw();
    }
    // The store answers again; what was sent for the timed-out calls never commits.
    await waitFor(async () => (await note("after thaw", 5_000)).code === "ok", "a call to succeed after the thaw");
    expect(await rows("after thaw")).toBeGreaterThan(0);
    expect(await rows("frozen-1")).toBe(0);
    expect(await rows("frozen-2")).toBe(0);
  });
});

describe("the store down", () => {
  it("answers unavailable, logged once; /readyz 503 within ~2 s and 200 again after recovery", async () => {
    await waitFor(async () => (await readyz()) === 200, "ready");
    const before = warnings.filter((w) => w.includes("is unavailable")).length;
    proxy.cut();
    const t0 = performance.now();
    try {
      const codes = new Set<string>();
      for (let i = 0; i < 10; i++) codes.add((await note(`down-${i}`, 3_000)).code);
      expect([...codes]).toEqual(["unavailable"]);
      await waitFor(async () => (await readyz()) === 503, "/readyz 503", 10_000);
      const ms = performance.now() - t0;
      console.log(`store cut: /readyz 503 after ${ms.toFixed(0)} ms`);
      expect(ms).toBeLessThan(6_000); // 2 s by design (1 s probe timeout, 0.5 s cache); generous under load
      // Ten failed calls, one warning for the episode.
      expect(warnings.filter((w) => w.includes("is unavailable")).length - before).toBe(1);
    } finally {
      proxy.restore();
    }
    await waitFor(async () => (await readyz()) === 200, "/readyz 200 again", 15_000);
    await waitFor(async () => (await note("back", 3_000)).code === "ok", "a call to succeed again");
  });
});
