/**
 * A watch-together room's authoritative clock, kept by the server. Pure: time
 * comes from the injected `now()`, nothing is sent anywhere; the RoomService
 * pushes each new `RoomState` to the members (through the gateway) and
 * answers GetRoomState with `state()`.
 *
 * The state is "position `positionMs` at server time `atServerTimeMs`, moving
 * at `rate` while playing", so any member can compute where the room is at
 * any moment without being told again (see `positionAt`).
 *
 * Buffering: a member that reports buffering pauses the room only after it
 * has buffered for `bufferingGraceMs` (3 s); the room resumes on its own
 * once no waited-for member buffers any more. A member that caused
 * `maxAutoPauses` pauses within `autoPauseWindowMs` is not waited for any
 * more (its client catches up by seeking), so one slow connection cannot
 * pause and resume the room in a loop.
 */

export type RoomAction = "PLAY" | "PAUSE" | "SEEK" | "RATE";

export interface RoomState {
  readonly playing: boolean;
  readonly positionMs: number;
  readonly atServerTimeMs: number;
  readonly rate: number;
  /** Increases with every change; clients drop states older than the one they have. */
  readonly seq: number;
  /** Why the room is paused when it was not a person: "buffering". */
  readonly pausedFor?: "buffering";
}

export interface ControlCommand {
  readonly action: RoomAction;
  readonly positionMs?: number;
  readonly rate?: number;
}

export class RoomClockError extends Error {
  override readonly name = "RoomClockError";
  constructor(
    /** Maps to a Connect code: invalid_argument. */
    readonly code: "invalid_argument",
    message: string,
  ) {
    super(message);
  }
}

export interface RoomClockOptions {
  readonly now: () => number;
  /** Media duration; positions are clamped to it. Unset for live streams. */
  readonly durationMs?: number;
  readonly bufferingGraceMs?: number;
  readonly maxAutoPauses?: number;
  readonly autoPauseWindowMs?: number;
  readonly minRate?: number;
  readonly maxRate?: number;
  readonly initial?: { positionMs?: number; playing?: boolean; rate?: number };
}

/** Where the room is at server time `serverNowMs`. */
export function positionAt(state: RoomState, serverNowMs: number, durationMs?: number): number {
  const p = state.playing
    ? state.positionMs + Math.max(0, serverNowMs - state.atServerTimeMs) * state.rate
    : state.positionMs;
  return durationMs === undefined ? p : Math.min(p, durationMs);
}

interface Buffering {
  readonly since: number;
}

export class RoomClock {
  private current: RoomState;
  private readonly buffering = new Map<string, Buffering>();
  /** Times each member caused an auto-pause (within the window). */
  private readonly autoPauses = new Map<string, number[]>();
  private readonly ignored = new Set<string>();
  private readonly grace: number;
  private readonly maxAutoPauses: number;
  private readonly window: number;
  private readonly minRate: number;
  private readonly maxRate: number;

  constructor(private readonly opts: RoomClockOptions) {
    this.grace = opts.bufferingGraceMs ?? 3000;
    this.maxAutoPauses = opts.maxAutoPauses ?? 2;
    this.window = opts.autoPauseWindowMs ?? 120_000;
    this.minRate = opts.minRate ?? 0.5;
    this.maxRate = opts.maxRate ?? 2;
    this.current = {
      playing: opts.initial?.playing ?? false,
      positionMs: opts.initial?.positionMs ?? 0,
      atServerTimeMs: opts.now(),
      rate: opts.initial?.rate ?? 1,
      seq: 1,
    };
  }

  state(): RoomState {
    return this.current;
  }

  /** The room's position now. */
  position(): number {
    return positionAt(this.current, this.opts.now(), this.opts.durationMs);
  }

  /** Members the room no longer waits for (they buffered the room into pauses too often). */
  notWaitedFor(): string[] {
    return [...this.ignored];
  }

  /** PLAY/PAUSE/SEEK/RATE from a member allowed to control the room. Returns the new state. */
  control(cmd: ControlCommand): RoomState {
    const now = this.opts.now();
    const pos = this.position();
    switch (cmd.action) {
      case "PLAY":
        return this.set({ playing: true, positionMs: this.target(cmd.positionMs, pos), rate: this.current.rate }, now);
      case "PAUSE":
        return this.set({ playing: false, positionMs: this.target(cmd.positionMs, pos), rate: this.current.rate }, now);
      case "SEEK":
        if (cmd.positionMs === undefined) throw new RoomClockError("invalid_argument", "SEEK needs position_ms");
        return this.set(
          { playing: this.current.playing, positionMs: this.target(cmd.positionMs, pos), rate: this.current.rate },
          now,
        );
      case "RATE": {
        const r = cmd.rate;
        if (r === undefined || !Number.isFinite(r) || r < this.minRate || r > this.maxRate)
          throw new RoomClockError("invalid_argument", `rate must be between ${this.minRate} and ${this.maxRate}`);
        return this.set({ playing: this.current.playing, positionMs: pos, rate: r }, now);
      }
      default:
        throw new RoomClockError("invalid_argument", `unknown action ${String((cmd as ControlCommand).action)}`);
    }
  }

  /**
   * A member reports that it started or stopped buffering. Returns the new
   * state when the room changed (it resumes when the last waited-for member
   * is done), otherwise undefined. Call `tick()` to apply the grace period.
   */
  reportBuffering(memberId: string, buffering: boolean): RoomState | undefined {
    const now = this.opts.now();
    if (buffering) {
      if (!this.buffering.has(memberId)) this.buffering.set(memberId, { since: now });
      return this.tick();
    }
    this.buffering.delete(memberId);
    return this.maybeResume(now);
  }

  /** A member left: it is not waited for any more. */
  removeMember(memberId: string): RoomState | undefined {
    this.buffering.delete(memberId);
    this.autoPauses.delete(memberId);
    this.ignored.delete(memberId);
    return this.maybeResume(this.opts.now());
  }

  /**
   * Applies the buffering grace period: if a waited-for member has buffered
   * for `bufferingGraceMs` while the room plays, the room pauses. The service
   * calls this on a timer (every few hundred ms) and after each report.
   */
  tick(): RoomState | undefined {
    const now = this.opts.now();
    if (!this.current.playing) return undefined;
    for (const [member, b] of this.buffering) {
      if (this.ignored.has(member) || now - b.since < this.grace) continue;
      const times = (this.autoPauses.get(member) ?? []).filter((t) => now - t < this.window);
      if (times.length >= this.maxAutoPauses) {
        // Paused the room too often: stop waiting for it, let it catch up by itself.
        this.ignored.add(member);
        continue;
      }
      times.push(now);
      this.autoPauses.set(member, times);
      return this.set(
        { playing: false, positionMs: this.position(), rate: this.current.rate, pausedFor: "buffering" },
        now,
      );
    }
    return undefined;
  }

  private maybeResume(now: number): RoomState | undefined {
    if (this.current.pausedFor !== "buffering") return undefined;
    for (const member of this.buffering.keys()) if (!this.ignored.has(member)) return undefined;
    return this.set({ playing: true, positionMs: this.current.positionMs, rate: this.current.rate }, now);
  }

  private target(positionMs: number | undefined, fallback: number): number {
    if (positionMs === undefined) return fallback;
    if (!Number.isFinite(positionMs) || positionMs < 0)
      throw new RoomClockError("invalid_argument", "position_ms must be a non-negative number");
    return this.opts.durationMs === undefined ? positionMs : Math.min(positionMs, this.opts.durationMs);
  }

  private set(next: Omit<RoomState, "seq" | "atServerTimeMs">, now: number): RoomState {
    this.current = { ...next, atServerTimeMs: now, seq: this.current.seq + 1 };
    return this.current;
  }
}
