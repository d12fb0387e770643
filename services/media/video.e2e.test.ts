/**
 * Video and animated images through the durable job: a gif becomes an mp4
 * (H.264, yuv420p, faststart) when that is smaller; a video becomes H.264/AAC
 * with a poster and HLS VOD served from the port; a bundle stopped in the
 * middle of a transcode leaves the job to the next start, which completes it.
 * On SQLite, MariaDB, and (with CASSANDRA_CONTACT_POINTS) SQLite with the
 * chunks on Cassandra. Files are made by ffmpeg; waits are on conditions.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MediaState } from "../../gen/orbit/media/v1/media_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { runningFfmpegPids } from "../../platform/ffmpeg/process.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { silentLogger } from "../../platform/log.js";
import { CASSANDRA_SKIP, liveKeyspace, type LiveKeyspace } from "../../test/support/cassandra.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { registry } from "../registry.js";
import { mediaClient, request, settled, upload } from "./testing/client.js";
import { testGif, testVideo } from "./testing/files.js";

const run = promisify(execFile);
const TOKEN = "tok-vid";

function startBundle(store: TestStore, cassandra?: string): Promise<Bundle> {
  return Bundle.start({
    registry,
    config: {
      ...DEFAULT_CONFIG,
      services: ["media"],
      host: "127.0.0.1",
      port: 0,
      devTokens: { [TOKEN]: "7" },
      cassandra,
      settings: { media: { urlKeys: "bb".repeat(32) } },
    },
    db: store.db,
    log: silentLogger(),
  });
}

async function ffprobe(
  bytes: Buffer,
  ext: string,
): Promise<{ streams: Record<string, unknown>[]; format: Record<string, unknown> }> {
  const dir = await mkdtemp(join(tmpdir(), "media-probe-"));
  try {
    const f = join(dir, `f.${ext}`);
    await writeFile(f, bytes);
    const { stdout } = await run("ffprobe", ["-v", "error", "-show_streams", "-show_format", "-of", "json", f]);
    return JSON.parse(stdout);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const targets = [
  ...ENGINES.map((e) => ({ name: e.name, open: e.open, cassandra: false })),
  { name: "sqlite + cassandra chunks", open: ENGINES[0].open, cassandra: true },
];

describe.each(targets)("video jobs on $name", ({ name, open, cassandra }) => {
  let store: TestStore;
  let ks: LiveKeyspace | undefined;
  let bundle: Bundle | undefined;
  const start = (s: TestStore) => startBundle(s, ks?.url);

  beforeAll(async () => {
    if (cassandra && CASSANDRA_SKIP) return;
    store = await open();
    if (cassandra) ks = await liveKeyspace("media_video");
  }, 120_000);
  afterAll(async () => {
    await bundle?.stop();
    await ks?.dispose();
    await store?.dispose();
    expect(runningFfmpegPids()).toEqual([]);
  });

  it.skipIf(cassandra && CASSANDRA_SKIP)(
    "finishes a transcode cut by a restart: the next bundle runs the job again",
    async () => {
      bundle = await start(store);
      // Above 360p, so that HLS has two rungs (480p segmented from the mp4, 360p encoded).
      const video = await testVideo({ width: 640, height: 480, seconds: 3 });
      const { mediaId, answer } = await upload(bundle.url!, TOKEN, video, "video/mp4");
      expect(answer.status).toBe(204);
      // Wait for the job's first ffmpeg/ffprobe, freeze it, and stop the bundle under it.
      await expect.poll(() => runningFfmpegPids().length, { timeout: 30_000, interval: 5 }).toBeGreaterThan(0);
      for (const pid of runningFfmpegPids()) process.kill(pid, "SIGSTOP");
      await bundle.stop();
      bundle = undefined;
      expect(runningFfmpegPids()).toEqual([]);
      const row = await store.db.get<{ state: unknown }>("SELECT state FROM media WHERE id = ?", [mediaId]);
      expect(Number(row!.state)).toBe(MediaState.PROCESSING);

      bundle = await start(store);
      const base = bundle.url!;
      const m = await settled(base, TOKEN, mediaId, 120_000);
      expect(m.failureReason).toBe("");
      expect(m).toMatchObject({ state: MediaState.READY, contentType: "video/mp4", width: 640, height: 480 });
      expect(Number(m.durationMs)).toBeGreaterThan(2500);
      expect(m.placeholder.length).toBeGreaterThan(10);
      const mp4 = await request(base + m.url);
      const probe = await ffprobe(mp4.body, "mp4");
      const v = probe.streams.find((s) => s.codec_type === "video")!;
      const a = probe.streams.find((s) => s.codec_type === "audio")!;
      expect([v.codec_name, v.pix_fmt, a.codec_name]).toEqual(["h264", "yuv420p", "aac"]);
      // faststart: the moov box comes before mdat.
      expect(mp4.body.indexOf("moov")).toBeLessThan(mp4.body.indexOf("mdat"));
      expect(m.variants.some((x) => x.name === "poster.jpg")).toBe(true);
      // HLS: master → a media playlist per rung → init + fMP4 segments, all served here.
      // The ladder: the source (480p, under the 720p cap) and 360p, highest first; none above the source.
      const master = (await request(base + m.hlsUrl)).body.toString();
      const lines = master.split("\n");
      const rungs = lines.flatMap((l, i) => {
        const inf = /^#EXT-X-STREAM-INF:(.*)$/.exec(l);
        if (!inf) return [];
        const attrs = Object.fromEntries(
          inf[1]!.match(/[A-Z-]+=("[^"]*"|[^,]*)/g)!.map((kv) => {
            const at = kv.indexOf("=");
            return [kv.slice(0, at), kv.slice(at + 1).replace(/"/g, "")];
          }),
        );
        return [{ ...attrs, url: lines[i + 1]! }] as Record<string, string>[];
      });
      expect(rungs.map((r) => r.RESOLUTION)).toEqual(["640x480", "480x360"]);
      expect(Number(rungs[0]!.BANDWIDTH)).toBeGreaterThan(Number(rungs[1]!.BANDWIDTH));
      for (const r of rungs) {
        expect(Number(r.BANDWIDTH)).toBeGreaterThanOrEqual(Number(r["AVERAGE-BANDWIDTH"]));
        expect(r.CODECS).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
        const playlist = (await request(base + r.url!)).body.toString();
        expect(playlist).toContain("#EXT-X-ENDLIST");
        const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)![1]!;
        const segs = playlist.split("\n").filter((l) => l.endsWith(".m4s"));
        expect(segs.length).toBeGreaterThan(0);
        const joined = Buffer.concat([(await request(base + init)).body, (await request(base + segs[0]!)).body]);
        const segProbe = await ffprobe(joined, "mp4");
        expect(segProbe.streams.map((s) => s.codec_name).sort()).toEqual(["aac", "h264"]);
        const sv = segProbe.streams.find((s) => s.codec_type === "video")!;
        expect(`${sv.width}x${sv.height}`).toBe(r.RESOLUTION);
      }
    },
    240_000,
  );

  it.skipIf(name !== "sqlite")(
    "turns a gif into a smaller mp4, and a broken video into FAILED with a reason",
    async () => {
      bundle ??= await start(store);
      const base = bundle.url!;
      const gif = await testGif({ width: 200, height: 150, seconds: 2 });
      const g = await upload(base, TOKEN, gif, "image/gif");
      const m = await settled(base, TOKEN, g.mediaId, 120_000);
      expect(m).toMatchObject({
        state: MediaState.READY,
        contentType: "image/gif",
        width: 200,
        height: 150,
        frames: 20,
      });
      expect(m.url).toMatch(/\.mp4$/);
      const mp4 = await request(base + m.url);
      expect(mp4.body.length).toBeLessThan(gif.length);
      const v = (await ffprobe(mp4.body, "mp4")).streams[0]!;
      expect([v.codec_name, v.pix_fmt]).toEqual(["h264", "yuv420p"]);
      expect(Number(m.durationMs)).toBe(2000);

      // An mp4 header over garbage: sniffed as video, ffmpeg cannot read it.
      const junk = Buffer.concat([Buffer.from("\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41"), Buffer.alloc(5000, 7)]);
      const j = await upload(base, TOKEN, junk, "video/mp4");
      const jm = await settled(base, TOKEN, j.mediaId, 60_000);
      expect(jm.state).toBe(MediaState.FAILED);
      expect(jm.failureReason).toMatch(/ffprobe|ffmpeg|video/);
      expect((await mediaClient(base, TOKEN).getMedia({ mediaId: j.mediaId })).media?.url).toBe("");
    },
    240_000,
  );
});
