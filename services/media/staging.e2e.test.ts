/**
 * Uploads staged on a node's local disk (services/media/staging.ts): a node
 * stopped in the middle of an upload and started again on the same staging
 * directory resumes at the acknowledged byte; another node (another staging
 * directory) takes the upload over from what the chunk table holds, answering
 * 409 with that offset, and the file completes byte for byte. SQLite and
 * MariaDB; waits are on conditions.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MediaState } from "../../gen/orbit/media/v1/media_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { createLogger } from "../../platform/log.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { registry } from "../registry.js";
import { CHUNK_SIZE } from "./blobs.js";
import { cutPatch, headOffset, mediaClient, patch, request, settled } from "./testing/client.js";
import { noisePng } from "./testing/files.js";

const TOKEN = "tok-staging";

describe.each(ENGINES)("staged uploads on $name", ({ open }) => {
  let store: TestStore;
  let dir: string;
  let bundle: Bundle | undefined;
  // The bundle's log (debug), shown when a wait fails.
  const logLines: string[] = [];
  const log = createLogger({ level: "debug", destination: { write: (line: string) => void logLines.push(line) } });
  const start = (staging: string) =>
    Bundle.start({
      registry,
      config: {
        ...DEFAULT_CONFIG,
        services: ["media"],
        host: "127.0.0.1",
        port: 0,
        devTokens: { [TOKEN]: "5" },
        settings: { media: { stagingDir: join(dir, staging), cacheDir: join(dir, "cache"), urlKeys: "cc".repeat(32) } },
      },
      db: store.db,
      log,
    });

  beforeAll(async () => {
    store = await open();
    dir = mkdtempSync(join(tmpdir(), "media-staging-"));
  });
  afterAll(async () => {
    await bundle?.stop();
    await store?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts an upload of `file` and cuts its first PATCH after `sent` bytes; resolves once HEAD says `sent`. */
  async function cutUpload(file: Buffer, sent: number): Promise<{ mediaId: bigint; uploadUrl: string }> {
    const base = bundle!.url!;
    const up = await mediaClient(base, TOKEN).createUpload({
      contentType: "image/png",
      sizeBytes: BigInt(file.length),
      fileName: "noise.png",
    });
    await cutPatch(base + up.uploadUrl, TOKEN, 0, file, sent);
    try {
      await expect.poll(() => headOffset(base, up.uploadUrl, TOKEN), { timeout: 10_000 }).toBe(sent);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the bundle's last log lines:\n${logLines.slice(-40).join("")}`);
    }
    return up;
  }

  async function sameImage(mediaId: bigint, file: Buffer): Promise<void> {
    const base = bundle!.url!;
    const m = await settled(base, TOKEN, mediaId);
    expect(m.state).toBe(MediaState.READY);
    const got = await request(base + m.variants.find((v) => v.name === "original")!.url);
    expect((await sharp(got.body).raw().toBuffer()).equals(await sharp(file).raw().toBuffer())).toBe(true);
  }

  it("resumes at the acknowledged byte after the node restarts on its staging directory", async () => {
    bundle = await start("node-a");
    const file = await noisePng(700, 700, 11);
    const sent = 3 * CHUNK_SIZE + 500; // mid-chunk
    const { mediaId, uploadUrl } = await cutUpload(file, sent);
    await bundle.stop();
    bundle = await start("node-a");
    const base = bundle.url!;
    expect(await headOffset(base, uploadUrl, TOKEN)).toBe(sent);
    const done = await patch(base, uploadUrl, TOKEN, sent, file.subarray(sent));
    expect([done.status, Number(done.headers["upload-offset"])]).toEqual([204, file.length]);
    await sameImage(mediaId, file);
    await bundle.stop();
    bundle = undefined;
  });

  it("lets another node take an upload over from the bytes in the chunk table (409 with that offset)", async () => {
    bundle = await start("node-a");
    const file = await noisePng(800, 800, 12);
    const sent = 5 * CHUNK_SIZE + 1000;
    const { mediaId, uploadUrl } = await cutUpload(file, sent);
    // Node a copies the whole chunks it staged into the chunk table behind the PATCH.
    const stored = async () =>
      Number(
        (await store.db.get<{ s: unknown }>("SELECT stored_offset AS s FROM media_uploads WHERE media_id = ?", [
          mediaId,
        ]))!.s,
      );
    await expect.poll(stored, { timeout: 10_000 }).toBe(5 * CHUNK_SIZE);
    await bundle.stop();
    bundle = await start("node-b"); // another node: a staging directory of its own
    const base = bundle.url!;
    // The 1000 bytes past the last whole chunk were only on node a: b answers where the store is.
    const refused = await patch(base, uploadUrl, TOKEN, sent, file.subarray(sent));
    expect([refused.status, Number(refused.headers["upload-offset"])]).toEqual([409, 5 * CHUNK_SIZE]);
    expect(await headOffset(base, uploadUrl, TOKEN)).toBe(5 * CHUNK_SIZE);
    const done = await patch(base, uploadUrl, TOKEN, 5 * CHUNK_SIZE, file.subarray(5 * CHUNK_SIZE));
    expect([done.status, Number(done.headers["upload-offset"])]).toEqual([204, file.length]);
    await sameImage(mediaId, file);
  });
});
