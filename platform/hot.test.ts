import { describe, expect, it } from "vitest";
import { HOT_DECAY_S, HOT_EPOCH_S, hotRank, hotScore } from "./hot.js";

describe("hot score", () => {
  const t0 = HOT_EPOCH_S * 1000;
  it("is log10 of likes + 2 × comments plus the age term, stored × 10^6", () => {
    expect(hotScore(0, 0, t0)).toBe(0);
    expect(hotScore(8, 1, t0)).toBeCloseTo(1, 12); // 8 + 2×1 = 10
    expect(hotScore(100, 0, t0 + HOT_DECAY_S * 1000)).toBeCloseTo(3, 12); // 100 likes, one decay later
    expect(hotRank(8n, 1n, BigInt(t0))).toBe(1_000_000n);
    expect(hotRank(0, 0, t0 + 4500_000)).toBe(100_000n); // a tenth of a decay
    // Removing more than there was never goes below no engagement.
    expect(hotScore(-3, -1, t0)).toBe(0);
  });

  it("trades ten times the engagement for one decay period, and any epoch orders alike", () => {
    const older = hotRank(1000, 0, t0);
    const newer = hotRank(100, 0, t0 + HOT_DECAY_S * 1000);
    expect(older).toBe(newer);
    expect(hotRank(101, 0, t0 + HOT_DECAY_S * 1000)).toBeGreaterThan(older);
    const epoch = 1_704_067_200;
    const a = hotRank(5, 2, t0 + 1000, epoch);
    const b = hotRank(50, 0, t0 - 20_000_000, epoch);
    expect(a > b).toBe(hotRank(5, 2, t0 + 1000) > hotRank(50, 0, t0 - 20_000_000));
    expect(a - hotRank(5, 2, t0 + 1000)).toBe(BigInt(Math.round(((HOT_EPOCH_S - epoch) / HOT_DECAY_S) * 1e6)));
  });
});
