/**
 * The local tail answers a group's read only when it holds every id the read
 * covers, and then returns what the store's SELECT would.
 */
import { describe, expect, it } from "vitest";
import { LocalTail } from "./local-tail.js";
import type { LogRow } from "./log-writer.js";

const rows = (topics: string[]): LogRow[] =>
  topics.map((topic, i) => ({ topic, key: `k${i}`, payload: new Uint8Array([i]), createdMs: 1000 + i }));
const T = new Set(["t"]);

describe("LocalTail", () => {
  it("reads contiguous blocks, filters topics, stops at the frontier and at the limit", () => {
    const tail = new LocalTail();
    tail.add(rows(["t", "u", "t", "t"]), [
      { first: 11n, last: 12n },
      { first: 13n, last: 14n },
    ]);
    tail.add(rows(["t", "t"]), [{ first: 15n, last: 16n }]);
    expect(tail.read(10n, 16n, T, 100)!.map((r) => r.id)).toEqual([11n, 13n, 14n, 15n, 16n]);
    expect(tail.read(10n, 13n, T, 100)!.map((r) => r.id)).toEqual([11n, 13n]); // up to the frontier
    expect(tail.read(12n, 16n, T, 2)!.map((r) => r.id)).toEqual([13n, 14n]); // limit
    const [r] = tail.read(12n, 13n, T, 10)!;
    expect(r).toMatchObject({ id: 13n, topic: "t", created_ms: 1002 });
    expect([...r!.payload]).toEqual([2]);
  });

  it("declines reads it cannot answer whole: before its first id, past its last, across another writer's ids", () => {
    const tail = new LocalTail();
    tail.add(rows(["t", "t"]), [{ first: 11n, last: 12n }]);
    tail.add(rows(["t"]), [{ first: 14n, last: 14n }]); // 13 is another process's
    expect(tail.read(9n, 12n, T, 10)).toBeUndefined(); // id 10 is not here
    expect(tail.read(10n, 14n, T, 10)).toBeUndefined(); // would skip 13
    expect(tail.read(10n, 12n, T, 10)!.map((r) => r.id)).toEqual([11n, 12n]);
    expect(tail.read(13n, 14n, T, 10)!.map((r) => r.id)).toEqual([14n]);
    expect(tail.read(13n, 20n, T, 10)).toBeUndefined(); // 15..20 are not here
    expect(tail.read(10n, 14n, T, 2)!.map((r) => r.id)).toEqual([11n, 12n]); // the limit ends it before the gap
  });

  it("hands each read its own payload bytes, and forgets the oldest rows beyond its bound", () => {
    const tail = new LocalTail(4);
    tail.add(rows(["t", "t", "t"]), [{ first: 1n, last: 3n }]);
    const a = tail.read(0n, 3n, T, 10)!;
    a[0]!.payload[0] = 99;
    expect(tail.read(0n, 3n, T, 10)![0]!.payload[0]).toBe(0);
    tail.add(rows(["t", "t"]), [{ first: 4n, last: 5n }]);
    expect(tail.read(0n, 5n, T, 10)).toBeUndefined(); // 1..3 are gone
    expect(tail.read(3n, 5n, T, 10)!.map((r) => r.id)).toEqual([4n, 5n]);
  });
});
