/**
 * The media service in a real bundle, on SQLite, MariaDB and (with
 * CASSANDRA_CONTACT_POINTS) Cassandra for the chunks: resumable uploads
 * with a cut connection, dedupe, Range reads across chunk boundaries, every
 * limit with its code, a pixel bomb, a truncated PNG, images made READY with
 * variants and a placeholder, signed transforms and tampered signatures.
 * Files are made by the tests (sharp, ffmpeg); waits are on conditions.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MediaState } from "../../gen/orbit/media/v1/media_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { silentLogger } from "../../platform/log.js";
import { CASSANDRA_SKIP, liveKeyspace, type LiveKeyspace } from "../../test/support/cassandra.js";
import { PushClient } from "../../test/support/push-client.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { registry } from "../registry.js";
import { CHUNK_SIZE, CHUNKS_PER_WRITE } from "./blobs.js";
import { cutPatch, headOffset, mediaClient, patch, request, settled, upload } from "./testing/client.js";
import { manyFrameGif, noisePng, pngBomb, sidewaysJpeg } from "./testing/files.js";

const ANN = "tok-ann";
const BOB = "tok-bob";
const QUOTA = 48 * 1024 * 1024;

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

const targets = [
  ...ENGINES.map((e) => ({ name: e.name, open: e.open, cassandra: false })),
  { name: "sqlite + cassandra chunks", open: ENGINES[0].open, cassandra: true },
];

for (const target of targets) {
  describe.skipIf(target.cassandra && CASSANDRA_SKIP)(`media on ${target.name}`, () => {
    let store: TestStore;
    let ks: LiveKeyspace | undefined;
    let bundle: Bundle;
    let base: string;
    let cacheDir: string;
    const ann = () => mediaClient(base, ANN);

    beforeAll(async () => {
      store = await target.open();
      if (target.cassandra) ks = await liveKeyspace("media");
      cacheDir = mkdtempSync(join(tmpdir(), "media-cache-"));
      bundle = await Bundle.start({
        registry,
        config: {
          ...DEFAULT_CONFIG,
          services: ["media", "push"],
          host: "127.0.0.1",
          port: 0,
          devTokens: { [ANN]: "1", [BOB]: "2" },
          cassandra: ks?.url,
          settings: { media: { quotaBytes: QUOTA, cacheDir, urlKeys: "aa".repeat(32) } },
        },
        db: store.db,
        log: silentLogger(),
      });
      base = bundle.url!;
    }, 120_000);

    afterAll(async () => {
      await bundle?.stop();
      await ks?.dispose();
      await store?.dispose();
      rmSync(cacheDir, { recursive: true, force: true });
    });

    it("resumes an upload after a cut connection, at the exact byte HEAD reports", async () => {
      const file = await noisePng(800, 800, 7); // ~1.9 MB: seven and a bit chunks of 256 KiB
      const c = ann();
      const { mediaId, uploadUrl } = await c.createUpload({
        contentType: "image/png",
        sizeBytes: BigInt(file.length),
        fileName: "noise.png",
      });
      expect((await c.getMedia({ mediaId })).media).toMatchObject({ state: MediaState.UPLOADING, uploadUrl });
      expect(await headOffset(base, uploadUrl, ANN)).toBe(0);
      // Past one write of CHUNKS_PER_WRITE chunks, into the middle of a chunk.
      const sent = (CHUNKS_PER_WRITE + 1) * CHUNK_SIZE + 1000;
      expect(file.length).toBeGreaterThan(sent + CHUNK_SIZE);
      await cutPatch(base + uploadUrl, ANN, 0, file, sent);
      // The server keeps every byte that arrived, the partial chunk too; wait until it has noticed the cut.
      await expect.poll(() => headOffset(base, uploadUrl, ANN), { timeout: 10_000 }).toBe(sent);
      const offset = sent;
      // A PATCH at the wrong offset is refused with the right one.
      const wrong = await patch(base, uploadUrl, ANN, offset + 1, file.subarray(offset + 1));
      expect(wrong.status).toBe(409);
      expect(Number(wrong.headers["upload-offset"])).toBe(offset);
      const done = await patch(base, uploadUrl, ANN, offset, file.subarray(offset));
      expect(done.status).toBe(204);
      expect(Number(done.headers["upload-offset"])).toBe(file.length);
      const m = await settled(base, ANN, mediaId);
      expect(m.state).toBe(MediaState.READY);
      const got = await request(base + m.variants.find((v) => v.name === "original")!.url);
      expect((await sharp(got.body).raw().toBuffer()).equals(await sharp(file).raw().toBuffer())).toBe(true);
      expect(m).toMatchObject({ width: 800, height: 800, contentType: "image/png", uploadUrl: "" });
    });

    it("tells the owner's connected devices over /ws when a media item ends READY or FAILED", async () => {
      const annWs = await PushClient.connect(base, { token: ANN });
      const bobWs = await PushClient.connect(base, { token: BOB });
      try {
        await expect.poll(() => annWs.of("hello").length + bobWs.of("hello").length, { timeout: 10_000 }).toBe(2);
        const { mediaId } = await upload(base, ANN, await noisePng(120, 90, 41), "image/png");
        await expect
          .poll(() => annWs.of("media").filter((u) => u.media?.id === mediaId).length, { timeout: 60_000 })
          .toBe(1);
        const pushed = annWs.of("media").find((u) => u.media?.id === mediaId)!.media!;
        const got = (await ann().getMedia({ mediaId })).media!;
        // The update is the media as GetMedia shows it to the owner: READY, with its URLs.
        expect(pushed).toMatchObject({ state: MediaState.READY, width: 120, height: 90, ownerId: 1n });
        expect([pushed.url, pushed.variants.map((v) => v.url)]).toEqual([got.url, got.variants.map((v) => v.url)]);
        expect(pushed.url).not.toBe("");
        // A refused file ends FAILED, with its reason, on the same stream.
        const png = await noisePng(50, 50, 42);
        const t = await upload(base, ANN, png.subarray(0, png.length - 40), "image/png");
        expect(t.answer.status).toBe(422);
        await expect
          .poll(() => annWs.of("media").find((u) => u.media?.id === t.mediaId)?.media?.state, { timeout: 10_000 })
          .toBe(MediaState.FAILED);
        expect(annWs.of("media").find((u) => u.media?.id === t.mediaId)!.media!.failureReason).toContain("truncated");
        // Durable and ordered: each update carries the next sequence of ann's stream.
        const seqs = annWs.durable().map((u) => u.sequence);
        expect(seqs).toEqual([...seqs].sort((x, y) => (x < y ? -1 : 1)));
        expect(seqs.length).toBeGreaterThanOrEqual(2);
        // Nobody else hears about ann's media.
        expect(bobWs.of("media")).toEqual([]);
      } finally {
        await Promise.all([annWs.close(), bobWs.close()]);
      }
    });

    it("strips EXIF, applies the orientation, records a placeholder and makes the standard variants", async () => {
      const file = await sidewaysJpeg(400, 300); // shown as 300 × 400
      const { mediaId, answer } = await upload(base, ANN, file, "image/jpeg");
      expect(answer.status).toBe(204);
      const m = await settled(base, ANN, mediaId);
      expect(m).toMatchObject({ state: MediaState.READY, width: 300, height: 400, contentType: "image/jpeg" });
      expect(m.placeholder.length).toBeGreaterThan(10);
      expect(m.variants.map((v) => v.name).sort()).toEqual(["300.jpg", "300.webp", "original"]);
      const main = await request(base + m.url);
      expect(main.headers["content-type"]).toBe("image/jpeg");
      const meta = await sharp(main.body).metadata();
      expect([meta.width, meta.height, meta.orientation, meta.exif]).toEqual([300, 400, undefined, undefined]);
      const webp = await request(base + m.variants.find((v) => v.name === "300.webp")!.url);
      expect((await sharp(webp.body).metadata()).format).toBe("webp");
    });

    it("stores the same bytes once, and deletes them with the last media that uses them", async () => {
      const file = await noisePng(300, 300, 99);
      const a = await upload(base, ANN, file, "image/png");
      const b = await upload(base, BOB, file, "image/png");
      const [ma, mb] = [await settled(base, ANN, a.mediaId), await settled(base, BOB, b.mediaId)];
      expect(ma.state).toBe(MediaState.READY);
      expect(mb.url).toBe(ma.url); // variants shared too
      const blobs = await store.db.all<{ sha256: string; refs: unknown; chunk_key: string }>(
        "SELECT sha256, refs, chunk_key FROM media_blobs",
      );
      const source = blobs.filter((r) => r.chunk_key === `u${a.mediaId}` || r.chunk_key === `u${b.mediaId}`);
      expect(source).toHaveLength(1);
      expect(Number(source[0]!.refs)).toBe(2);
      expect(await codeOf(mediaClient(base, BOB).deleteMedia({ mediaId: a.mediaId }))).toBe(Code.PermissionDenied);
      await ann().deleteMedia({ mediaId: a.mediaId });
      expect((await request(base + mb.url)).status).toBe(200);
      await mediaClient(base, BOB).deleteMedia({ mediaId: b.mediaId });
      expect((await request(base + mb.url)).status).toBe(404);
      const left = await store.db.all("SELECT sha256 FROM media_blobs WHERE sha256 = ?", [source[0]!.sha256]);
      expect(left).toEqual([]);
      expect(await codeOf(ann().getMedia({ mediaId: a.mediaId }))).toBe(Code.NotFound);
    });

    it("answers Range reads across chunk boundaries, HEAD, ETag and 304, immutable caching", async () => {
      const file = await noisePng(480, 480, 3); // > 2 chunks
      expect(file.length).toBeGreaterThan(2 * CHUNK_SIZE + 10);
      const { mediaId } = await upload(base, ANN, file, "image/png");
      const m = await settled(base, ANN, mediaId);
      // The source file (not re-encoded): find it by its hash.
      const { createHash } = await import("node:crypto");
      const url = `/media/f/${createHash("sha256").update(file).digest("hex")}.png`;
      const whole = await request(base + url);
      expect(whole.status).toBe(200);
      expect(whole.body.equals(file)).toBe(true);
      expect(whole.headers["cache-control"]).toContain("immutable");
      expect(whole.headers["accept-ranges"]).toBe("bytes");
      const etag = whole.headers.etag!;
      const cs = CHUNK_SIZE;
      const ranges: [string, number, number][] = [
        [`bytes=${cs - 10}-${cs + 9}`, cs - 10, cs + 9],
        [`bytes=${cs}-${cs}`, cs, cs],
        [`bytes=${cs - 1}-${2 * cs}`, cs - 1, 2 * cs],
        [`bytes=0-${cs - 1}`, 0, cs - 1],
        [`bytes=${2 * cs + 1}-`, 2 * cs + 1, file.length - 1],
        ["bytes=-100", file.length - 100, file.length - 1],
      ];
      for (const [h, start, end] of ranges) {
        const r = await request(base + url, { headers: { range: h } });
        expect(r.status, h).toBe(206);
        expect(r.headers["content-range"]).toBe(`bytes ${start}-${end}/${file.length}`);
        expect(r.body.equals(file.subarray(start, end + 1)), h).toBe(true);
      }
      expect((await request(base + url, { headers: { range: `bytes=${file.length}-` } })).status).toBe(416);
      const head = await request(base + url, { method: "HEAD" });
      expect([head.status, head.headers["content-length"], head.body.length]).toEqual([200, String(file.length), 0]);
      expect((await request(base + url, { headers: { "if-none-match": etag } })).status).toBe(304);
      expect((await request(`${base}/media/f/${"0".repeat(64)}.png`)).status).toBe(404);
      expect(m.state).toBe(MediaState.READY);
    });

    it("refuses every limit with the right code", async () => {
      const c = ann();
      const big = (n: number) => BigInt(n * 1024 * 1024);
      expect(await codeOf(c.createUpload({ contentType: "image/png", sizeBytes: big(17), fileName: "" }))).toBe(
        Code.ResourceExhausted,
      );
      expect(await codeOf(c.createUpload({ contentType: "video/mp4", sizeBytes: big(101), fileName: "" }))).toBe(
        Code.ResourceExhausted,
      );
      expect(await codeOf(c.createUpload({ contentType: "text/plain", sizeBytes: 10n, fileName: "" }))).toBe(
        Code.InvalidArgument,
      );
      expect(await codeOf(c.createUpload({ contentType: "image/png", sizeBytes: 0n, fileName: "" }))).toBe(
        Code.InvalidArgument,
      );
      expect(
        await codeOf(mediaClient(base).createUpload({ contentType: "image/png", sizeBytes: 1n, fileName: "" })),
      ).toBe(Code.Unauthenticated);
      // Quota: reserved at CreateUpload with the announced size, given back on delete.
      const v1 = await c.createUpload({ contentType: "video/mp4", sizeBytes: big(30), fileName: "" });
      expect(await codeOf(c.createUpload({ contentType: "video/mp4", sizeBytes: big(30), fileName: "" }))).toBe(
        Code.ResourceExhausted,
      );
      await c.deleteMedia({ mediaId: v1.mediaId });
      const v2 = await c.createUpload({ contentType: "video/mp4", sizeBytes: big(30), fileName: "" });
      // A file announced as video whose bytes are an image: the image limit (16 MiB) applies.
      const png = await noisePng(64, 64);
      const r = await patch(base, v2.uploadUrl, ANN, 0, png);
      expect([r.status, JSON.parse(r.body.toString()).code]).toEqual([413, "resource_exhausted"]);
      expect((await c.getMedia({ mediaId: v2.mediaId })).media).toMatchObject({ state: MediaState.FAILED });
      // A FAILED item gives its reservation back at once, and its delete gives nothing back twice.
      const v3 = await c.createUpload({ contentType: "video/mp4", sizeBytes: big(30), fileName: "" });
      await c.deleteMedia({ mediaId: v2.mediaId });
      expect(await codeOf(c.createUpload({ contentType: "video/mp4", sizeBytes: big(30), fileName: "" }))).toBe(
        Code.ResourceExhausted,
      );
      await c.deleteMedia({ mediaId: v3.mediaId });
      // Bytes that are no type we take.
      const t = await c.createUpload({ contentType: "image/png", sizeBytes: 100n, fileName: "x.png" });
      const text = await patch(base, t.uploadUrl, ANN, 0, Buffer.alloc(100, "hello "));
      expect([text.status, JSON.parse(text.body.toString()).code]).toEqual([415, "invalid_argument"]);
      // More bytes than announced.
      const s = await c.createUpload({ contentType: "image/png", sizeBytes: 50n, fileName: "" });
      expect((await patch(base, s.uploadUrl, ANN, 0, png)).status).toBe(413);
      // Someone else's upload, and no token.
      const mine = await c.createUpload({ contentType: "image/png", sizeBytes: 50n, fileName: "" });
      expect((await patch(base, mine.uploadUrl, BOB, 0, png.subarray(0, 50))).status).toBe(404);
      expect((await request(base + mine.uploadUrl, { method: "HEAD" })).status).toBe(401);
      // More than 1,000 frames.
      const gif = await manyFrameGif(1001);
      const g = await upload(base, ANN, gif, "image/gif");
      expect([g.answer.status, JSON.parse(g.answer.body.toString()).code]).toEqual([413, "resource_exhausted"]);
      expect(JSON.parse(g.answer.body.toString()).message).toContain("1001 frames");
    });

    it("refuses a pixel bomb from its header, fast, and a truncated PNG", async () => {
      const bomb = pngBomb(20_000, 20_000); // 400 MP in a few KB
      const t0 = performance.now();
      const b = await upload(base, ANN, bomb, "image/png");
      expect(performance.now() - t0).toBeLessThan(5_000); // no decode: a loaded CI machine still answers in well under this
      expect([b.answer.status, JSON.parse(b.answer.body.toString()).code]).toEqual([413, "resource_exhausted"]);
      const bm = (await ann().getMedia({ mediaId: b.mediaId })).media!;
      expect(bm.state).toBe(MediaState.FAILED);
      expect(bm.failureReason).toContain("400.0 MP");

      const png = await noisePng(200, 200, 5);
      const cut = png.subarray(0, png.length - 100);
      const t = await upload(base, ANN, cut, "image/png");
      expect([t.answer.status, JSON.parse(t.answer.body.toString()).code]).toEqual([422, "invalid_argument"]);
      expect((await ann().getMedia({ mediaId: t.mediaId })).media?.failureReason).toContain("truncated");
    });

    it("serves signed transforms, cached, and refuses unsigned or tampered URLs", async () => {
      const { mediaId } = await upload(base, ANN, await sidewaysJpeg(400, 300), "image/jpeg");
      await settled(base, ANN, mediaId);
      const { url } = await ann().signUrl({ mediaId, width: 150, height: 150, fit: "cover", format: "webp" });
      expect(url).toMatch(/^\/media\/img\/[A-Za-z0-9_-]+\/w:150\/h:150\/fit:cover\/f:webp\/q:80\/\d+$/);
      const [a, b] = await Promise.all([request(base + url), request(base + url)]);
      expect([a.status, b.status, a.headers["content-type"]]).toEqual([200, 200, "image/webp"]);
      expect(a.body.equals(b.body)).toBe(true);
      const meta = await sharp(a.body).metadata();
      expect([meta.width, meta.height, meta.format]).toEqual([150, 150, "webp"]);
      const tampered = url.replace("w:150", "w:4000");
      expect((await request(base + tampered)).status).toBe(403);
      const forged = url.replace(/\/media\/img\/[^/]+\//, "/media/img/AAAA/");
      expect((await request(base + forged)).status).toBe(403);
      expect((await request(`${base}/media/img/w:150/h:150/fit:cover/f:webp/q:80/${mediaId}`)).status).toBe(403);
      expect(await codeOf(ann().signUrl({ mediaId, width: 100, format: "bmp" }))).toBe(Code.InvalidArgument);
      expect(await codeOf(ann().signUrl({ mediaId, width: 5000 }))).toBe(Code.InvalidArgument);
      // Deleted: its signed (and cached) transforms are gone too.
      await ann().deleteMedia({ mediaId });
      expect((await request(base + url)).status).toBe(404);
    });

    it("lists the caller's media newest first, paged", async () => {
      const c = mediaClient(base, "tok-none");
      expect(await codeOf(c.listMyMedia({}))).toBe(Code.Unauthenticated);
      const first = await mediaClient(base, BOB).listMyMedia({ pageSize: 1 });
      const all = await mediaClient(base, BOB).listMyMedia({ pageSize: 100 });
      expect(first.media.length).toBeLessThanOrEqual(1);
      expect(all.media.every((m) => m.ownerId === 2n)).toBe(true);
      const ids = (await ann().listMyMedia({ pageSize: 100 })).media.map((m) => m.id);
      expect(ids).toEqual([...ids].sort((x, y) => (x > y ? -1 : x < y ? 1 : 0)));
    });
  });
}
