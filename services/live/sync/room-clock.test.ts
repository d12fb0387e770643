import { describe, expect, it } from "vitest";
import { positionAt, RoomClock, RoomClockError } from "./room-clock.js";

function room(opts: Partial<ConstructorParameters<typeof RoomClock>[0]> = {}) {
  const t = { now: 1_000_000 };
  const clock = new RoomClock({ now: () => t.now, ...opts });
  return { t, clock };
}

describe("RoomClock", () => {
  it("keeps position at a server time; PLAY, PAUSE, SEEK and RATE move it", () => {
    const { t, clock } = room();
    expect(clock.state()).toMatchObject({ playing: false, positionMs: 0, rate: 1, seq: 1 });
    const s1 = clock.control({ action: "PLAY" });
    expect(s1).toMatchObject({ playing: true, positionMs: 0, atServerTimeMs: 1_000_000, seq: 2 });
    t.now += 5000;
    expect(clock.position()).toBe(5000);
    expect(positionAt(s1, t.now)).toBe(5000);
    const s2 = clock.control({ action: "RATE", rate: 1.5 });
    expect(s2).toMatchObject({ positionMs: 5000, rate: 1.5, seq: 3 });
    t.now += 2000;
    expect(clock.position()).toBe(8000);
    const s3 = clock.control({ action: "PAUSE" });
    expect(s3).toMatchObject({ playing: false, positionMs: 8000 });
    t.now += 10_000;
    expect(clock.position()).toBe(8000);
    expect(clock.control({ action: "SEEK", positionMs: 60_000 })).toMatchObject({ playing: false, positionMs: 60_000 });
    expect(clock.control({ action: "PLAY", positionMs: 1000 })).toMatchObject({ playing: true, positionMs: 1000 });
  });

  it("clamps to the duration and rejects bad input with invalid_argument", () => {
    const { t, clock } = room({ durationMs: 10_000 });
    clock.control({ action: "PLAY", positionMs: 9000 });
    t.now += 5000;
    expect(clock.position()).toBe(10_000);
    expect(clock.control({ action: "SEEK", positionMs: 99_999 }).positionMs).toBe(10_000);
    for (const bad of [
      { action: "SEEK" as const },
      { action: "SEEK" as const, positionMs: -1 },
      { action: "SEEK" as const, positionMs: Number.NaN },
      { action: "RATE" as const, rate: 0 },
      { action: "RATE" as const, rate: 3 },
      { action: "RATE" as const },
      { action: "JUMP" as unknown as "PLAY" },
    ]) {
      expect(() => clock.control(bad)).toThrow(RoomClockError);
    }
  });

  it("pauses for a buffering member only after 3 s, and resumes when it is done", () => {
    const { t, clock } = room();
    clock.control({ action: "PLAY" });
    expect(clock.reportBuffering("ann", true)).toBeUndefined();
    t.now += 2900;
    expect(clock.tick()).toBeUndefined();
    expect(clock.reportBuffering("ann", false)).toBeUndefined(); // short buffering: the room never paused
    expect(clock.state().playing).toBe(true);

    clock.reportBuffering("ann", true);
    t.now += 3000;
    const paused = clock.tick();
    expect(paused).toMatchObject({ playing: false, pausedFor: "buffering", positionMs: 5900 });
    t.now += 1000;
    expect(clock.reportBuffering("ann", false)).toMatchObject({ playing: true, positionMs: 5900 });
  });

  it("does not resume a room a person paused, and waits for every waited-for member", () => {
    const { t, clock } = room();
    clock.control({ action: "PLAY" });
    clock.reportBuffering("ann", true);
    clock.reportBuffering("bob", true);
    t.now += 3000;
    expect(clock.tick()?.pausedFor).toBe("buffering");
    expect(clock.reportBuffering("ann", false)).toBeUndefined(); // bob still buffers
    expect(clock.removeMember("bob")).toMatchObject({ playing: true });

    clock.reportBuffering("cy", true);
    t.now += 3000;
    clock.tick();
    clock.control({ action: "PAUSE" }); // the host pauses meanwhile
    expect(clock.reportBuffering("cy", false)).toBeUndefined();
    expect(clock.state().playing).toBe(false);
  });

  it("stops waiting for a member that keeps pausing the room (no pause/resume loop)", () => {
    const { t, clock } = room({ maxAutoPauses: 2 });
    clock.control({ action: "PLAY" });
    const pauses: number[] = [];
    for (let i = 0; i < 5; i++) {
      clock.reportBuffering("slow", true);
      t.now += 3500;
      if (clock.tick()?.playing === false) pauses.push(i);
      clock.reportBuffering("slow", false);
      t.now += 1000;
    }
    expect(pauses).toEqual([0, 1]);
    expect(clock.notWaitedFor()).toEqual(["slow"]);
    expect(clock.state().playing).toBe(true);
  });
});
