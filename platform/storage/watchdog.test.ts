import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TICK_MS, Watchdog } from "./watchdog.js";

describe("Watchdog", () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it("fires each due entry once, within a tick of its time, and never a deleted or later one", () => {
    const dog = new Watchdog();
    const fired: string[] = [];
    const due = { at: Date.now() + 20, fire: () => fired.push("due") };
    const later = { at: Date.now() + 1_000, fire: () => fired.push("later") };
    const gone = { at: Date.now() + 10, fire: () => fired.push("gone") };
    dog.add(due);
    dog.add(later);
    dog.add(gone);
    expect(dog.delete(gone)).toBe(true);
    vi.advanceTimersByTime(19);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1 + TICK_MS);
    expect(fired).toEqual(["due"]);
    expect(dog.delete(due)).toBe(false); // already fired
    later.at = Date.now() + 5_000; // moved later while registered
    vi.advanceTimersByTime(2_000);
    expect(fired).toEqual(["due"]);
    vi.advanceTimersByTime(3_000 + TICK_MS);
    expect(fired).toEqual(["due", "later"]);
    expect(dog.size).toBe(0);
  });

  it("runs its timer only while something is registered", () => {
    const dog = new Watchdog();
    expect(vi.getTimerCount()).toBe(0);
    const w = { at: Date.now() + 100, fire: () => undefined };
    dog.add(w);
    dog.add({ at: Date.now() + 100, fire: () => undefined });
    expect(vi.getTimerCount()).toBe(1);
    dog.delete(w);
    vi.advanceTimersByTime(100 + TICK_MS); // the other fires
    vi.advanceTimersByTime(TICK_MS); // an empty sweep stops the interval
    expect(vi.getTimerCount()).toBe(0);
  });
});
