/**
 * The media job: made durable by the event bus. Completing an upload
 * publishes MediaUploaded in the same transaction; this consumer (commit
 * "after": at-least-once, the position is saved once the job is done) makes
 * the variants or transcodes and marks the media READY, or FAILED with a
 * reason. A bundle that stops mid-job has not saved its position, so the
 * next one runs the job again; a job that finds the media READY, FAILED or
 * gone does nothing. `--media-workers` jobs run at once (concurrency by
 * media id).
 */
import { isMessage } from "@bufbuild/protobuf";
import { MediaUploadedSchema } from "../../gen/orbit/media/v1/events_pb.js";
import { MediaState } from "../../gen/orbit/media/v1/media_pb.js";
import type { MediaRow, StoredVariant } from "../../gen/orbit/media/v1/tables_pb.js";
import type { ConsumerOptions } from "../../platform/events/consumer-options.js";
import type { Logger } from "../../platform/log.js";
import { JobFailed } from "./errors.js";
import { input, processStill, type Rendition, thumbhashOf } from "./images.js";
import type { MediaStore } from "./store.js";
import { processAnimated, processVideo, type VideoLimits } from "./video.js";

export interface JobDeps {
  readonly store: MediaStore;
  readonly log: Logger;
  readonly workers: number;
  readonly video: VideoLimits;
  /** Aborted when the bundle stops: a running transcode is killed and the job left for the next start. */
  readonly signal: AbortSignal;
}

export { JobFailed };

export function mediaJobConsumer(deps: JobDeps): ConsumerOptions {
  return {
    group: "media.jobs",
    events: [MediaUploadedSchema],
    commit: "after",
    concurrency: deps.workers,
    maxAttempts: 5,
    backoff: { initialMs: 1000, maxMs: 30_000 },
    async handle(event) {
      if (!isMessage(event.message, MediaUploadedSchema)) return;
      await runJob(deps, event.message.mediaId, event.attempt);
    },
  };
}

export async function runJob(deps: JobDeps, mediaId: bigint, attempt = 1): Promise<void> {
  const { store, log } = deps;
  const m = await store.media.get({ id: mediaId });
  if (!m || m.state !== MediaState.PROCESSING) return; // done before, or deleted
  const t0 = performance.now();
  try {
    await processMedia(deps, m);
    log.info({ mediaId, kind: m.kind, ms: Math.round(performance.now() - t0) }, "media ready");
  } catch (err) {
    if (deps.signal.aborted) throw err; // shutting down: the next start runs it again
    const reason = err instanceof JobFailed ? err.message : `processing failed: ${(err as Error).message}`;
    if (err instanceof JobFailed || attempt >= 5) {
      log.warn({ mediaId, reason }, "media failed");
      await store.fail(mediaId, reason);
      return;
    }
    throw err; // retried by the bus
  }
}

async function storeRendition(store: MediaStore, r: Rendition): Promise<StoredVariant> {
  const { sha256, size } = await store.blobs.putBytes(r.data, r.contentType);
  return {
    $typeName: "orbit.media.v1.StoredVariant",
    name: r.name,
    sha256,
    contentType: r.contentType,
    width: r.width,
    height: r.height,
    sizeBytes: BigInt(size),
    ext: r.ext,
  };
}

async function processMedia(deps: JobDeps, m: MediaRow): Promise<void> {
  const { store } = deps;
  // The same bytes processed before: share what was made (each blob gains a reference).
  const twin = (await store.media.listBySourceSha256({ sourceSha256: m.sourceSha256 }, { limit: 20 })).rows.find(
    (o) => o.id !== m.id && o.state === MediaState.READY,
  );
  if (twin) {
    for (const v of twin.variants) await store.blobs.addRef(v.sha256);
    const done = await store.ready(m.id, {
      variants: twin.variants,
      mainVariant: twin.mainVariant,
      width: twin.width,
      height: twin.height,
      durationMs: twin.durationMs,
      placeholder: twin.placeholder,
    });
    if (!done) for (const v of twin.variants) await store.blobs.release(v.sha256);
    return;
  }
  const blob = await store.blobs.get(m.sourceSha256);
  if (!blob) throw new JobFailed("the uploaded bytes are gone");
  const bytes = await store.blobs.readAll(blob);
  const made: StoredVariant[] = [];
  const keep = async (r: Rendition) => made.push(await storeRendition(store, r));
  let result: Parameters<MediaStore["ready"]>[1];
  try {
    if (m.kind === "image") {
      const format = m.contentType.split("/")[1]!.replace("heic", "heif");
      let out: Awaited<ReturnType<typeof processStill>>;
      try {
        out = await processStill(bytes, format);
      } catch (err) {
        throw new JobFailed(`the image cannot be decoded: ${(err as Error).message}`);
      }
      await keep(out.clean);
      for (const v of out.variants) await keep(v);
      result = {
        variants: made,
        mainVariant: "original",
        width: out.clean.width,
        height: out.clean.height,
        placeholder: out.placeholder,
      };
    } else if (m.kind === "animated") {
      const out = await processAnimated(bytes, m, deps);
      for (const r of out.renditions) await keep(r);
      result = {
        variants: made,
        mainVariant: out.main,
        durationMs: out.durationMs,
        placeholder: await thumbhashOf(input(bytes)),
      };
    } else {
      const out = await processVideo(bytes, m, deps, (r) => storeRendition(store, r));
      made.push(...out.variants);
      result = { variants: made, mainVariant: "mp4", ...out.fields };
    }
  } catch (err) {
    for (const v of made) await store.blobs.release(v.sha256);
    throw err;
  }
  const done = await store.ready(m.id, result);
  if (!done) for (const v of made) await store.blobs.release(v.sha256); // deleted meanwhile
}
