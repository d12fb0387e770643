/** The RoomService handlers. */
import { type Client, Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { ChatService } from "../../gen/orbit/chat/v1/chat_pb.js";
import { StreamState } from "../../gen/orbit/live/v1/live_pb.js";
import { MediaState, type MediaService } from "../../gen/orbit/media/v1/media_pb.js";
import type { RoomService } from "../../gen/orbit/live/v1/room_pb.js";
import { requireUser } from "../../platform/rpc/call-scope.js";
import type { LivePresence } from "./presence.js";
import type { Rooms } from "./rooms.js";
import type { LiveStreams } from "./streams.js";

export interface RoomHandlerDeps {
  readonly rooms: Rooms;
  readonly streams: LiveStreams;
  readonly mayUseCommunity: (userId: bigint, communityId: bigint) => Promise<void>;
  /** Who is connected to a room's push channel (members' `online`, `viewer_count`). */
  readonly presence?: LivePresence;
  /** The chat service (room chat: a conversation of kind ROOM per room). */
  readonly chat: Pick<Client<typeof ChatService>, "createRoomChat" | "joinRoomChat">;
  /** A member leaves: the room, its channel and its chat (room-leave.ts). */
  readonly leave: (roomId: bigint, userId: bigint) => Promise<void>;
  /** The media service: a stored video's HLS URL and duration (CreateRoom{media_id} without media_url). */
  readonly media?: Pick<Client<typeof MediaService>, "getMedia">;
}

const URL_RE = /^(https?:\/\/[^\s]+|\/[^\s]*)$/;

export function roomHandlers(d: RoomHandlerDeps): ServiceImpl<typeof RoomService> {
  const { rooms } = d;
  return {
    async createRoom(req, hctx) {
      const me = BigInt(requireUser(hctx).userId);
      if (req.communityId) await d.mayUseCommunity(me, req.communityId);
      let mediaUrl = req.mediaUrl.trim();
      let streamId = 0n;
      let mediaId = 0n;
      let title = req.title.trim();
      let durationMs = req.durationMs;
      if (req.source.case === "streamId") {
        const s = await d.streams.get(req.source.value);
        if (s.state === StreamState.ENDED)
          throw new ConnectError("stream_id: the stream has ended", Code.FailedPrecondition);
        streamId = s.id;
        mediaUrl = d.streams.toApi(s).hlsUrl;
        title ||= s.title;
      } else if (req.source.case === "mediaId") {
        // A stored video of the media service (a stream's recording, an upload): its HLS, once READY.
        // A media_url given beside it is kept (a CDN's copy).
        mediaId = req.source.value;
        if (!mediaUrl) {
          if (!d.media) throw new ConnectError("media_url: required for a stored video here", Code.InvalidArgument);
          const m = (await d.media.getMedia({ mediaId })).media!;
          if (m.state !== MediaState.READY)
            throw new ConnectError(`media_id: the video is ${MediaState[m.state]}, not READY`, Code.FailedPrecondition);
          if (!m.hlsUrl) throw new ConnectError("media_id: not a video", Code.InvalidArgument);
          mediaUrl = m.hlsUrl;
          durationMs ||= m.durationMs;
        }
      } else if (!mediaUrl) {
        throw new ConnectError("stream_id, media_id or media_url is required", Code.InvalidArgument);
      }
      if (!URL_RE.test(mediaUrl))
        throw new ConnectError("media_url: must be an http(s) URL or a path on this server", Code.InvalidArgument);
      // The room's chat first: a room is never stored without one.
      const { conversationId } = await d.chat.createRoomChat({
        ownerId: me,
        title: title.slice(0, 100),
        slowModeMs: req.slowModeMs,
      });
      const room = await rooms.create({
        hostId: me,
        streamId,
        mediaId,
        communityId: req.communityId,
        title,
        mediaUrl,
        anyoneControls: req.anyoneControls,
        durationMs,
        conversationId,
        slowModeMs: req.slowModeMs,
      });
      return { room };
    },

    async joinRoom(req, hctx) {
      const me = BigInt(requireUser(hctx).userId);
      const l = await rooms.join(req.roomId, me);
      // The member joins the room's chat too (created here for a room that has none yet).
      const conversationId = await rooms.chatOf(l, async () => {
        const r = await d.chat.createRoomChat({
          ownerId: l.row.hostId,
          title: l.row.title.slice(0, 100),
          slowModeMs: l.row.slowModeMs,
        });
        return r.conversationId;
      });
      await d.chat.joinRoomChat({ conversationId, userId: me });
      return { room: rooms.room(l), state: rooms.state(l), serverTimeMs: BigInt(Date.now()) };
    },

    async leaveRoom(req, hctx) {
      await d.leave(req.roomId, BigInt(requireUser(hctx).userId));
      return {};
    },

    async control(req, hctx) {
      const me = BigInt(requireUser(hctx).userId);
      return { state: await rooms.control(req.roomId, me, req.action, req.positionMs, req.rate) };
    },

    async getRoomState(req) {
      const l = await rooms.get(req.roomId);
      const s = rooms.state(l);
      const online = d.presence ? await d.presence.inRoom(l.row.id) : new Set<bigint>();
      for (const m of s.members) m.online = online.has(m.userId);
      return {
        playing: s.playing,
        positionMs: s.positionMs,
        atServerTimeMs: s.atServerTimeMs,
        rate: s.rate,
        members: s.members,
        seq: s.seq,
        pausedFor: s.pausedFor,
        serverTimeMs: BigInt(Date.now()),
        viewerCount: s.members.filter((m) => m.online).length,
        hostId: l.row.hostId,
        conversationId: l.row.conversationId,
      };
    },

    async reportBuffering(req, hctx) {
      const me = BigInt(requireUser(hctx).userId);
      return { state: await rooms.buffering(req.roomId, me, req.buffering) };
    },

    async ping() {
      return { serverTimeMs: BigInt(Date.now()) };
    },
  };
}
