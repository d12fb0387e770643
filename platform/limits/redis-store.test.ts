/**
 * The Redis store against the real Redis at 127.0.0.1:6379: two stores (two
 * bundles) share every limit, the scripts agree with the memory store, and
 * an outage (Redis reached through a proxy the test cuts or freezes; the
 * shared Redis itself is never touched) falls back to local limits, logged
 * once, and shares again when Redis is back.
 */
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import { TcpProxy } from "../../test/support/tcp-proxy.js";
import { waitFor } from "../../test/support/wait.js";
import { RedisLimitStore } from "./redis-store.js";

const REDIS_PORT = Number(process.env.ORBIT_TEST_REDIS_PORT ?? 6379);
const URL = `redis://127.0.0.1:${REDIS_PORT}`;
const BACKOFF = { free: 2, baseMs: 1_000, maxMs: 8_000, windowMs: 60_000 };

function logs() {
  const lines: { level: string; msg: string }[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l) as { level: string; msg: string });
      cb();
    },
  });
  return { lines, log: createLogger({ level: "info", destination: dest }) };
}

describe("RedisLimitStore", () => {
  const run = randomUUID().slice(0, 8); // keys of this run only
  const k = (name: string) => `test:${run}:${name}`;
  let a: RedisLimitStore;
  let b: RedisLimitStore;
  const opened: RedisLimitStore[] = [];

  beforeAll(async () => {
    a = new RedisLimitStore({ url: URL, log: logs().log });
    b = new RedisLimitStore({ url: URL, log: logs().log });
    opened.push(a, b);
    await Promise.all([a.start(), b.start()]);
    expect(a.shared && b.shared).toBe(true);
  });
  afterAll(async () => {
    for (const s of opened) await s.close();
  });

  it("shares a token bucket between two stores", async () => {
    const rule = { capacity: 3, periodMs: 3_000 };
    const t = Date.now();
    expect(await a.take(k("bucket"), rule, t)).toBe(0);
    expect(await b.take(k("bucket"), rule, t)).toBe(0);
    expect(await a.take(k("bucket"), rule, t)).toBe(0);
    expect(await b.take(k("bucket"), rule, t)).toBe(1_000);
    expect(await a.take(k("bucket"), rule, t + 400)).toBe(600);
    expect(await b.take(k("bucket"), rule, t + 1_000)).toBe(0);
  });

  it("shares backoff: strikes in one store, the penalty in the other, forgiven by either", async () => {
    const t = Date.now();
    for (let i = 0; i < 3; i++) expect(await (i % 2 ? a : b).strike(k("pair"), BACKOFF, t)).toBe(0);
    expect(await a.strike(k("pair"), BACKOFF, t)).toBe(1_000);
    expect(await b.penalty(k("pair"), t + 200)).toBe(800);
    expect(await b.strike(k("pair"), BACKOFF, t + 1_000)).toBe(0);
    expect(await a.penalty(k("pair"), t + 1_000)).toBe(2_000);
    await a.forgive(k("pair"));
    expect(await b.penalty(k("pair"), t + 1_000)).toBe(0);
  });

  it("shares windows and marks", async () => {
    const t = Date.now();
    expect((await a.count(k("win"), 60_000, 2, t)).n).toBe(1);
    expect((await b.count(k("win"), 60_000, 2, t)).n).toBe(2);
    const peek = await a.peek(k("win"), t);
    expect(peek.n).toBe(2);
    expect(peek.resetMs).toBeGreaterThan(50_000);
    expect(await b.has(k("mark"), t)).toBe(false);
    await a.mark(k("mark"), 60_000, t);
    expect(await b.has(k("mark"), t)).toBe(true);
  });

  for (const fault of ["cut", "freeze"] as const) {
    it(`falls back to local limits when Redis is ${fault === "cut" ? "down" : "frozen"}, logged once, and shares again after`, async () => {
      const proxy = await TcpProxy.start("127.0.0.1", REDIS_PORT);
      const { lines, log } = logs();
      const s = new RedisLimitStore({ url: `redis://127.0.0.1:${proxy.port}`, log, commandTimeoutMs: 200 });
      opened.push(s);
      await s.start();
      const rule = { capacity: 2, periodMs: 60_000 };
      const t = Date.now();
      expect(await s.take(k(`f${fault}`), rule, t)).toBe(0);
      if (fault === "cut") proxy.cut();
      else proxy.freeze();
      // Every operation still answers, from the bundle's own memory.
      for (let i = 0; i < 3; i++) expect(await s.take(k(`local${fault}`), rule, t)).toBe(i < 2 ? 0 : 30_000);
      expect(await s.strike(k(`lp${fault}`), BACKOFF, t)).toBe(0);
      expect(s.shared).toBe(false);
      const warned = lines.filter((l) => l.msg.startsWith("limits: redis unavailable"));
      expect(warned).toHaveLength(1);
      expect(warned[0]!.level).toBe("warn");
      if (fault === "cut") proxy.restore();
      else proxy.thaw();
      // Back: the shared bucket still holds its first token taken before the outage.
      await waitFor(async () => (await s.take(k(`f${fault}`), rule, t)) === 0 && s.shared, "redis back");
      expect(await b.take(k(`f${fault}`), rule, t)).toBe(30_000);
      expect(lines.filter((l) => l.msg.startsWith("limits: redis answers again"))).toHaveLength(1);
      await proxy.close();
    }, 30_000);
  }
});
