import { describe, expect, it } from "vitest";
import { chunkSizes, insertSql, type LogRow } from "./log-writer.js";

const rows = (n: number, bytes = 10): LogRow[] =>
  Array.from({ length: n }, () => ({ topic: "t", key: "", payload: new Uint8Array(bytes), createdMs: 0 }));

describe("chunkSizes", () => {
  it("cuts a batch into powers of two, largest first, capped", () => {
    expect(chunkSizes(rows(1))).toEqual([1]);
    expect(chunkSizes(rows(7))).toEqual([4, 2, 1]);
    expect(chunkSizes(rows(1024))).toEqual([1024]);
    expect(chunkSizes(rows(2500))).toEqual([1024, 1024, 256, 128, 64, 4]);
    expect(chunkSizes(rows(10), { maxChunkRows: 6, maxChunkBytes: 1e9 })).toEqual([4, 4, 2]);
  });

  it("keeps each chunk's payload under the byte budget (a lone row always goes)", () => {
    expect(chunkSizes(rows(8, 100), { maxChunkRows: 1024, maxChunkBytes: 250 })).toEqual([2, 2, 2, 2]);
    expect(chunkSizes(rows(2, 1000), { maxChunkRows: 1024, maxChunkBytes: 250 })).toEqual([1, 1]);
  });

  it("writes one prepared statement text per size", () => {
    expect(insertSql(1)).toBe(
      "INSERT INTO orbit_event_log (topic, event_key, payload, created_ms) VALUES (?, ?, ?, ?)",
    );
    expect(insertSql(2)).toBe(
      "INSERT INTO orbit_event_log (topic, event_key, payload, created_ms) VALUES (?, ?, ?, ?), (?, ?, ?, ?)",
    );
    // Each chunk size chunkSizes can produce has its own text with one row group per row.
    for (const n of [4, 64, 1024]) expect(insertSql(n).match(/\(\?, \?, \?, \?\)/g)).toHaveLength(n);
    expect(new Set([1, 2, 4, 64, 1024].map(insertSql)).size).toBe(5);
  });
});
