/**
 * The limits of room chats (conversations of kind ROOM, the watch-together
 * rooms' chat): slow mode, at least `slowModeMs` between two messages of one
 * member in one room (the room's host, the conversation's owner, is exempt),
 * and a per-user rate, at most `messages` room-chat messages per `windowMs`
 * across all rooms. Both refuse with ResourceExhausted, saying how long to wait.
 *
 * Kept in memory by the process that serves SendMessage: with several chat
 * nodes a user could send once per node (the rooms' clocks live on one node
 * too, docs/live.md). A refused send writes nothing; an admitted send that
 * then fails gives its slot back (`undo`).
 */
import { Code, ConnectError } from "@connectrpc/connect";

export interface RoomRateLimit {
  /** Messages one user may send to room chats per window. */
  readonly messages: number;
  readonly windowMs: number;
}

export class RoomChatLimits {
  /** `${conversationId}:${userId}` → when the user's last message there was admitted. */
  private readonly last = new Map<string, number>();
  /** userId → times of its admitted room-chat messages within the window, oldest first. */
  private readonly recent = new Map<bigint, number[]>();
  private sweptAt = 0;

  constructor(
    private readonly rate: RoomRateLimit,
    private readonly now: () => number = Date.now,
  ) {}

  /** Admits one message or throws ResourceExhausted; the answer gives the slot back. */
  admit(conversationId: bigint, userId: bigint, slowModeMs: number, exemptFromSlowMode: boolean): () => void {
    const now = this.now();
    this.sweep(now);
    const key = `${conversationId}:${userId}`;
    const last = this.last.get(key);
    if (!exemptFromSlowMode && slowModeMs > 0 && last !== undefined && now - last < slowModeMs) {
      throw new ConnectError(
        `slow mode: wait ${seconds(slowModeMs - (now - last))} s before your next message in this room`,
        Code.ResourceExhausted,
      );
    }
    const times = (this.recent.get(userId) ?? []).filter((t) => now - t < this.rate.windowMs);
    if (times.length >= this.rate.messages) {
      throw new ConnectError(
        `too many messages: at most ${this.rate.messages} per ${seconds(this.rate.windowMs)} s in rooms; wait ${seconds(
          this.rate.windowMs - (now - times[0]!),
        )} s`,
        Code.ResourceExhausted,
      );
    }
    times.push(now);
    this.recent.set(userId, times);
    this.last.set(key, now);
    return () => {
      if (last === undefined) this.last.delete(key);
      else this.last.set(key, last);
      const i = times.lastIndexOf(now);
      if (i >= 0) times.splice(i, 1);
    };
  }

  /** Forgets what no longer limits anyone (at most once a minute). */
  private sweep(now: number): void {
    if (now - this.sweptAt < 60_000) return;
    this.sweptAt = now;
    const keep = Math.max(this.rate.windowMs, 3_600_000); // slow mode is at most an hour
    for (const [k, t] of this.last) if (now - t >= keep) this.last.delete(k);
    for (const [u, times] of this.recent) if (!times.some((t) => now - t < this.rate.windowMs)) this.recent.delete(u);
  }
}

const seconds = (ms: number) => (Math.ceil(ms / 100) / 10).toString();
