/**
 * A simulated watch-together room in simulated time (tests and
 * `npm run bench -- sync`): the server's RoomClock, N members with their own
 * clock offset and skew, players whose media clock runs slightly fast or
 * slow and whose seeks take time, and a network with per-member asymmetric
 * delay and jitter. Each member runs `RoomSync` (or the naive baseline: apply
 * each state as it arrives, with no clock offset and no drift correction).
 * Deterministic for a given seed.
 */
import { positionAt, RoomClock, type RoomState } from "./room-clock.js";
import { RoomSync, type SyncPlayer } from "./sync-client.js";

export interface SimulationOptions {
  readonly members: number;
  readonly seconds: number;
  /** Host seeks at this time (s) to `seekToMs`. */
  readonly seekAtS: number;
  readonly seekToMs: number;
  /** Members' clock offsets are uniform in ±this (ms). */
  readonly clockSpreadMs: number;
  /** Clock skew, ± parts per million. */
  readonly clockSkewPpm: number;
  /** Player media clock error, ± fraction (0.003 = 0.3 %). */
  readonly playerRateError: number;
  /** One-way base delay uniform in [min, max] ms, per member and direction. */
  readonly delayMs: readonly [number, number];
  /** Mean of the exponential jitter added to every message, ms. */
  readonly jitterMs: number;
  /** A player's seek time is uniform in [min, max] ms per member, ±20 % per seek. */
  readonly seekTimeMs: readonly [number, number];
  /** Drift is sampled every second over the last this many seconds. */
  readonly measureLastS: number;
  /** Within this of the room, a member counts as in sync (seek reach time). */
  readonly inSyncMs: number;
  readonly client: "sync" | "naive";
  readonly seed: number;
}

export const DEFAULT_SIMULATION: SimulationOptions = {
  members: 200,
  seconds: 60,
  seekAtS: 20,
  seekToMs: 600_000,
  clockSpreadMs: 5000,
  clockSkewPpm: 50,
  playerRateError: 0.003,
  delayMs: [10, 150],
  jitterMs: 15,
  seekTimeMs: [80, 400],
  measureLastS: 10,
  inSyncMs: 250,
  client: "sync",
  seed: 17,
};

export interface SimulationResult {
  /** |member position − room position| over the measuring window, ms. */
  readonly driftP50Ms: number;
  readonly driftP95Ms: number;
  readonly driftMaxMs: number;
  /** From the host's SEEK until its state reached the last member, ms. */
  readonly seekDeliveredMs: number;
  /** From the host's SEEK until every member was within `inSyncMs` of the room, ms. */
  readonly seekInSyncMs: number;
  readonly samples: number;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Msg {
  readonly at: number;
  readonly deliver: () => void;
}

const STEP_MS = 20;

export function simulateRoom(o: SimulationOptions = DEFAULT_SIMULATION): SimulationResult {
  const rand = rng(o.seed);
  const uni = (lo: number, hi: number) => lo + (hi - lo) * rand();
  const jitter = () => -Math.log(1 - rand()) * o.jitterMs;
  let T = 0; // true time = server time
  const queue: Msg[] = [];
  const send = (delay: number, deliver: () => void) => queue.push({ at: T + delay, deliver });
  const server = new RoomClock({ now: () => T });

  const members = Array.from({ length: o.members }, (_, i) => {
    const offset = uni(-o.clockSpreadMs, o.clockSpreadMs);
    const skew = uni(-o.clockSkewPpm, o.clockSkewPpm) * 1e-6;
    const local = () => T * (1 + skew) + offset;
    const up = uni(o.delayMs[0], o.delayMs[1]);
    const down = uni(o.delayMs[0], o.delayMs[1]);
    const rateErr = uni(-o.playerRateError, o.playerRateError);
    // Each player seeks in about the same time (its device), ±20 %.
    const seekBase = uni(o.seekTimeMs[0], o.seekTimeMs[1]);
    // The player: position advances with true time at rate × (1 + its error).
    const p = { pos: 0, playing: false, rate: 1, seekUntil: -1, seekTo: 0 };
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
      isSeeking: () => p.seekUntil >= 0,
      seek: (ms) => {
        p.seekUntil = T + seekBase * uni(0.8, 1.2);
        p.seekTo = ms;
      },
    };
    const sync = new RoomSync(player, local);
    let stateSeq = 0;
    const onState = (s: RoomState) => {
      stateSeq = Math.max(stateSeq, s.seq);
      if (o.client === "sync") sync.onState(s);
      else if (s.seq >= stateSeq) {
        // Naive: jump to the position as sent, play or pause, no correction after.
        p.playing = s.playing;
        p.rate = s.rate;
        player.seek(s.positionMs);
      }
    };
    const ping = () => {
      const t0 = local();
      send(up + jitter(), () => {
        const serverTime = T;
        send(down + jitter(), () => sync.addSample({ t0, serverTime, t1: local() }));
      });
    };
    return { i, p, sync, onState, ping, down, rateErr, joinAt: uni(0, 2000), joined: false, seq: () => stateSeq };
  });

  const broadcast = (s: RoomState) => {
    for (const m of members) if (m.joined) send(m.down + jitter(), () => m.onState(s));
  };

  const drifts: number[] = [];
  const seekAt = o.seekAtS * 1000;
  let seekState: RoomState | undefined;
  let seekDelivered = Number.NaN;
  let seekInSync = Number.NaN;
  const end = o.seconds * 1000;
  server.control({ action: "PLAY", positionMs: 0 });

  for (T = 0; T <= end; T += STEP_MS) {
    for (const m of members) {
      if (!m.joined && T >= m.joinAt) {
        m.joined = true;
        // Join: the current state, then pings (5 quickly, then every 5 s).
        const s = server.state();
        send(m.down + jitter(), () => m.onState(s));
        for (let k = 0; k < 5; k++) setAt(T + k * 200, m.ping);
      }
    }
    if (seekState === undefined && T >= seekAt) {
      seekState = server.control({ action: "SEEK", positionMs: o.seekToMs });
      broadcast(seekState);
    }
    // Deliver due messages (in time order).
    queue.sort((a, b) => a.at - b.at);
    while (queue.length > 0 && queue[0]!.at <= T) queue.shift()!.deliver();
    for (const m of members) {
      if (m.joined && T > m.joinAt + 1000 && (T - Math.floor(m.joinAt)) % 5000 < STEP_MS) m.ping();
      const p = m.p;
      if (p.seekUntil >= 0) {
        if (T >= p.seekUntil) {
          p.pos = p.seekTo;
          p.seekUntil = -1;
          if (o.client === "sync") m.sync.seeked();
        }
      } else if (p.playing) p.pos += STEP_MS * p.rate * (1 + m.rateErr);
      if (o.client === "sync" && T % 100 === 0) m.sync.step();
    }
    const roomPos = positionAt(server.state(), T);
    if (seekState !== undefined) {
      if (Number.isNaN(seekDelivered) && members.every((m) => m.seq() >= seekState!.seq)) seekDelivered = T - seekAt;
      if (
        Number.isNaN(seekInSync) &&
        members.every((m) => m.p.seekUntil < 0 && Math.abs(m.p.pos - roomPos) <= o.inSyncMs)
      )
        seekInSync = T - seekAt;
    }
    if (T >= end - o.measureLastS * 1000 && T % 1000 === 0)
      for (const m of members) drifts.push(Math.abs(m.p.pos - roomPos));
  }

  drifts.sort((a, b) => a - b);
  const pct = (q: number) => drifts[Math.min(drifts.length - 1, Math.floor(q * drifts.length))] ?? 0;
  return {
    driftP50Ms: Math.round(pct(0.5)),
    driftP95Ms: Math.round(pct(0.95)),
    driftMaxMs: Math.round(drifts[drifts.length - 1] ?? 0),
    seekDeliveredMs: seekDelivered,
    seekInSyncMs: Number.isNaN(seekInSync) ? -1 : seekInSync,
    samples: drifts.length,
  };

  function setAt(at: number, fn: () => void) {
    queue.push({ at, deliver: fn });
  }
}
