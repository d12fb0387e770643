/**
 * Two nodes on one store, each with its own staging directory (services/media/staging.ts):
 *
 * - A node that dies after answering an upload's last byte and never comes back (stopped without
 *   finishing the upload or releasing its node-id lease, leased or given with --node-id; the lease
 *   then expires) does not leave
 *   the media PROCESSING: the other node finishes it when every byte is in the chunk table, or
 *   fails it with a reason (pushed to the owner) when the bytes past stored_offset died with it.
 * - Staging files of finished, deleted or taken-over uploads are dropped at once (by the node
 *   holding them), not a day later.
 *
 * SQLite and MariaDB; short lease and sweep settings; waits are on conditions.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { MediaState } from "../../gen/orbit/media/v1/media_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { silentLogger } from "../../platform/log.js";
import { NodeLease } from "../../platform/node-lease.js";
import { PushClient } from "../../test/support/push-client.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { registry } from "../registry.js";
import { CHUNK_SIZE } from "./blobs.js";
import { LOST_NODE_REASON, MediaStore } from "./store.js";
import { cutPatch, headOffset, mediaClient, patch, request, settled } from "./testing/client.js";
import { noisePng } from "./testing/files.js";

const TOKEN = "tok-nodes";
/** Node-id leases this short expire soon after a node dies (renewed every third of it). */
const LEASE_TTL_MS = 3_000;

type Finish = (this: MediaStore, ...args: unknown[]) => Promise<void>;
// The private method the test stands in for (a node that dies before finishing).
const proto = MediaStore.prototype as any;
const realFinish: Finish = proto.finishStaged;

describe.each(ENGINES)("staging on two nodes on $name", ({ open }) => {
  let store: TestStore;
  let dir: string;
  let b: Bundle; // the node that stays
  const started: Bundle[] = [];

  const start = async (staging: string, services = ["media"], nodeId?: number) => {
    const bundle = await Bundle.start({
      registry,
      config: {
        ...DEFAULT_CONFIG,
        ...(nodeId !== undefined ? { nodeId } : {}),
        services,
        host: "127.0.0.1",
        port: 0,
        devTokens: { [TOKEN]: "7" },
        settings: {
          media: {
            stagingDir: join(dir, staging),
            cacheDir: join(dir, `cache-${staging}`),
            urlKeys: "dd".repeat(32),
            lostSweepSeconds: 1,
          },
        },
      },
      db: store.db,
      log: silentLogger(),
      nodeLeaseTtlMs: LEASE_TTL_MS,
    });
    started.push(bundle);
    return bundle;
  };

  /** Stops `a` as if it died: unfinished work stays unfinished and its node-id lease is not released (it expires). */
  async function die(a: Bundle): Promise<void> {
    const release = vi.spyOn(NodeLease.prototype, "release").mockImplementation(async function (this: NodeLease) {
      clearInterval((this as unknown as { timer: NodeJS.Timeout }).timer);
    });
    try {
      await a.stop();
    } finally {
      release.mockRestore();
    }
  }

  /** The staged files of a staging directory. */
  const stagedFiles = (staging: string) => readdirSync(join(dir, staging)).filter((f) => /^\d+\./.test(f));
  const uploadRow = (mediaId: bigint) =>
    store.db.get<{ stored: unknown; acked: unknown }>(
      "SELECT stored_offset AS stored, `offset` AS acked FROM media_uploads WHERE media_id = ?",
      [mediaId],
    );

  async function create(base: string, file: Buffer) {
    return mediaClient(base, TOKEN).createUpload({
      contentType: "image/png",
      sizeBytes: BigInt(file.length),
      fileName: "noise.png",
    });
  }

  beforeAll(async () => {
    store = await open();
    dir = mkdtempSync(join(tmpdir(), "media-nodes-"));
    b = await start("node-b", ["media", "push"]);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    for (const x of started.reverse()) if (x.state !== "stopped") await x.stop();
    await store?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Node a stops the finishing of its staged uploads at `stopAt` (after the copy into the chunk table, or before). */
  function stall(stagingDir: string, stopAt: "before-copy" | "after-copy") {
    vi.spyOn(proto, "finishStaged").mockImplementation(async function (this: MediaStore, ...args: unknown[]) {
      if (this.staging.dir !== join(dir, stagingDir)) return realFinish.apply(this, args);
      const up = args[0] as { sizeBytes: bigint };
      if (stopAt === "after-copy") await (this as any).flush(up, Number(up.sizeBytes), true);
      await new Promise(() => {}); // the node dies here
    });
  }

  it("finishes an upload whose node died after answering its last byte, its bytes all in the chunk table", async () => {
    const a = await start("node-a1");
    stall("node-a1", "after-copy");
    const file = await noisePng(600, 600, 21);
    const { mediaId, uploadUrl } = await create(a.url!, file);
    const done = await patch(a.url!, uploadUrl, TOKEN, 0, file);
    expect([done.status, done.headers["orbit-media-state"]]).toEqual([204, "PROCESSING"]);
    await expect.poll(async () => Number((await uploadRow(mediaId))!.stored), { timeout: 10_000 }).toBe(file.length);
    await die(a);
    // Node b takes it over once a's lease has expired: content address, job, READY.
    const m = await settled(b.url!, TOKEN, mediaId);
    expect([m.state, m.failureReason]).toEqual([MediaState.READY, ""]);
    const got = await request(b.url! + m.variants.find((v) => v.name === "original")!.url);
    expect((await sharp(got.body).raw().toBuffer()).equals(await sharp(file).raw().toBuffer())).toBe(true);
    expect(await uploadRow(mediaId)).toBeUndefined();
    // a's file is a dead node's: it stays until a node starts again on that directory, which drops it.
    expect(stagedFiles("node-a1")).toHaveLength(1);
    const again = await start("node-a1");
    await expect.poll(() => stagedFiles("node-a1"), { timeout: 10_000 }).toEqual([]);
    await again.stop();
  });

  it("fails (and tells the owner) an upload whose last bytes died with their node (one given --node-id)", async () => {
    const ws = await PushClient.connect(b.url!, { token: TOKEN });
    try {
      await expect.poll(() => ws.of("hello").length, { timeout: 10_000 }).toBe(1);
      // An explicit node id is held as a lease too (platform/node-lease.ts, claimExact): its death is seen.
      const a = await start("node-a2", ["media"], 900);
      stall("node-a2", "before-copy");
      const usage = async () =>
        Number((await store.db.get<{ bytes: unknown }>("SELECT bytes FROM media_usage WHERE owner_id = 7"))!.bytes);
      const before = await usage();
      const file = await noisePng(600, 600, 22);
      expect(file.length).toBeGreaterThan(2 * CHUNK_SIZE);
      const { mediaId, uploadUrl } = await create(a.url!, file);
      const done = await patch(a.url!, uploadUrl, TOKEN, 0, file);
      expect([done.status, done.headers["orbit-media-state"]]).toEqual([204, "PROCESSING"]);
      expect(Number((await uploadRow(mediaId))!.stored)).toBeLessThan(file.length);
      await die(a);
      const m = await settled(b.url!, TOKEN, mediaId);
      expect([m.state, m.failureReason]).toEqual([MediaState.FAILED, LOST_NODE_REASON]);
      // Pushed to the owner as any end is; the upload, its chunks and its quota are gone.
      await expect
        .poll(() => ws.of("media").filter((u) => u.media?.id === mediaId).length, { timeout: 10_000 })
        .toBe(1);
      expect(ws.of("media").find((u) => u.media?.id === mediaId)!.media).toMatchObject({
        state: MediaState.FAILED,
        failureReason: LOST_NODE_REASON,
      });
      expect(await uploadRow(mediaId)).toBeUndefined();
      const chunks = await store.db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM media_chunks WHERE chunk_key = ?", [
        `u${mediaId}`,
      ]);
      expect(Number(chunks!.n)).toBe(0);
      expect(await usage()).toBe(before);
    } finally {
      await ws.close();
    }
  });

  it("drops staging files at once: finished, deleted here, deleted or taken over on the other node", async () => {
    const a = await start("node-a3");
    const client = mediaClient(a.url!, TOKEN);
    // Finished: its file goes with the completion.
    const done = await noisePng(300, 300, 31);
    const first = await create(a.url!, done);
    expect((await patch(a.url!, first.uploadUrl, TOKEN, 0, done)).status).toBe(204);
    expect((await settled(a.url!, TOKEN, first.mediaId)).state).toBe(MediaState.READY);
    await expect.poll(() => stagedFiles("node-a3"), { timeout: 10_000 }).toEqual([]);

    const file = await noisePng(700, 700, 32);
    const half = 3 * CHUNK_SIZE + 100;
    const cut = async () => {
      const up = await create(a.url!, file);
      await cutPatch(a.url! + up.uploadUrl, TOKEN, 0, file, half);
      await expect.poll(() => headOffset(a.url!, up.uploadUrl, TOKEN), { timeout: 10_000 }).toBe(half);
      return up;
    };
    // Deleted on the node holding the file: gone when DeleteMedia answers.
    const x = await cut();
    expect(stagedFiles("node-a3")).toEqual([expect.stringMatching(new RegExp(`^${x.mediaId}\\.`))]);
    await client.deleteMedia({ mediaId: x.mediaId });
    expect(stagedFiles("node-a3")).toEqual([]);
    // Deleted on the other node: a drops its file at its next sweep.
    const y = await cut();
    await mediaClient(b.url!, TOKEN).deleteMedia({ mediaId: y.mediaId });
    await expect.poll(() => stagedFiles("node-a3"), { timeout: 10_000 }).toEqual([]);
    // Taken over by a PATCH on the other node (409 at stored_offset, then the rest there).
    const z = await cut();
    await expect
      .poll(async () => Number((await uploadRow(z.mediaId))!.stored), { timeout: 10_000 })
      .toBe(3 * CHUNK_SIZE);
    const refused = await patch(b.url!, z.uploadUrl, TOKEN, half, file.subarray(half));
    expect([refused.status, Number(refused.headers["upload-offset"])]).toEqual([409, 3 * CHUNK_SIZE]);
    await expect.poll(() => stagedFiles("node-a3"), { timeout: 10_000 }).toEqual([]);
    const rest = await patch(b.url!, z.uploadUrl, TOKEN, 3 * CHUNK_SIZE, file.subarray(3 * CHUNK_SIZE));
    expect(rest.status).toBe(204);
    expect((await settled(b.url!, TOKEN, z.mediaId)).state).toBe(MediaState.READY);
    await expect.poll(() => stagedFiles("node-b"), { timeout: 10_000 }).toEqual([]);
    await a.stop();
  });
});
