/**
 * A member leaving a room — by LeaveRoom, or gone from the room's channel
 * (their last connection to `room:<id>` closed) for longer than the away
 * grace — leaves all of it: the room's members (the host hands over), the
 * push channel `room:<id>` on every gateway (their connections get
 * Left{channel, "left the room"}), and the room's chat (a former member,
 * as one who leaves a group: ChatService.LeaveRoomChat).
 *
 * `RoomAway` is the second way: the job `live.rooms` calls `sweep()` every
 * second; a member who connected to the channel (`connected`, from the
 * channel's authorizer) and is then absent from it for `graceMs` leaves (a
 * reload or a short drop reconnects within the grace). A member who never
 * connected (an API client) is not swept.
 */
import type { Client } from "@connectrpc/connect";
import type { ChatService } from "../../gen/orbit/chat/v1/chat_pb.js";
import type { PushView } from "../../platform/kernel/parts/push.js";
import type { Logger } from "../../platform/log.js";
import { type LivePresence, roomChannel } from "./presence.js";
import type { Rooms } from "./rooms.js";

export const LEFT_REASON = "left the room";

export function roomLeaver(
  rooms: Rooms,
  push: Pick<PushView, "removeFromChannel">,
  chat: Pick<Client<typeof ChatService>, "leaveRoomChat">,
): (roomId: bigint, userId: bigint) => Promise<void> {
  return async (roomId, userId) => {
    const l = await rooms.get(roomId);
    await rooms.leave(roomId, userId);
    push.removeFromChannel(roomChannel(roomId), userId, LEFT_REASON);
    if (l.row.conversationId) await chat.leaveRoomChat({ conversationId: l.row.conversationId, userId });
  };
}

export class RoomAway {
  /** `${roomId}:${userId}` → when the member was last seen on the room's channel. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly rooms: Rooms,
    private readonly presence: LivePresence,
    private readonly leave: (roomId: bigint, userId: bigint) => Promise<void>,
    private readonly graceMs: number,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The member was allowed onto the room's channel (a connection joined it): from now on they are watched. */
  connected(roomId: bigint, userId: bigint): void {
    this.seen.set(`${roomId}:${userId}`, this.now());
  }

  async sweep(): Promise<void> {
    const now = this.now();
    const current = new Set<string>();
    for (const [roomId, members] of this.rooms.openRooms()) {
      const online = await this.presence.inRoom(roomId);
      for (const userId of members) {
        const key = `${roomId}:${userId}`;
        current.add(key);
        if (online.has(userId)) this.seen.set(key, now);
        else {
          const at = this.seen.get(key);
          if (at === undefined || now - at < this.graceMs) continue;
          this.seen.delete(key);
          await this.leave(roomId, userId).catch((err: unknown) =>
            this.log.warn({ err, roomId: String(roomId), userId: String(userId) }, "away member not removed"),
          );
        }
      }
    }
    for (const key of this.seen.keys()) if (!current.has(key)) this.seen.delete(key);
  }
}
