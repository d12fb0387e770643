import { describe, expect, it } from "vitest";
import { MemoryLimitStore } from "./store.js";

const BACKOFF = { free: 2, baseMs: 1_000, maxMs: 8_000, windowMs: 60_000 };

describe("MemoryLimitStore", () => {
  it("token bucket: a burst of capacity, then one token per period/capacity", async () => {
    const s = new MemoryLimitStore();
    const rule = { capacity: 3, periodMs: 3_000 };
    let t = 1_000_000;
    for (let i = 0; i < 3; i++) expect(await s.take("a", rule, t)).toBe(0);
    expect(await s.take("a", rule, t)).toBe(1_000);
    expect(await s.take("b", rule, t)).toBe(0);
    t += 400;
    expect(await s.take("a", rule, t)).toBe(600);
    t += 600;
    expect(await s.take("a", rule, t)).toBe(0);
    expect(await s.take("a", rule, t)).toBeGreaterThan(0);
  });

  it("backoff: free strikes, then doubling penalties (capped) that refuse without counting", async () => {
    const s = new MemoryLimitStore();
    let t = 1_000_000;
    expect(await s.strike("k", BACKOFF, t)).toBe(0);
    expect(await s.strike("k", BACKOFF, t)).toBe(0);
    expect(await s.strike("k", BACKOFF, t)).toBe(0); // the third: admitted, imposes 1 s
    expect(await s.strike("k", BACKOFF, t)).toBe(1_000);
    expect(await s.penalty("k", t)).toBe(1_000);
    const waits = [];
    for (let i = 0; i < 5; i++) {
      t += await s.penalty("k", t);
      expect(await s.strike("k", BACKOFF, t)).toBe(0);
      waits.push(await s.penalty("k", t));
    }
    expect(waits).toEqual([2_000, 4_000, 8_000, 8_000, 8_000]);
    await s.forgive("k");
    expect(await s.strike("k", BACKOFF, t)).toBe(0);
    expect(await s.penalty("k", t)).toBe(0);
  });

  it("backoff strikes are forgotten a window after the last one", async () => {
    const s = new MemoryLimitStore();
    const t = 1_000_000;
    for (let i = 0; i < 2; i++) await s.strike("k", BACKOFF, t);
    expect(await s.strike("k", BACKOFF, t + 60_000)).toBe(0);
    expect(await s.penalty("k", t + 60_000)).toBe(0);
  });

  it("window: counts from the first, resets when the window ends", async () => {
    const s = new MemoryLimitStore();
    const t = 1_000_000;
    expect(await s.count("w", 10_000, 2, t)).toEqual({ n: 1, resetMs: 10_000 });
    expect(await s.count("w", 10_000, 2, t + 4_000)).toEqual({ n: 2, resetMs: 6_000 });
    expect(await s.peek("w", t + 5_000)).toEqual({ n: 2, resetMs: 5_000 });
    expect(await s.peek("w", t + 10_000)).toEqual({ n: 0, resetMs: 0 });
    expect(await s.count("w", 10_000, 2, t + 10_000)).toEqual({ n: 1, resetMs: 10_000 });
  });

  it("bounded: a flood of new keys evicts idle ones, never an active penalty, mark or tripped window", async () => {
    const s = new MemoryLimitStore(100);
    const t = 1_000_000;
    for (let i = 0; i < 3; i++) await s.strike("attacker", BACKOFF, t); // penalty running
    await s.mark("familiar", 3_600_000, t);
    await s.count("capped", 60_000, 1, t);
    for (let i = 0; i < 10_000; i++) await s.strike(`flood${i}`, BACKOFF, t + 1);
    expect(s.size).toBeLessThanOrEqual(100);
    expect(await s.penalty("attacker", t + 1)).toBe(999);
    expect(await s.has("familiar", t + 1)).toBe(true);
    expect((await s.peek("capped", t + 1)).n).toBe(1);
    expect(s.evictedActive).toBe(0);
    // Recent idle keys are still there (only the least recently used went).
    expect(await s.strike("flood9999", { ...BACKOFF, free: 0 }, t + 1)).toBe(0);
  });

  it("bounded: expired keys go first; only a table full of active keys gives up its oldest", async () => {
    const s = new MemoryLimitStore(10);
    const t = 1_000_000;
    for (let i = 0; i < 10; i++) await s.mark(`m${i}`, i === 5 ? 10 : 3_600_000, t);
    await s.mark("new", 3_600_000, t + 20); // m5 has expired: it goes
    expect(s.evictedActive).toBe(0);
    for (const i of [0, 1, 2, 3, 4, 6, 7, 8, 9]) expect(await s.has(`m${i}`, t + 20)).toBe(true);
    // All active: the least recently used goes ("new": the m<i> were read since).
    await s.mark("newer", 3_600_000, t + 20);
    expect(s.evictedActive).toBe(1);
    expect(await s.has("new", t + 20)).toBe(false);
    expect(await s.has("m0", t + 20)).toBe(true);
    expect(s.size).toBe(10);
  });
});
