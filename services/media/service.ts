/**
 * media: resumable uploads into chunked, content-addressed storage (a wide
 * table: SQL or Cassandra); images (variants, ThumbHash, signed on-the-fly
 * transforms cached on disk); gif → mp4; video → H.264/AAC, poster, HLS.
 * See docs/media.md.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MediaStateChangedSchema, MediaUploadedSchema } from "../../gen/orbit/media/v1/events_pb.js";
import { MediaService } from "../../gen/orbit/media/v1/media_pb.js";
import { BlobRowTable, MediaRowTable, UploadRowTable, UsageRowTable } from "../../gen/orbit/media/v1/tables_db.js";
import { ChunkRowTable } from "../../gen/orbit/media/v1/tables_wide.js";
import { pause } from "../../platform/kernel/jobs.js";
import { defineService } from "../../platform/kernel/service.js";
import { expiredNodeIds } from "../../platform/node-lease.js";
import { BlobStore } from "./blobs.js";
import { DiskCache } from "./cache.js";
import { mediaHandlers } from "./handlers.js";
import { mediaRoutes } from "./http.js";
import { mediaJobConsumer } from "./jobs.js";
import { mediaSettings } from "./settings.js";
import { UrlSigner } from "./signing.js";
import { Staging } from "./staging.js";
import { MediaStore } from "./store.js";

export const media = defineService({
  name: "media",
  description: "uploads (resumable, chunked, deduplicated), images and their variants, gif→mp4, video→HLS",
  api: [MediaService],
  settings: mediaSettings,
  tables: [MediaRowTable, UploadRowTable, BlobRowTable, UsageRowTable, ChunkRowTable],
  publishes: [MediaUploadedSchema, MediaStateChangedSchema],
  build(ctx) {
    const blobs = new BlobStore(ctx.db, ctx.wide);
    // The owner's devices learn that a job ended through the push gateway (Update field 23).
    const staging = new Staging(ctx.settings.stagingDir || join(tmpdir(), "orbit-media-staging"));
    const store = new MediaStore(
      ctx.db,
      blobs,
      ctx.events,
      ctx.ids,
      ctx.settings.quotaBytes,
      staging,
      (tx, ownerId, m) => ctx.push.toUser(tx, ownerId, { case: "media", value: { media: m } }),
    );
    // Uploads this node had staged when it stopped: finish them (store.ts, recover).
    store.recover().catch((err) => ctx.log.error({ err }, "media: recovering staged uploads failed"));
    const signer = new UrlSigner(ctx.settings.urlKeys);
    // Every upload may become a transcode: a per-user limit (ctx.limits, shared with --redis).
    const uploads = ctx.limits.bucket("uploads_per_user", {
      capacity: ctx.settings.uploadsPerUser,
      periodMs: 3_600_000,
      refused: "too many uploads",
    });
    if (!ctx.settings.urlKeys) {
      ctx.log.warn("no --media-url-keys: transform URLs are signed with a random key and stop working on restart");
    }
    // Each worker of --workers N keeps its own part of the cache (its index is in memory): a
    // file another worker evicted would otherwise be missing under this one's index.
    const dir = ctx.settings.cacheDir || join(tmpdir(), "orbit-media-cache");
    const { index, count } = ctx.worker;
    const cache =
      count > 1
        ? new DiskCache(join(dir, `worker-${index}`), Math.floor(ctx.settings.cacheBytes / count))
        : new DiskCache(dir, ctx.settings.cacheBytes);
    return {
      rpc: [mediaHandlers(store, signer, uploads)],
      routes: mediaRoutes(store, signer, cache),
      consumers: [
        mediaJobConsumer({
          store,
          log: ctx.log,
          workers: ctx.settings.workers,
          video: { cpuSeconds: ctx.settings.jobCpuSeconds },
          signal: ctx.signal,
        }),
      ],
      jobs: [
        {
          // Uploads left PROCESSING by a node that died after answering their last byte (its node-id
          // lease ended) are finished here or failed; staging files of finished, deleted or taken-over
          // uploads are dropped (store.ts: sweepLost, sweepStaged).
          name: "media.lost",
          async run(signal) {
            while (!signal.aborted) {
              try {
                const swept = await store.sweepLost((ids) => expiredNodeIds(ctx.db, ids));
                if (swept.length)
                  ctx.log.warn({ media: swept.map(String) }, "media: uploads of a lost node taken over");
                await store.sweepStaged();
              } catch (err) {
                if (!signal.aborted) ctx.log.warn({ err }, "media: lost-upload sweep failed");
              }
              await pause(ctx.settings.lostSweepSeconds * 1000, signal);
            }
          },
        },
      ],
      stop: async () => {
        await store.close();
        staging.release(); // another process (a restart) may stage here now
      },
    };
  },
});
