/**
 * live: streams published over RTMP (node-media-server) and watched as HLS
 * (ffmpeg remux) or HTTP-FLV on the bundle's port, with keys in the database.
 *
 * The ingest (RTMP listener, remuxes) runs as the job `live.ingest`, started
 * once the bundle is built (so `orbit services` and `Bundle.describe` open no
 * port) and stopped — every publisher cut, every ffmpeg ended — on shutdown.
 * CreateStream and RotateKey wait for it to listen (the ingest URL carries its port).
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rm } from "node:fs/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { StreamStateChangedSchema } from "../../gen/orbit/live/v1/events_pb.js";
import { ChatService } from "../../gen/orbit/chat/v1/chat_pb.js";
import { CommunityService, Role } from "../../gen/orbit/community/v1/community_pb.js";
import { GraphService } from "../../gen/orbit/graph/v1/graph_pb.js";
import { MediaService } from "../../gen/orbit/media/v1/media_pb.js";
import { LiveService } from "../../gen/orbit/live/v1/live_pb.js";
import { RoomService } from "../../gen/orbit/live/v1/room_pb.js";
import { RoomRowTable, StreamKeyRowTable, StreamRowTable } from "../../gen/orbit/live/v1/tables_db.js";
import { pause } from "../../platform/kernel/jobs.js";
import { defineService } from "../../platform/kernel/service.js";
import { liveHandlers } from "./handlers.js";
import { createLiveHandler, LIVE_PATH_PREFIX } from "./http.js";
import { LiveNode } from "./node.js";
import { LivePresence, roomChannel } from "./presence.js";
import { roomHandlers } from "./room-handlers.js";
import { RoomAway, roomLeaver } from "./room-leave.js";
import { Rooms } from "./rooms.js";
import { liveSettings } from "./settings.js";
import { streamPushConsumer } from "./stream-push.js";
import { createWatchHandler, WATCH_PATH_PREFIX } from "./watch/serve.js";
import { LiveStreams, type StreamUrls } from "./streams.js";
import { moderationConsumer } from "./hidden.js";
import { cutConsumer } from "./cuts.js";
import { sweepRecordings } from "./recorder.js";
import { expiredNodeIds } from "../../platform/node-lease.js";
import { handOffRecording } from "./recording-handoff.js";

const INGEST_WAIT_MS = 10_000;

export const live = defineService({
  name: "live",
  description: "live streams: RTMP ingest with stream keys, HLS and HTTP-FLV out, stream states",
  // chat: each room's chat is a conversation of the chat service (chat does not depend on live).
  // media: each stream's recording becomes the streamer's video (recording-handoff.ts).
  deps: ["community", "graph", "chat", "media"],
  api: [LiveService, RoomService],
  settings: liveSettings,
  tables: [StreamRowTable, StreamKeyRowTable, RoomRowTable],
  publishes: [StreamStateChangedSchema],
  build(ctx) {
    const s = ctx.settings;
    let node: LiveNode | undefined;
    let started: (n: LiveNode) => void = () => undefined;
    let nodeReady = new Promise<LiveNode>((r) => (started = r));

    const urls: StreamUrls = {
      publicUrl: s.publicUrl,
      async ingestUrl() {
        let timer: NodeJS.Timeout | undefined;
        const n = await Promise.race([
          nodeReady,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new ConnectError("the live ingest is not running", Code.Unavailable)),
              INGEST_WAIT_MS,
            );
          }),
        ]).finally(() => clearTimeout(timer));
        const host = s.publicRtmpHost || (s.rtmpHost === "0.0.0.0" || s.rtmpHost === "::" ? "localhost" : s.rtmpHost);
        return `rtmp://${host.includes(":") ? `[${host}]` : host}:${n.rtmpPort}/live`;
      },
    };
    const streams = new LiveStreams(ctx.db, ctx.events, ctx.ids, urls, s.keyTtlHours * 3_600_000, ctx.log);

    // State changes the ingest reports; awaited on shutdown before the store closes.
    const pending = new Set<Promise<unknown>>();
    const track = (p: Promise<unknown>) => {
      const q = p.catch((err: unknown) => ctx.log.error({ err }, "stream state change failed"));
      pending.add(q);
      void q.finally(() => pending.delete(q));
    };

    const communities = ctx.client(CommunityService);
    /** Streams and rooms may be attached to a community by its members only. */
    const mayUseCommunity = async (userId: bigint, communityId: bigint) => {
      const { membership } = await communities.getMembership({ communityId, userId });
      if (!membership || membership.banned || membership.role === Role.UNSPECIFIED)
        throw new ConnectError("community_id: only members of the community may do this", Code.PermissionDenied);
    };
    // Every room change goes to the room's members on "room:<id>" (RoomUpdate, push field 22).
    const presence = new LivePresence(ctx.push);
    const rooms = new Rooms(ctx.db, ctx.ids, (update) =>
      ctx.push
        .ephemeral(roomChannel(update.roomId), { case: "room", value: update })
        .catch((err: unknown) => ctx.log.warn({ err, roomId: String(update.roomId) }, "room update not pushed")),
    );
    const chat = ctx.client(ChatService);
    const leave = roomLeaver(rooms, ctx.push, chat);
    const away = new RoomAway(rooms, presence, leave, s.roomAwayMs, ctx.log);
    presence.authorize(
      async (roomId, userId) => {
        const member = await rooms.isMember(roomId, userId);
        if (member) away.connected(BigInt(roomId), userId);
        return member;
      },
      (streamId) =>
        streams.get(streamId).then(
          () => true,
          () => false,
        ),
    );
    const viewers = (streamId: bigint) => presence.streamViewers(streamId, rooms.roomsOfStream(streamId));

    const media = ctx.client(MediaService);
    const recordDir = s.recordDir || join(tmpdir(), "orbit-live-recordings");
    /** The stream ended (for good or by RotateKey): its state, then its recording to media. */
    const ended = async (streamId: bigint, reason: string, recording: string | undefined) => {
      await streams.markEnded(streamId, reason);
      if (!recording) return;
      const row = await streams.get(streamId).catch(() => undefined);
      if (!row) return void (await rm(recording, { force: true }));
      await handOffRecording({
        file: recording,
        streamId,
        ownerId: row.ownerId,
        media,
        accepted: (mediaId) => streams.setRecording(streamId, mediaId),
        log: ctx.log,
      });
    };

    const serveLive = createLiveHandler({
      hlsDir: (id) => node?.hlsDir(id),
      flvUpstreamUrl: (id) => node?.flvUpstreamUrl(id),
    });

    return {
      rpc: [
        liveHandlers({ streams, urls, node: () => node, mayUseCommunity, viewers }),
        roomHandlers({ rooms, streams, mayUseCommunity, presence, chat, media, leave }),
      ],
      consumers: [
        streamPushConsumer({ streams, graph: ctx.client(GraphService), communities, push: ctx.push, log: ctx.log }),
        // Streams a moderator hid are ended.
        moderationConsumer(streams, () => node),
        // A stream ended or its key rotated through another bundle: its publisher here is cut.
        cutConsumer(ctx.ids.nodeId, () => node),
      ],
      routes: [
        { path: `${LIVE_PATH_PREFIX}*`, handle: (req, res) => serveLive(req, res) },
        // The watch page (/watch/<room>) and its script.
        { path: `${WATCH_PATH_PREFIX}*`, handle: createWatchHandler() },
      ],
      jobs: [
        {
          // The buffering grace of rooms with buffering members (a room waits 3 s for a member);
          // every second, members gone from their room's channel for the away grace leave it.
          name: "live.rooms",
          async run(signal) {
            let sweptAt = 0;
            while (!signal.aborted) {
              rooms.tick();
              if (Date.now() - sweptAt >= 1000) {
                sweptAt = Date.now();
                await away.sweep().catch((err: unknown) => ctx.log.warn({ err }, "room away sweep failed"));
              }
              await new Promise((r) => setTimeout(r, 250));
            }
          },
        },
        {
          // Streams left live by a node that died (its node-id lease ended) are ended: node-lost.
          name: "live.lost",
          async run(signal) {
            const startedAt = Date.now();
            while (!signal.aborted) {
              try {
                const ended = await streams.sweepLost(ctx.ids.nodeId, startedAt, (ids) => expiredNodeIds(ctx.db, ids));
                if (ended.length) ctx.log.warn({ streams: ended.map(String) }, "streams of a lost node ended");
              } catch (err) {
                if (!signal.aborted) ctx.log.warn({ err }, "lost-stream sweep failed");
              }
              await pause(s.lostSweepSeconds * 1000, signal);
            }
          },
        },
        {
          name: "live.ingest",
          async run(signal) {
            // Recordings of a process that died (crash, kill -9) are never handed on: deleted on boot.
            const swept = await sweepRecordings(recordDir);
            if (swept.length) ctx.log.info({ files: swept }, "stale recordings deleted");
            const n = await LiveNode.start({
              rtmpPort: s.rtmpPort,
              rtmpHost: s.rtmpHost,
              authorize: streams.authorize,
              hlsRoot: s.hlsDir || join(tmpdir(), `orbit-live-${process.pid}`),
              limits: {
                maxStreams: s.maxStreams,
                maxBitrateKbps: s.maxBitrateKbps,
                maxHeight: s.maxHeight,
                maxWidth: Math.round((s.maxHeight * 16) / 9),
                silenceTimeoutMs: s.silenceTimeoutMs,
              },
              record: s.record
                ? { dir: recordDir, maxSeconds: s.recordMaxSeconds, maxBytes: s.recordMaxMb * 1024 * 1024 }
                : undefined,
              log: ctx.log,
            });
            n.on("live", (e) => track(streams.markLive(BigInt(e.streamId), ctx.ids.nodeId)));
            n.on("ended", (e) => track(ended(BigInt(e.streamId), e.reason, e.recording)));
            node = n;
            started(n);
            try {
              await new Promise<void>((resolve) => {
                if (signal.aborted) return resolve();
                signal.addEventListener("abort", () => resolve(), { once: true });
              });
            } finally {
              node = undefined;
              nodeReady = new Promise<LiveNode>((r) => (started = r));
              await n.stop();
              await Promise.all(pending);
            }
          },
        },
      ],
    };
  },
});
