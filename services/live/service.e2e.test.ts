/**
 * The LiveService in a bundle (SQLite, then MariaDB), with real RTMP
 * publishing by ffmpeg: keys from CreateStream authorize, stream states follow
 * the ingest (scheduled → live → ended), owner-only EndStream and RotateKey,
 * a rotated, ended or unknown key is refused, a publisher over the bitrate cap
 * is ended. Every wait is on a condition.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommunityService } from "../../gen/orbit/community/v1/community_pb.js";
import { StreamStateChangedSchema } from "../../gen/orbit/live/v1/events_pb.js";
import { LiveService, StreamState } from "../../gen/orbit/live/v1/live_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { type FfmpegProcess, runningFfmpegPids } from "../../platform/ffmpeg/process.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { silentLogger } from "../../platform/log.js";
import { staticTokens } from "../../platform/rpc/identity.js";
import { waitForValue as waitFor } from "../../test/support/wait.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { registry } from "../registry.js";
import { startPublisher } from "./testing/publisher.js";

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

for (const engine of ENGINES) {
  describe(`LiveService (${engine.name})`, () => {
    let store: TestStore;
    let bundle: Bundle;
    let dir: string;
    let ann: Client<typeof LiveService>;
    let bob: Client<typeof LiveService>;
    let anon: Client<typeof LiveService>;
    let communities: Client<typeof CommunityService>;
    const publishers: FfmpegProcess[] = [];

    const client = (token?: string) =>
      createClient(
        LiveService,
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
        }),
      );

    function publish(ingestUrl: string, key: string, opts: { videoKbps?: number; cbr?: boolean } = {}) {
      const p = startPublisher({ url: `${ingestUrl}/${key}`, ...opts });
      publishers.push(p);
      return p;
    }

    const stateOf = async (id: bigint) => (await anon.getStream({ streamId: id })).stream!;
    const reaches = (id: bigint, state: StreamState) =>
      waitFor(async () => {
        const s = await stateOf(id);
        return s.state === state ? s : undefined;
      }, `stream ${id} ${StreamState[state]}`);

    beforeAll(async () => {
      store = await engine.open();
      dir = await mkdtemp(join(tmpdir(), "live17-svc-"));
      bundle = await Bundle.start({
        registry,
        config: {
          ...DEFAULT_CONFIG,
          services: ["live"],
          host: "127.0.0.1",
          port: 0,
          settings: {
            community: { admins: "1" },
            live: {
              rtmpPort: 0,
              hlsDir: join(dir, "hls"),
              maxBitrateKbps: 1500,
              silenceTimeoutMs: 3000,
              lostSweepSeconds: 1,
              // Recording has its own suite (recording.e2e.test.ts): off here, fewer ffmpegs and transcodes.
              record: false,
            },
          },
        },
        // Given, not --dev-token: live depends on graph and chat, which bring the user service (and its sessions).
        tokenVerifier: staticTokens({ ann: "1", bob: "2" }),
        db: store.db,
        log: silentLogger(),
      });
      ann = client("ann");
      bob = client("bob");
      anon = client();
      communities = createClient(
        CommunityService,
        createConnectTransport({
          baseUrl: bundle.url!,
          httpVersion: "1.1",
          interceptors: [
            (next) => (req) => {
              req.header.set("authorization", "Bearer ann");
              return next(req);
            },
          ],
        }),
      );
    });

    afterAll(async () => {
      for (const p of publishers) p.killNow();
      await Promise.all(publishers.map((p) => p.exited));
      await bundle?.stop();
      expect(runningFfmpegPids()).toEqual([]);
      await store?.dispose();
      await rm(dir, { recursive: true, force: true });
    });

    it("refuses anonymous callers and bad input", async () => {
      expect(await codeOf(anon.createStream({ title: "x" }))).toBe(Code.Unauthenticated);
      expect(await codeOf(ann.createStream({ title: "   " }))).toBe(Code.InvalidArgument);
      expect(await codeOf(ann.createStream({ title: "x".repeat(201) }))).toBe(Code.InvalidArgument);
      expect(await codeOf(anon.getStream({ streamId: 42n }))).toBe(Code.NotFound);
      expect(await codeOf(anon.getStream({ streamId: 0n }))).toBe(Code.InvalidArgument);
    });

    it("goes scheduled → live → ended (EndStream by its owner only); the key then stops working", async () => {
      const cid = (await communities.createSeries({ title: "Live Test Show", ownerId: 1n })).community!.id;
      expect(await codeOf(bob.createStream({ title: "not a member", communityId: cid }))).toBe(Code.PermissionDenied);
      const created = await ann.createStream({ title: "Episode 1 together", communityId: cid });
      const s = created.stream!;
      expect(s).toMatchObject({
        state: StreamState.SCHEDULED,
        ownerId: 1n,
        title: "Episode 1 together",
        communityId: cid,
      });
      expect(s.hlsUrl).toBe(`/live/${s.id}/index.m3u8`);
      expect(s.flvUrl).toBe(`/live/${s.id}.flv`);
      expect(created.ingestUrl).toMatch(/^rtmp:\/\/127\.0\.0\.1:\d+\/live$/);
      expect(created.streamKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(created.keyExpiresAtMs).toBeGreaterThan(BigInt(Date.now()));

      const pub = publish(created.ingestUrl, created.streamKey);
      const live = await reaches(s.id, StreamState.LIVE);
      expect(live.startedAtMs).toBeGreaterThan(0n);
      const playlist = await fetch(bundle.url! + s.hlsUrl);
      expect(playlist.status).toBe(200);
      expect(await playlist.text()).toContain("#EXTM3U");
      const listed = await anon.listLiveStreams({});
      expect(listed.streams.map((x) => x.id)).toContain(s.id);
      expect((await anon.listLiveStreams({ communityId: cid })).streams.map((x) => x.id)).toEqual([s.id]);
      expect((await anon.listLiveStreams({ communityId: 8n })).streams).toEqual([]);

      expect(await codeOf(bob.endStream({ streamId: s.id }))).toBe(Code.PermissionDenied);
      expect(await codeOf(bob.rotateKey({ streamId: s.id }))).toBe(Code.PermissionDenied);
      expect(await codeOf(anon.endStream({ streamId: s.id }))).toBe(Code.Unauthenticated);
      expect((await stateOf(s.id)).state).toBe(StreamState.LIVE);

      const ended = (await ann.endStream({ streamId: s.id })).stream!;
      expect(ended).toMatchObject({ state: StreamState.ENDED, endReason: "ended" });
      expect((await pub.exited).code).not.toBe(0); // cut by the ingest
      await waitFor(async () => (await fetch(bundle.url! + s.hlsUrl)).status === 404, "playlist gone");
      expect((await anon.listLiveStreams({})).streams.map((x) => x.id)).not.toContain(s.id);
      // Idempotent; an ended stream's key is refused, and it cannot be rotated.
      expect((await ann.endStream({ streamId: s.id })).stream!.state).toBe(StreamState.ENDED);
      expect(await codeOf(ann.rotateKey({ streamId: s.id }))).toBe(Code.FailedPrecondition);
      const again = publish(created.ingestUrl, created.streamKey);
      expect((await again.exited).code).not.toBe(0);
      expect((await stateOf(s.id)).state).toBe(StreamState.ENDED);
    });

    it("RotateKey cuts the old key's publisher and refuses the old key; the new key publishes", async () => {
      const created = await ann.createStream({ title: "rotating" });
      const id = created.stream!.id;
      const first = publish(created.ingestUrl, created.streamKey);
      await reaches(id, StreamState.LIVE);
      const rotated = await ann.rotateKey({ streamId: id });
      expect(rotated.streamKey).not.toBe(created.streamKey);
      expect(rotated.stream!.state).toBe(StreamState.SCHEDULED);
      expect((await first.exited).code).not.toBe(0);
      const old = publish(created.ingestUrl, created.streamKey);
      expect((await old.exited).code).not.toBe(0);
      expect((await stateOf(id)).state).toBe(StreamState.SCHEDULED);
      const next = publish(rotated.ingestUrl, rotated.streamKey);
      await reaches(id, StreamState.LIVE);
      next.killNow(); // the publisher drops: the stream ends
      const ended = await reaches(id, StreamState.ENDED);
      expect(ended.endReason).toBe("publisher-left");
      expect(ended.endedAtMs).toBeGreaterThan(0n);
    });

    it("ends a publisher over the bitrate cap", async () => {
      const created = await ann.createStream({ title: "too fast" });
      const id = created.stream!.id;
      const pub = publish(created.ingestUrl, created.streamKey, { videoKbps: 3000, cbr: true });
      const ended = await reaches(id, StreamState.ENDED);
      expect(ended.endReason).toBe("bitrate");
      expect((await pub.exited).code).not.toBe(0);
    });

    it("ends a stream left live by a node whose lease expired (node-lost); a live node's stays", async () => {
      const dead = await ann.createStream({ title: "on a node that died" });
      const alive = await ann.createStream({ title: "on a node that lives" });
      // Node 1000 died holding a publish (its lease ran out); node 1001 still holds its lease.
      const farFuture = Date.now() + 3_600_000;
      await store.db.run(
        "INSERT INTO orbit_node_leases (node_id, owner, epoch, lease_until_ms, ceiling_ms, updated_ms) VALUES (?, ?, 1, ?, ?, ?), (?, ?, 1, ?, ?, ?)",
        [1000, "gone-host/1/x", 1, 1, 1, 1001, "other-host/2/y", farFuture, farFuture, 1],
      );
      for (const [id, node] of [
        [dead.stream!.id, 1000],
        [alive.stream!.id, 1001],
      ] as const)
        await store.db.run("UPDATE live_streams SET state = ?, node_id = ?, started_at_ms = ? WHERE id = ?", [
          StreamState.LIVE,
          node,
          Date.now(),
          id,
        ]);
      const ended = await reaches(dead.stream!.id, StreamState.ENDED);
      expect(ended.endReason).toBe("node-lost");
      expect((await stateOf(alive.stream!.id)).state).toBe(StreamState.LIVE);
      await store.db.run("DELETE FROM orbit_node_leases WHERE node_id IN (1000, 1001)");
      await store.db.run("UPDATE live_streams SET state = ?, node_id = 0 WHERE id = ?", [
        StreamState.ENDED,
        alive.stream!.id,
      ]);
    });

    it("cuts its publisher when another bundle ends the stream (the state change every node consumes)", async () => {
      const created = await ann.createStream({ title: "ended elsewhere" });
      const id = created.stream!.id;
      const pub = publish(created.ingestUrl, created.streamKey);
      await reaches(id, StreamState.LIVE);
      // What EndStream on another bundle writes: the row and StreamStateChanged in one transaction
      // (that bundle cannot cut this one's publisher itself).
      await store.db.transaction(async (tx) => {
        await tx.run("UPDATE live_streams SET state = ?, end_reason = 'ended', node_id = 0 WHERE id = ?", [
          StreamState.ENDED,
          id,
        ]);
        await bundle.parts.events.bus.publish(tx, StreamStateChangedSchema, {
          streamId: id,
          ownerId: 1n,
          communityId: 0n,
          state: StreamState.ENDED,
          atMs: BigInt(Date.now()),
          reason: "ended",
        });
      });
      expect((await pub.exited).code).not.toBe(0); // cut by this node's ingest
      await waitFor(async () => (await fetch(bundle.url! + created.stream!.hlsUrl)).status === 404, "playlist gone");
      expect((await stateOf(id)).endReason).toBe("ended");
    });

    it("refuses an unknown key", async () => {
      const created = await ann.createStream({ title: "unused" });
      const pub = publish(created.ingestUrl, "not-a-key-of-ours-at-all");
      expect((await pub.exited).code).not.toBe(0);
      expect((await stateOf(created.stream!.id)).state).toBe(StreamState.SCHEDULED);
    });
  });
}
