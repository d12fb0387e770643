/**
 * The limits of room chats (conversations of kind ROOM, the watch-together
 * rooms' chat), on `ctx.limits` (platform/limits: this bundle's memory, or
 * Redis shared by every bundle with --redis):
 *
 *  - slow mode: at least `slowModeMs` between two messages of one member in
 *    one room (the room's host, the conversation's owner, is exempt) — a
 *    window of one message per member and room (`room_slow_mode`);
 *  - a per-user rate: at most `messages` room-chat messages per `windowMs`
 *    across all rooms — a fixed window per user (`room_chat_rate`).
 *
 * Both refuse with ResourceExhausted ("…; try again in N s", `retry-after`).
 * `check` reads the windows before anything is written; `admitted` counts the
 * message once the send went through, so a refused or failed send costs
 * nothing. Between the two a concurrent send of the same user can pass too (a
 * few at most: one per send in flight).
 */
import type { HandlerContext } from "@connectrpc/connect";
import type { LimitsView, WindowPolicy } from "../../platform/limits/limits.js";

export interface RoomRateLimit {
  /** Messages one user may send to room chats per window. */
  readonly messages: number;
  readonly windowMs: number;
}

export class RoomChatLimits {
  private readonly perUser: WindowPolicy;
  private readonly slow = new Map<number, WindowPolicy>();

  constructor(
    private readonly limits: LimitsView,
    rate: RoomRateLimit,
  ) {
    this.perUser = limits.window("room_chat_rate", {
      limit: rate.messages,
      windowMs: rate.windowMs,
      refused: `too many messages: at most ${rate.messages} per ${seconds(rate.windowMs)} s in rooms`,
    });
  }

  /** Refuses (ResourceExhausted) a message the limits hold back; answers how to count it once sent. */
  async check(
    hctx: HandlerContext | undefined,
    conversationId: bigint,
    userId: bigint,
    slowModeMs: number,
    exemptFromSlowMode: boolean,
  ): Promise<() => Promise<void>> {
    const slow = exemptFromSlowMode || slowModeMs <= 0 ? undefined : this.slowMode(slowModeMs);
    const roomKey = `${conversationId}:${userId}`;
    const userKey = `user:${userId}`;
    await slow?.check(hctx, roomKey);
    await this.perUser.check(hctx, userKey);
    return async () => {
      await slow?.add(roomKey);
      await this.perUser.add(userKey);
    };
  }

  private slowMode(ms: number): WindowPolicy {
    let p = this.slow.get(ms);
    if (!p) {
      if (this.slow.size >= 1000) this.slow.clear(); // a policy is two closures: cheap to make again
      p = this.limits.window("room_slow_mode", {
        limit: 1,
        windowMs: ms,
        refused: `slow mode: one message per ${seconds(ms)} s in this room`,
      });
      this.slow.set(ms, p);
    }
    return p;
  }
}

const seconds = (ms: number) => (Math.ceil(ms / 100) / 10).toString();
