/**
 * Rooms and streams through the push gateway, over real /ws sockets, on
 * SQLite and MariaDB (one bundle: live + push, and what live depends on; real
 * users signed up through the user service):
 *  - a member joined to "room:<id>" receives RoomUpdate after the host's SEEK,
 *    and when the host leaves (the room is handed over); a non-member cannot
 *    join the channel;
 *  - presence: GetRoomState lists two members online, then one after the
 *    other's socket closes (viewer_count 2 → 1); a stream's viewer count;
 *  - StreamUpdate reaches a follower's and a community member's devices for
 *    scheduled → live (a real ffmpeg publisher) → ended (EndStream), once per
 *    state even for a user who is both; a stranger gets none.
 * Every wait is on a condition.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommunityService } from "../../gen/orbit/community/v1/community_pb.js";
import { LiveService, StreamState } from "../../gen/orbit/live/v1/live_pb.js";
import { ControlAction, RoomService } from "../../gen/orbit/live/v1/room_pb.js";
import { PushService } from "../../gen/orbit/push/v1/push_pb.js";
import { ChatService } from "../../gen/orbit/chat/v1/chat_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { type FfmpegProcess, runningFfmpegPids } from "../../platform/ffmpeg/process.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { silentLogger } from "../../platform/log.js";
import { PushClient } from "../../test/support/push-client.js";
import { type Member, signUp } from "../../test/support/social-client.js";
import { waitForValue as waitFor } from "../../test/support/wait.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { registry } from "../registry.js";
import { startPublisher } from "./testing/publisher.js";

interface Api {
  member: Member;
  live: Client<typeof LiveService>;
  rooms: Client<typeof RoomService>;
  communities: Client<typeof CommunityService>;
  push: Client<typeof PushService>;
  chat: Client<typeof ChatService>;
}

for (const engine of ENGINES) {
  describe(`live through the push gateway (${engine.name})`, () => {
    let store: TestStore;
    let bundle: Bundle;
    let dir: string;
    const u = {} as Record<"ann" | "bob" | "cat" | "dan", Api>;
    const sockets: PushClient[] = [];
    const publishers: FfmpegProcess[] = [];

    async function socket(who: Api, channels: string[] = []): Promise<PushClient> {
      const c = await PushClient.connect(bundle.url!, { token: who.member.token });
      sockets.push(c);
      await waitFor(async () => c.of("hello").length === 1, "hello");
      for (const channel of channels) c.send({ frame: { case: "join", value: { channel } } });
      return c;
    }
    const joined = (c: PushClient, channel: string) =>
      waitFor(async () => c.of("joined").some((j) => j.channel === channel), `joined ${channel}`);

    beforeAll(async () => {
      store = await engine.open();
      dir = await mkdtemp(join(tmpdir(), "live17-push-"));
      bundle = await Bundle.start({
        registry,
        config: {
          ...DEFAULT_CONFIG,
          services: ["live", "push"],
          host: "127.0.0.1",
          port: 0,
          // A member gone from the room's channel for 3 s leaves it.
          settings: { live: { rtmpPort: 0, hlsDir: join(dir, "hls"), roomAwayMs: 3000, record: false } },
        },
        db: store.db,
        log: silentLogger(),
      });
      for (const handle of ["ann", "bob", "cat", "dan"] as const) {
        const member = await signUp(bundle.url!, `${handle}${engine.name}`);
        const t = createConnectTransport({
          baseUrl: bundle.url!,
          httpVersion: "1.1",
          interceptors: [
            (next) => (req) => {
              req.header.set("authorization", `Bearer ${member.token}`);
              return next(req);
            },
          ],
        });
        u[handle] = {
          member,
          live: createClient(LiveService, t),
          rooms: createClient(RoomService, t),
          communities: createClient(CommunityService, t),
          push: createClient(PushService, t),
          chat: createClient(ChatService, t),
        };
      }
    });

    afterAll(async () => {
      for (const c of sockets) await c.close();
      for (const p of publishers) p.killNow();
      await Promise.all(publishers.map((p) => p.exited));
      await bundle?.stop();
      expect(runningFfmpegPids()).toEqual([]);
      await store?.dispose();
      await rm(dir, { recursive: true, force: true });
    });

    it("pushes the room's changes to its members only; presence follows their sockets", async () => {
      const { ann, bob, cat } = u;
      const annId = ann.member.user.id;
      const bobId = bob.member.user.id;
      const room = (await ann.rooms.createRoom({ mediaUrl: "/v.m3u8", durationMs: 600_000n })).room!;
      const channel = `room:${room.id}`;

      // A non-member is refused the channel; after JoinRoom, bob may join it.
      const catWs = await socket(cat, [channel]);
      const refused = await waitFor(async () => catWs.of("left").find((l) => l.channel === channel), "cat refused");
      expect(refused.reason).toBe("not allowed");
      await bob.rooms.joinRoom({ roomId: room.id });
      const annWs = await socket(ann, [channel]);
      const bobWs = await socket(bob, [channel]);
      await joined(annWs, channel);
      await joined(bobWs, channel);

      const both = await ann.rooms.getRoomState({ roomId: room.id });
      expect(both.members.map((m) => [m.userId, m.online]).sort()).toEqual(
        [
          [annId, true],
          [bobId, true],
        ].sort(),
      );
      expect(both.viewerCount).toBe(2);
      expect(both.hostId).toBe(annId);

      // The host seeks: bob's device gets the room's new clock.
      const seeked = (await ann.rooms.control({ roomId: room.id, action: ControlAction.SEEK, positionMs: 60_000n }))
        .state!;
      const update = await waitFor(
        async () => bobWs.of("room").find((r) => r.state?.seq === seeked.seq),
        "bob's RoomUpdate after the seek",
      );
      expect(update).toMatchObject({ roomId: room.id, hostId: annId });
      expect(update.state).toMatchObject({ positionMs: 60_000n, playing: false, roomId: room.id });
      const played = (await ann.rooms.control({ roomId: room.id, action: ControlAction.PLAY })).state!;
      await waitFor(async () => bobWs.of("room").find((r) => r.state?.seq === played.seq && r.state.playing), "play");
      expect(catWs.of("room")).toEqual([]);

      // bob's socket closes: ann sees him go, and the room counts one viewer.
      await bobWs.close();
      await waitFor(
        async () => annWs.of("presence").find((p) => p.channel === channel && p.userId === bobId && !p.online),
        "bob's presence gone",
      );
      const one = await ann.rooms.getRoomState({ roomId: room.id });
      expect(one.members.map((m) => [m.userId, m.online]).sort()).toEqual(
        [
          [annId, true],
          [bobId, false],
        ].sort(),
      );
      expect(one.viewerCount).toBe(1);
      expect((await ann.push.getPresence({ channel })).members.map((m) => m.userId)).toEqual([annId]);

      // The host leaves: bob (still a member) hosts, and his new socket is told.
      const bobWs2 = await socket(bob, [channel]);
      await joined(bobWs2, channel);
      await ann.rooms.leaveRoom({ roomId: room.id });
      const handed = await waitFor(async () => bobWs2.of("room").find((r) => r.hostId === bobId), "host handed over");
      expect(handed.state!.members.map((m) => m.userId)).toEqual([bobId]);
      expect((await bob.rooms.getRoomState({ roomId: room.id })).hostId).toBe(bobId);
      expect((await bob.rooms.control({ roomId: room.id, action: ControlAction.PAUSE })).state!.playing).toBe(false);
    });

    it("a member who leaves (LeaveRoom, or gone from the channel for the away grace) leaves its channel and chat", async () => {
      const { ann, cat, dan } = u;
      const danId = dan.member.user.id;
      const catId = cat.member.user.id;
      const room = (await ann.rooms.createRoom({ mediaUrl: "/v.m3u8" })).room!;
      const channel = `room:${room.id}`;
      const conversationId = room.conversationId;
      await dan.rooms.joinRoom({ roomId: room.id });
      await cat.rooms.joinRoom({ roomId: room.id });
      const annWs = await socket(ann, [channel]);
      const danWs = await socket(dan, [channel]);
      await joined(annWs, channel);
      await joined(danWs, channel);
      await dan.chat.sendMessage({ conversationId, text: "hi", clientMessageId: "d1" });

      // LeaveRoom: dan's socket is taken out of the channel (Left), ann sees him go, and he is a
      // former member of the room's chat.
      await dan.rooms.leaveRoom({ roomId: room.id });
      const left = await waitFor(async () => danWs.of("left").find((l) => l.channel === channel), "dan's Left");
      expect(left.reason).toBe("left the room");
      await waitFor(
        async () => annWs.of("presence").find((p) => p.channel === channel && p.userId === danId && !p.online),
        "dan's presence gone",
      );
      expect((await ann.push.getPresence({ channel })).members.map((m) => m.userId)).toEqual([ann.member.user.id]);
      expect(
        await dan.chat.sendMessage({ conversationId, text: "still here?", clientMessageId: "d2" }).then(
          () => "ok",
          (e: unknown) => ConnectError.from(e).code,
        ),
      ).toBe(Code.PermissionDenied);
      // Not a member any more: joining the channel again is refused.
      danWs.send({ frame: { case: "join", value: { channel } } });
      await waitFor(async () => danWs.of("left").filter((l) => l.channel === channel).length === 2, "refused");
      expect(danWs.of("left").at(-1)!.reason).toBe("not allowed");

      // cat's only socket closes: after the away grace (3 s here) cat leaves the room and its chat.
      const catWs = await socket(cat, [channel]);
      await joined(catWs, channel);
      await cat.chat.sendMessage({ conversationId, text: "hello", clientMessageId: "c1" });
      await catWs.close();
      const state = await waitFor(async () => {
        const s = await ann.rooms.getRoomState({ roomId: room.id });
        return s.members.some((m) => m.userId === catId) ? undefined : s;
      }, "cat gone from the room");
      expect(state.members.map((m) => m.userId)).toEqual([ann.member.user.id]);
      await waitFor(
        async () =>
          (await cat.chat.sendMessage({ conversationId, text: "back?", clientMessageId: "c2" }).then(
            () => "ok",
            (e: unknown) => ConnectError.from(e).code,
          )) === Code.PermissionDenied,
        "cat a former member of the chat",
      );
    });

    it("pushes a stream's states to followers and community members; counts its viewers", async () => {
      const { ann, bob, cat, dan } = u;
      const annId = ann.member.user.id;
      // bob follows ann and is in the community; dan is only in the community; cat is neither.
      await bob.member.api.graph.follow({ userId: annId });
      const series = (await ann.communities.listSeries({ pageSize: 1 })).series[0]!;
      const community = (await ann.communities.getCommunity({ ref: { case: "seriesId", value: series.id } }))
        .community!;
      for (const who of [ann, bob, dan]) await who.communities.join({ communityId: community.id });

      const [bobWs, catWs, danWs, annWs] = await Promise.all([socket(bob), socket(cat), socket(dan), socket(ann)]);
      const created = await ann.live.createStream({ title: "Episode 4 live", communityId: community.id });
      const id = created.stream!.id;
      const statesOf = (c: PushClient) =>
        c
          .of("stream")
          .filter((s) => s.stream?.id === id)
          .map((s) => s.stream!.state);
      for (const c of [bobWs, danWs, annWs])
        await waitFor(async () => statesOf(c).includes(StreamState.SCHEDULED), "scheduled pushed");

      const pub = startPublisher({ url: `${created.ingestUrl}/${created.streamKey}` });
      publishers.push(pub);
      for (const c of [bobWs, danWs]) await waitFor(async () => statesOf(c).includes(StreamState.LIVE), "live pushed");
      const live = bobWs.of("stream").find((s) => s.stream?.state === StreamState.LIVE)!.stream!;
      expect(live).toMatchObject({ id, ownerId: annId, communityId: community.id, hlsUrl: `/live/${id}/index.m3u8` });
      expect(bobWs.updates.find((x) => x.payload.case === "stream")!.sequence).toBeGreaterThan(0n);

      // Viewers: dan on the stream's channel, bob in a room playing it.
      const room = (await bob.rooms.createRoom({ source: { case: "streamId", value: id } })).room!;
      danWs.send({ frame: { case: "join", value: { channel: `stream:${id}` } } });
      bobWs.send({ frame: { case: "join", value: { channel: `room:${room.id}` } } });
      await joined(danWs, `stream:${id}`);
      await joined(bobWs, `room:${room.id}`);
      expect((await cat.live.getStream({ streamId: id })).stream!.viewerCount).toBe(2);
      expect((await cat.live.listLiveStreams({ communityId: community.id })).streams[0]!.viewerCount).toBe(2);

      await ann.live.endStream({ streamId: id });
      for (const c of [bobWs, danWs, annWs])
        await waitFor(async () => statesOf(c).includes(StreamState.ENDED), "ended pushed");
      // Once per state, in order, for the follower who is also a member; nothing for a stranger.
      expect(statesOf(bobWs)).toEqual([StreamState.SCHEDULED, StreamState.LIVE, StreamState.ENDED]);
      expect(statesOf(danWs)).toEqual([StreamState.SCHEDULED, StreamState.LIVE, StreamState.ENDED]);
      const ended = danWs.of("stream").at(-1)!.stream!;
      expect(ended).toMatchObject({ state: StreamState.ENDED, endReason: "ended" });
      expect(catWs.of("stream")).toEqual([]);
      await pub.exited;
    });
  });
}
