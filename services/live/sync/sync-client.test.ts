import { describe, expect, it } from "vitest";
import { ClockOffset, correction, DEFAULT_SYNC, RoomSync, type SyncPlayer } from "./sync-client.js";
import type { RoomState } from "./room-clock.js";
import { DEFAULT_SIMULATION, simulateRoom } from "./simulate.js";

const playing = (positionMs: number, at: number, rate = 1): RoomState => ({
  playing: true,
  positionMs,
  atServerTimeMs: at,
  rate,
  seq: 2,
});

describe("ClockOffset", () => {
  it("takes the lowest-delay sample", () => {
    const c = new ClockOffset();
    expect(c.ready).toBe(false);
    // True offset +1000 ms; the slow sample's asymmetric delay would put it at +1150.
    c.add({ t0: 0, serverTime: 1400, t1: 500 });
    c.add({ t0: 1000, serverTime: 2030, t1: 1060 });
    c.add({ t0: 2000, serverTime: 3100, t1: 2300 });
    expect(c.offsetMs).toBe(1000);
    expect(c.delayMs).toBe(60);
    c.add({ t0: 10, serverTime: 0, t1: 5 }); // receive before send: dropped
    expect(c.count).toBe(3);
  });
});

describe("correction", () => {
  it("leaves small drift, corrects up to 2 s by rate (0.95–1.05), seeks beyond", () => {
    const s = playing(10_000, 0);
    expect(correction(s, 0, 0, 10_020)).toEqual({ kind: "rate", rate: 1, driftMs: 20 });
    const ahead = correction(s, 0, 0, 10_030 + 500);
    expect(ahead).toMatchObject({ kind: "rate", rate: DEFAULT_SYNC.minRate });
    const behind = correction(s, 0, 0, 10_000 - 20 - 30);
    expect(behind.kind).toBe("rate");
    expect((behind as { rate: number }).rate).toBeCloseTo(1.05, 5);
    const slightly = correction(s, 0, 0, 10_000 - 45);
    expect((slightly as { rate: number }).rate).toBeCloseTo(1.045, 5);
    expect(correction(s, 0, 0, 7_000)).toEqual({ kind: "seek", toMs: 10_000, driftMs: -3000 });
    expect(correction(s, 500, 1000, 0, 200)).toEqual({ kind: "seek", toMs: 11_700, driftMs: -11_500 });
    expect(correction({ ...s, playing: false }, 0, 5000, 10_000).kind).toBe("rate");
    expect(correction({ ...s, playing: false }, 0, 5000, 10_500)).toMatchObject({ kind: "seek", toMs: 10_000 });
  });
});

describe("RoomSync", () => {
  it("follows states in seq order, plays/pauses the player and ignores stale states", () => {
    const t = { now: 0 };
    const p = { pos: 0, playing: false, rate: 1, seeks: [] as number[], seeking: false };
    const player: SyncPlayer = {
      positionMs: () => p.pos,
      isPlaying: () => p.playing,
      play: () => {
        p.playing = true;
      },
      pause: () => {
        p.playing = false;
      },
      setRate: (r) => {
        p.rate = r;
      },
      seek: (ms) => {
        p.seeks.push(ms);
        p.pos = ms;
      },
      isSeeking: () => p.seeking,
    };
    const sync = new RoomSync(player, () => t.now);
    sync.addSample({ t0: 0, serverTime: 100_000, t1: 0 }); // server clock is 100 s ahead
    sync.onState({ ...playing(30_000, 100_000), seq: 5 });
    expect(p.playing).toBe(true);
    expect(p.seeks).toEqual([30_000 + DEFAULT_SYNC.initialSeekCostMs]);
    sync.onState({ ...playing(0, 100_000), seq: 4 }); // stale
    expect(p.seeks.length).toBe(1);
    sync.onState({ playing: false, positionMs: 40_000, atServerTimeMs: 100_000, rate: 1, seq: 6 });
    expect(p.playing).toBe(false);
    expect(p.seeks.at(-1)).toBe(40_000);
  });

  it("seeks after a room seek even when the jump is under 2 s; plain drift stays a rate change", () => {
    const t = { now: 0 };
    const p = { pos: 10_000, seeks: [] as number[], rate: 1 };
    const player: SyncPlayer = {
      positionMs: () => p.pos,
      isPlaying: () => true,
      play: () => undefined,
      pause: () => undefined,
      setRate: (r) => {
        p.rate = r;
      },
      seek: (ms) => {
        p.seeks.push(ms);
        p.pos = ms;
      },
      isSeeking: () => false,
    };
    const sync = new RoomSync(player, () => t.now);
    sync.addSample({ t0: 0, serverTime: 0, t1: 0 });
    sync.onState({ ...playing(10_000, 0), seq: 1 }); // in place: nothing to do
    expect(p.seeks).toEqual([]);
    p.pos = 9_000; // the player fell 1 s behind by itself: speed, no seek
    sync.step();
    expect(p.seeks).toEqual([]);
    expect(p.rate).toBeCloseTo(1.05, 5);
    p.pos = 10_000;
    sync.onState({ ...playing(8_500, 0), seq: 2 }); // the host seeks back 1.5 s
    expect(p.seeks).toEqual([8_500 + DEFAULT_SYNC.initialSeekCostMs]);
  });
});

describe("a simulated room (clock offsets, skew, delay, jitter, slow seeks)", () => {
  const o = { ...DEFAULT_SIMULATION, members: 40, seconds: 40, seekAtS: 15 };
  it("keeps members within 250 ms (p95) and brings a seek to all of them", () => {
    const r = simulateRoom(o);
    expect(r.samples).toBe(40 * 11);
    expect(r.driftP95Ms).toBeLessThanOrEqual(250);
    expect(r.seekDeliveredMs).toBeLessThanOrEqual(500);
    // Delivery, plus the slowest player's seek (≤ 480 ms here), plus a step.
    expect(r.seekInSyncMs).toBeGreaterThan(0);
    expect(r.seekInSyncMs).toBeLessThanOrEqual(1000);
  });

  it("does much better than applying states as they arrive", () => {
    const naive = simulateRoom({ ...o, client: "naive" });
    const sync = simulateRoom(o);
    expect(naive.driftP95Ms).toBeGreaterThan(2 * sync.driftP95Ms);
  });
});
