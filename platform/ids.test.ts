import { describe, expect, it } from "vitest";
import { ID_EPOCH_MS, IdGenerator, idFloorForTime, idTimeMs } from "./ids.js";

describe("IdGenerator", () => {
  it("makes strictly increasing ids that carry their time and node", () => {
    const gen = new IdGenerator(5);
    let prev = -1n;
    for (let i = 0; i < 50_000; i++) {
      const id = gen.next();
      expect(id > prev).toBe(true);
      prev = id;
    }
    const now = Date.now();
    const id = gen.next();
    expect(Math.abs(idTimeMs(id) - now)).toBeLessThan(5_000);
    expect(Number((id >> 12n) & 1023n)).toBe(5);
  });

  it("borrows the next millisecond when 4096 ids are made in one", () => {
    const gen = new IdGenerator(1, () => 1_800_000_000_000);
    const ids = Array.from({ length: 5000 }, () => gen.next());
    expect(new Set(ids).size).toBe(5000);
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
    expect(idTimeMs(ids[4095]!)).toBe(1_800_000_000_000);
    expect(idTimeMs(ids[4096]!)).toBe(1_800_000_000_001);
  });

  it("stays monotonic when the clock goes back", () => {
    let t = 1_800_000_000_000;
    const gen = new IdGenerator(1, () => t);
    const a = gen.next();
    t -= 10_000;
    const b = gen.next();
    expect(b > a).toBe(true);
  });

  it("sorts ids of different nodes by time", () => {
    let t = 1_800_000_000_000;
    const a = new IdGenerator(1023, () => t);
    const b = new IdGenerator(0, () => t + 1);
    expect(b.next() > a.next()).toBe(true);
    t += 5;
    expect(idFloorForTime(t) <= a.next()).toBe(true);
  });

  it("fits in a signed 64-bit integer for decades", () => {
    const gen = new IdGenerator(1023, () => Number(ID_EPOCH_MS) + 60 * 365 * 86_400_000);
    expect(gen.next() < 2n ** 63n).toBe(true);
  });

  it("on a leased node id: starts after the previous holder, stops at its ceiling, and refuses once closed", () => {
    let t = 1_800_000_000_000;
    const gen = new IdGenerator(7, () => t);
    gen.startAfter(t + 10); // the previous holder's clock ran 10 ms ahead
    gen.limit(t + 11);
    const first = gen.next();
    expect(idTimeMs(first)).toBe(t + 11);
    // 4096 ids fill millisecond t + 11; the next would pass the ceiling.
    for (let i = 1; i < 4096; i++) gen.next();
    expect(() => gen.next()).toThrow(/lease was not renewed in time/);
    gen.limit(t + 20); // a renewal
    expect(idTimeMs(gen.next())).toBe(t + 12);
    t += 100;
    expect(() => gen.next()).toThrow(/not renewed/);
    gen.close(new Error("lost"));
    gen.limit(t + 1_000);
    expect(() => gen.next()).toThrow("lost");
  });

  it.each([-1, 1024, 1.5, Number.NaN])("rejects node id %s", (n) => {
    expect(() => new IdGenerator(n)).toThrow(/node id must be an integer in 0\.\.1023/);
  });
});
