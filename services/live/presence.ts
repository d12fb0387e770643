/**
 * Rooms and streams on the push gateway: their ephemeral channels, who may
 * join them, and who is there (presence).
 *
 *   room:<roomId>     RoomUpdate (push field 22) on every change of the room;
 *                     members of the room only (JoinRoom first).
 *   stream:<streamId> presence only (a viewer watching a stream outside a room);
 *                     any signed-in user, while the stream exists.
 *
 * A stream's viewer count is the number of distinct users present on its
 * stream channel and on the channels of the rooms open on it (in this bundle:
 * a room's clock lives in the bundle serving the live service).
 */
import type { PushView } from "../../platform/kernel/parts/push.js";

export const ROOM_PREFIX = "room";
export const STREAM_PREFIX = "stream";

export const roomChannel = (roomId: bigint) => `${ROOM_PREFIX}:${roomId}`;
export const streamChannel = (streamId: bigint) => `${STREAM_PREFIX}:${streamId}`;

const ID_RE = /^\d{1,19}$/;

export class LivePresence {
  constructor(private readonly push: PushView) {}

  /**
   * Registers who may join room and stream channels (one service per prefix).
   * `isMember(roomId, userId)`: the room's members; `streamExists(streamId)`.
   */
  authorize(
    isMember: (roomId: string, userId: bigint) => Promise<boolean>,
    streamExists: (streamId: bigint) => Promise<boolean>,
  ): void {
    // The authorizer is handed the whole channel name ("room:12").
    const idOf = (channel: string, prefix: string) => channel.slice(prefix.length + 1);
    this.push.authorizeChannels(ROOM_PREFIX, (userId, channel) => isMember(idOf(channel, ROOM_PREFIX), userId));
    this.push.authorizeChannels(STREAM_PREFIX, async (_userId, channel) => {
      const id = idOf(channel, STREAM_PREFIX);
      return ID_RE.test(id) && streamExists(BigInt(id));
    });
  }

  /** The users connected to the room's channel now. */
  async inRoom(roomId: bigint): Promise<Set<bigint>> {
    return new Set((await this.push.presence(roomChannel(roomId))).map((m) => m.userId));
  }

  /** Distinct users on the stream's channel and on the channels of `roomIds` (the rooms playing it). */
  async streamViewers(streamId: bigint, roomIds: readonly bigint[]): Promise<number> {
    const lists = await Promise.all([
      this.push.presence(streamChannel(streamId)),
      ...roomIds.map((id) => this.push.presence(roomChannel(id))),
    ]);
    return new Set(lists.flat().map((m) => m.userId)).size;
  }
}
