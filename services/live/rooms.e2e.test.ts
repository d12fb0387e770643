/**
 * The RoomService in a bundle (SQLite): rooms on a stored video (its HLS URL)
 * and on a live stream, host-only controls (or anyone's, when the room
 * allows), the room's clock across PLAY/SEEK/PAUSE/RATE, members, buffering
 * that pauses the room only after the 3 s grace (waited on as a condition),
 * community rooms for members only, bad input.
 */
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommunityService } from "../../gen/orbit/community/v1/community_pb.js";
import { LiveService } from "../../gen/orbit/live/v1/live_pb.js";
import { ControlAction, RoomService } from "../../gen/orbit/live/v1/room_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { silentLogger } from "../../platform/log.js";
import { staticTokens } from "../../platform/rpc/identity.js";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { registry } from "../registry.js";
import { positionAt } from "./sync/room-clock.js";

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

let store: TestStore;
let bundle: Bundle;
const rooms = {} as Record<"ann" | "bob" | "cat" | "anon", Client<typeof RoomService>>;
let live: Client<typeof LiveService>;
let admin: Client<typeof CommunityService>;

beforeAll(async () => {
  store = sqliteStore();
  bundle = await Bundle.start({
    registry,
    config: {
      ...DEFAULT_CONFIG,
      services: ["live"],
      host: "127.0.0.1",
      port: 0,
      settings: { live: { rtmpPort: 0 }, community: { admins: "9" } },
    },
    tokenVerifier: staticTokens({ ann: "1", bob: "2", cat: "3", root: "9" }),
    db: store.db,
    log: silentLogger(),
  });
  const t = (token?: string) =>
    createConnectTransport({
      baseUrl: bundle.url!,
      httpVersion: "1.1",
      interceptors: token
        ? [
            (next) => (req) => {
              req.header.set("authorization", `Bearer ${token}`);
              return next(req);
            },
          ]
        : [],
    });
  for (const n of ["ann", "bob", "cat"] as const) rooms[n] = createClient(RoomService, t(n));
  rooms.anon = createClient(RoomService, t());
  live = createClient(LiveService, t("ann"));
  admin = createClient(CommunityService, t("root"));
});

afterAll(async () => {
  await bundle?.stop();
  await store?.dispose();
});

describe("RoomService", () => {
  it("keeps the room's clock; only the host controls unless the room allows anyone", async () => {
    const { room } = await rooms.ann.createRoom({
      source: { case: "mediaId", value: 77n },
      mediaUrl: "/media/77/index.m3u8",
      title: "Episode 3",
      durationMs: 1_440_000n,
    });
    expect(room).toMatchObject({ hostId: 1n, mediaId: 77n, mediaUrl: "/media/77/index.m3u8", durationMs: 1_440_000n });
    const joined = await rooms.bob.joinRoom({ roomId: room!.id });
    expect(joined.state!.members.map((m) => m.userId).sort()).toEqual([1n, 2n]);
    expect(joined.state!.playing).toBe(false);

    expect(await codeOf(rooms.bob.control({ roomId: room!.id, action: ControlAction.PLAY }))).toBe(
      Code.PermissionDenied,
    );
    expect(await codeOf(rooms.anon.control({ roomId: room!.id, action: ControlAction.PLAY }))).toBe(
      Code.Unauthenticated,
    );
    const played = (await rooms.ann.control({ roomId: room!.id, action: ControlAction.PLAY, positionMs: 5000n }))
      .state!;
    expect(played).toMatchObject({ playing: true, positionMs: 5000n, rate: 1 });
    const seeked = (await rooms.ann.control({ roomId: room!.id, action: ControlAction.SEEK, positionMs: 60_000n }))
      .state!;
    expect(seeked.seq).toBeGreaterThan(played.seq);
    expect(seeked).toMatchObject({ playing: true, positionMs: 60_000n });
    const st = await rooms.bob.getRoomState({ roomId: room!.id });
    const now = Number(st.serverTimeMs);
    const pos = positionAt(
      {
        playing: st.playing,
        positionMs: Number(st.positionMs),
        atServerTimeMs: Number(st.atServerTimeMs),
        rate: st.rate,
        seq: 0,
      },
      now,
    );
    expect(pos).toBeGreaterThanOrEqual(60_000);
    expect(pos).toBeLessThan(60_000 + (now - Number(seeked.atServerTimeMs)) + 1);

    await rooms.ann.control({ roomId: room!.id, action: ControlAction.RATE, rate: 1.5 });
    expect(await codeOf(rooms.ann.control({ roomId: room!.id, action: ControlAction.RATE, rate: 3 }))).toBe(
      Code.InvalidArgument,
    );
    expect(await codeOf(rooms.ann.control({ roomId: room!.id, action: ControlAction.SEEK }))).toBe(
      Code.InvalidArgument,
    );
    expect(await codeOf(rooms.ann.control({ roomId: room!.id, action: ControlAction.UNSPECIFIED }))).toBe(
      Code.InvalidArgument,
    );
    const paused = (await rooms.ann.control({ roomId: room!.id, action: ControlAction.PAUSE, positionMs: 90_000n }))
      .state!;
    expect(paused).toMatchObject({ playing: false, positionMs: 90_000n, rate: 1.5 });
    // Clamped to the duration.
    const end = (await rooms.ann.control({ roomId: room!.id, action: ControlAction.SEEK, positionMs: 9_999_999n }))
      .state!;
    expect(end.positionMs).toBe(1_440_000n);

    await rooms.bob.leaveRoom({ roomId: room!.id });
    expect((await rooms.ann.getRoomState({ roomId: room!.id })).members.map((m) => m.userId)).toEqual([1n]);

    const open = (await rooms.ann.createRoom({ mediaUrl: "https://cdn.example/v.m3u8", anyoneControls: true })).room!;
    expect(await codeOf(rooms.bob.control({ roomId: open.id, action: ControlAction.PLAY }))).toBe(
      Code.PermissionDenied,
    );
    await rooms.bob.joinRoom({ roomId: open.id });
    expect((await rooms.bob.control({ roomId: open.id, action: ControlAction.PLAY })).state!.playing).toBe(true);
  });

  it("pauses for a buffering member only after the grace, and resumes when it is done", async () => {
    const { room } = await rooms.ann.createRoom({ mediaUrl: "/v.m3u8" });
    await rooms.bob.joinRoom({ roomId: room!.id });
    await rooms.ann.control({ roomId: room!.id, action: ControlAction.PLAY, positionMs: 0n });
    const t0 = Date.now();
    const reported = (await rooms.bob.reportBuffering({ roomId: room!.id, buffering: true })).state!;
    expect(reported.playing).toBe(true); // not at once
    let st = await rooms.ann.getRoomState({ roomId: room!.id });
    while (st.playing) {
      await new Promise((r) => setTimeout(r, 100));
      st = await rooms.ann.getRoomState({ roomId: room!.id });
    }
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3000);
    expect(st.pausedFor).toBe("buffering");
    expect(st.members.find((m) => m.userId === 2n)?.buffering).toBe(true);
    const resumed = (await rooms.bob.reportBuffering({ roomId: room!.id, buffering: false })).state!;
    expect(resumed).toMatchObject({ playing: true, pausedFor: "" });
    expect(await codeOf(rooms.cat.reportBuffering({ roomId: room!.id, buffering: true }))).toBe(
      Code.FailedPrecondition,
    );
  });

  it("opens rooms on live streams and in communities (members only); refuses bad input", async () => {
    const s = (await live.createStream({ title: "live ep" })).stream!;
    const { room } = await rooms.ann.createRoom({ source: { case: "streamId", value: s.id } });
    expect(room).toMatchObject({ streamId: s.id, mediaUrl: s.hlsUrl, title: "live ep" });
    expect(await codeOf(rooms.ann.createRoom({ source: { case: "streamId", value: 12345n } }))).toBe(Code.NotFound);
    expect(await codeOf(rooms.ann.createRoom({}))).toBe(Code.InvalidArgument);
    expect(await codeOf(rooms.ann.createRoom({ mediaUrl: "javascript:alert(1)" }))).toBe(Code.InvalidArgument);
    expect(await codeOf(rooms.ann.joinRoom({ roomId: 999n }))).toBe(Code.NotFound);

    const c = (await admin.createSeries({ title: "Room Show", ownerId: 1n })).community!;
    expect(await codeOf(rooms.bob.createRoom({ mediaUrl: "/v.m3u8", communityId: c.id }))).toBe(Code.PermissionDenied);
    expect(await codeOf(live.createStream({ title: "x", communityId: 424242n }))).toBe(Code.NotFound);
    const r = (await rooms.ann.createRoom({ mediaUrl: "/v.m3u8", communityId: c.id })).room!;
    expect(r.communityId).toBe(c.id);
    expect((await rooms.anon.ping({})).serverTimeMs).toBeGreaterThan(0n);
  });
});
