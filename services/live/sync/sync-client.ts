/**
 * The client side of room sync: a small module with no Node or DOM imports,
 * usable in the browser (the watch page) and as the reference for other
 * players (Android). The protocol is in docs/live.md; in short:
 *
 * 1. Clock offset. The client pings: it notes its send time t0, the server
 *    answers with its time s, the client notes the receive time t1. The
 *    sample's delay is t1 − t0 and its offset s − (t0 + t1) / 2. Of the last
 *    few samples the one with the lowest delay wins (its midpoint guess is
 *    the least wrong), as Jellyfin's SyncPlay does. Server time ≈ local + offset.
 *
 * 2. Room state. The server sends {seq, playing, position_ms,
 *    at_server_time_ms, rate}; the room's position at any local time t is
 *    position_ms + (t + offset − at_server_time_ms) × rate while playing.
 *
 * 3. Correction, every `intervalMs`: drift = local position − room position.
 *    |drift| ≤ `toleranceMs`: play at the room's rate. Up to `maxRateDriftMs`
 *    (2 s): play at rate × (1 − drift / `catchUpMs`), clamped to 0.95–1.05.
 *    Beyond: seek to the room's position (plus the player's measured seek
 *    time, so it lands where the room will be). Paused rooms: seek when more
 *    than `toleranceMs` off.
 */
import { positionAt, type RoomState } from "./room-clock.js";

export interface ClockSample {
  /** Local time the ping was sent. */
  readonly t0: number;
  /** Server time in the answer. */
  readonly serverTime: number;
  /** Local time the answer arrived. */
  readonly t1: number;
}

/** Keeps the last `keep` ping samples; the lowest-delay one gives the offset. */
export class ClockOffset {
  private readonly samples: ClockSample[] = [];
  constructor(private readonly keep = 8) {}

  add(sample: ClockSample): void {
    if (!(sample.t1 >= sample.t0)) return; // a clock step backwards; drop it
    this.samples.push(sample);
    if (this.samples.length > this.keep) this.samples.shift();
  }

  get ready(): boolean {
    return this.samples.length > 0;
  }

  get count(): number {
    return this.samples.length;
  }

  private best(): ClockSample | undefined {
    let best: ClockSample | undefined;
    for (const s of this.samples) if (!best || s.t1 - s.t0 < best.t1 - best.t0) best = s;
    return best;
  }

  /** Server time minus local time, ms. 0 before the first sample. */
  get offsetMs(): number {
    const b = this.best();
    return b ? b.serverTime - (b.t0 + b.t1) / 2 : 0;
  }

  /** Round-trip delay of the sample in use; half of it bounds the offset's error. */
  get delayMs(): number {
    const b = this.best();
    return b ? b.t1 - b.t0 : Number.POSITIVE_INFINITY;
  }
}

export interface SyncSettings {
  /** Drift that is left alone. Default 40 ms. */
  readonly toleranceMs: number;
  /** Up to this drift, playback speed corrects it; beyond, a seek. Default 2000 ms. */
  readonly maxRateDriftMs: number;
  /** Speed correction aims to remove the drift over this long. Default 1000 ms. */
  readonly catchUpMs: number;
  readonly minRate: number;
  readonly maxRate: number;
  /** Seek time assumed until the player's first seek was measured. Default 250 ms. */
  readonly initialSeekCostMs: number;
  /** After a seek lands this far off (the seek cost was mis-guessed), one more seek. Default 300 ms. */
  readonly refineSeekMs: number;
}

export const DEFAULT_SYNC: SyncSettings = {
  toleranceMs: 40,
  maxRateDriftMs: 2000,
  catchUpMs: 1000,
  minRate: 0.95,
  maxRate: 1.05,
  initialSeekCostMs: 250,
  refineSeekMs: 300,
};

export type Correction =
  | { readonly kind: "rate"; readonly rate: number; readonly driftMs: number }
  | { readonly kind: "seek"; readonly toMs: number; readonly driftMs: number };

/**
 * What the player should do now. `localNowMs` is the client's clock,
 * `playerPositionMs` the player's current position, `seekCostMs` how long the
 * player's seeks take (measured by the caller; 0 if unknown).
 */
export function correction(
  state: RoomState,
  offsetMs: number,
  localNowMs: number,
  playerPositionMs: number,
  seekCostMs = 0,
  s: SyncSettings = DEFAULT_SYNC,
): Correction {
  const roomPos = positionAt(state, localNowMs + offsetMs);
  const driftMs = playerPositionMs - roomPos;
  if (!state.playing) {
    return Math.abs(driftMs) > s.toleranceMs
      ? { kind: "seek", toMs: roomPos, driftMs }
      : { kind: "rate", rate: state.rate, driftMs };
  }
  if (Math.abs(driftMs) <= s.toleranceMs) return { kind: "rate", rate: state.rate, driftMs };
  if (Math.abs(driftMs) <= s.maxRateDriftMs) {
    const factor = Math.min(s.maxRate, Math.max(s.minRate, 1 - driftMs / s.catchUpMs));
    return { kind: "rate", rate: state.rate * factor, driftMs };
  }
  return { kind: "seek", toMs: roomPos + seekCostMs * state.rate, driftMs };
}

/** What the sync loop needs from a player (HTMLMediaElement fits through `mediaElementPlayer`). */
export interface SyncPlayer {
  positionMs(): number;
  isPlaying(): boolean;
  play(): void;
  pause(): void;
  setRate(rate: number): void;
  seek(ms: number): void;
  /** True while a seek is in progress (HTMLMediaElement.seeking). Without it, landing is guessed. */
  isSeeking?(): boolean;
}

/**
 * The client's sync loop: feed it pings' answers (`addSample`) and room
 * states (`onState`), call `step()` periodically (every 250 ms is plenty).
 */
export class RoomSync {
  readonly clock = new ClockOffset();
  private room: RoomState | undefined;
  private lastSeekAt = Number.NEGATIVE_INFINITY;
  /** Seek time learned from the player (ms), smoothed. */
  seekCostMs: number;
  private pendingSeek: { at: number; toMs: number; refine: boolean } | undefined;
  /** Set when a seek just landed: one refining seek is allowed if it landed far off. */
  private mayRefine = false;
  /**
   * Set by a state that moved the room's position (a SEEK, or the first state):
   * the next correction seeks if the player is more than `refineSeekMs` off,
   * rather than drifting there at 1.05× (a 1.5 s jump would take 30 s).
   */
  private jumped = false;

  constructor(
    private readonly player: SyncPlayer,
    private readonly now: () => number,
    private readonly settings: SyncSettings = DEFAULT_SYNC,
  ) {
    this.seekCostMs = settings.initialSeekCostMs;
  }

  get state(): RoomState | undefined {
    return this.room;
  }

  addSample(sample: ClockSample): void {
    this.clock.add(sample);
  }

  /** A room state from the server; older ones (lower seq) are ignored. Applies it at once. */
  onState(state: RoomState): void {
    if (this.room && state.seq <= this.room.seq) return;
    const seeked = !this.room || state.positionMs !== positionAt(this.room, state.atServerTimeMs);
    this.room = state;
    if (seeked) {
      this.lastSeekAt = Number.NEGATIVE_INFINITY; // a new position: correct at once
      this.jumped = true;
    }
    this.step();
  }

  /** The player finished a seek (the <video> "seeked" event); measures the seek's cost. */
  seeked(): void {
    const pending = this.pendingSeek;
    if (!pending) return;
    this.pendingSeek = undefined;
    this.mayRefine = !pending.refine; // never refine a refinement: no seek loops
    const took = this.now() - pending.at;
    this.seekCostMs = this.measured ? 0.6 * this.seekCostMs + 0.4 * took : took;
    this.measured = true;
  }
  private measured = false;

  /** The server time now, as this client estimates it. */
  serverNow(): number {
    return this.now() + this.clock.offsetMs;
  }

  /** One correction; returns what it did (for logs and tests). */
  step(): Correction | undefined {
    const room = this.room;
    if (!room) return undefined;
    const now = this.now();
    if (this.pendingSeek) {
      // Still seeking (players without a "seeked" signal: the position has not moved there yet).
      const landed = this.player.isSeeking
        ? !this.player.isSeeking()
        : Math.abs(this.player.positionMs() - this.pendingSeek.toMs) < 250;
      if (!landed && now - this.pendingSeek.at < 5000) return undefined;
      this.seeked();
    }
    if (room.playing !== this.player.isPlaying()) {
      if (room.playing) this.player.play();
      else this.player.pause();
    }
    const c = correction(room, this.clock.offsetMs, now, this.player.positionMs(), this.seekCostMs, this.settings);
    const refine = this.mayRefine && room.playing && Math.abs(c.driftMs) > this.settings.refineSeekMs;
    const jump = this.jumped && room.playing && Math.abs(c.driftMs) > this.settings.refineSeekMs;
    this.mayRefine = false;
    this.jumped = false;
    if (c.kind === "seek" || refine || jump) {
      // No seek storms: at most one per second unless the room itself moved or a seek landed off.
      if (!refine && !jump && now - this.lastSeekAt < 1000) return c;
      const toMs = c.kind === "seek" ? c.toMs : c.driftMs * -1 + this.player.positionMs() + this.seekCostMs * room.rate;
      this.lastSeekAt = now;
      this.player.setRate(room.rate);
      this.player.seek(toMs);
      this.pendingSeek = { at: now, toMs, refine };
      return { kind: "seek", toMs, driftMs: c.driftMs };
    }
    this.player.setRate(c.rate);
    return c;
  }
}

/** Minimal shape of an HTMLMediaElement, so this module needs no DOM types. */
export interface MediaElementLike {
  currentTime: number;
  playbackRate: number;
  readonly paused: boolean;
  readonly seeking: boolean;
  play(): Promise<void> | void;
  pause(): void;
}

/** Adapts a <video> element (with hls.js attached or native HLS) to `SyncPlayer`. */
export function mediaElementPlayer(el: MediaElementLike): SyncPlayer {
  return {
    positionMs: () => el.currentTime * 1000,
    isPlaying: () => !el.paused,
    play: () => void Promise.resolve(el.play()).catch(() => {}),
    pause: () => el.pause(),
    setRate: (r) => {
      if (Math.abs(el.playbackRate - r) > 1e-3) el.playbackRate = r;
    },
    seek: (ms) => {
      el.currentTime = ms / 1000;
    },
    isSeeking: () => el.seeking,
  };
}
