/**
 * gif / animated WebP → mp4 and video → H.264/AAC mp4, poster and HLS VOD,
 * with Debian's ffmpeg through platform/ffmpeg/run.ts (CPU-time limit,
 * killed on shutdown).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import type { MediaRow, StoredVariant } from "../../gen/orbit/media/v1/tables_pb.js";
import { FfmpegFailed, runFfmpeg } from "../../platform/ffmpeg/run.js";
import { JobFailed } from "./errors.js";
import { H264_ARGS, hlsLadder } from "./hls.js";
import { input, type Rendition, thumbhashOf } from "./images.js";

export interface VideoLimits {
  readonly cpuSeconds: number;
}

interface Ctx {
  readonly video: VideoLimits;
  readonly signal: AbortSignal;
}

/** Mastodon's gifv flags (H.264, yuv420p, even dimensions, faststart, no metadata, no audio). */
export function gifToMp4Args(inPath: string, outPath: string): string[] {
  return [
    "-y",
    "-i",
    inPath,
    "-an",
    "-movflags",
    "+faststart",
    "-pix_fmt",
    "yuv420p",
    "-vf",
    "scale=trunc(iw/2)*2:trunc(ih/2)*2",
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    "-crf",
    "23",
    "-frames:v",
    "10800",
    "-map_metadata",
    "-1",
    outPath,
  ];
}

/** Video to H.264 (≤ 1080p, yuv420p) and AAC, faststart. */
export function transcodeArgs(inPath: string, outPath: string): string[] {
  return [
    "-y",
    "-i",
    inPath,
    "-map",
    "0:v:0",
    "-map",
    "0:a:0?",
    "-vf",
    "scale='min(1920,iw)':'min(1080,ih)':force_original_aspect_ratio=decrease,scale=trunc(iw/2)*2:trunc(ih/2)*2",
    ...H264_ARGS,
    "-c:a",
    "aac",
    "-b:a",
    "128k",
    "-movflags",
    "+faststart",
    "-map_metadata",
    "-1",
    outPath,
  ];
}

async function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "orbit-media-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function fail(err: unknown): never {
  if (err instanceof FfmpegFailed && err.why === "aborted") throw err;
  throw new JobFailed((err as Error).message);
}

interface Probe {
  durationMs: bigint;
  width: number;
  height: number;
  hasAudio: boolean;
}

export async function probe(path: string, ctx?: Ctx): Promise<Probe> {
  const out = await runFfmpeg(["-v", "error", "-show_streams", "-show_format", "-of", "json", path], {
    binary: "ffprobe",
    signal: ctx?.signal,
  });
  const j = JSON.parse(out) as {
    streams: { codec_type: string; width?: number; height?: number }[];
    format: { duration?: string };
  };
  const v = j.streams.find((s) => s.codec_type === "video");
  return {
    durationMs: BigInt(Math.round(Number(j.format.duration ?? 0) * 1000)),
    width: v?.width ?? 0,
    height: v?.height ?? 0,
    hasAudio: j.streams.some((s) => s.codec_type === "audio"),
  };
}

/** A gif or animated WebP: the mp4 if it is smaller, a poster, first-frame stills. */
export async function processAnimated(
  bytes: Buffer,
  m: MediaRow,
  ctx: Ctx,
): Promise<{ renditions: Rendition[]; main: string; durationMs: bigint }> {
  return withTmp(async (dir) => {
    const meta = await sharp(bytes, { animated: true }).metadata();
    const durationMs = BigInt((meta.delay ?? []).reduce((a, b) => a + b, 0));
    // ffmpeg cannot decode animated WebP: sharp turns it into a gif for it.
    const gif = m.contentType === "image/gif" ? bytes : await sharp(bytes, { animated: true }).gif().toBuffer();
    const inPath = join(dir, "in.gif");
    const outPath = join(dir, "out.mp4");
    await writeFile(inPath, gif);
    try {
      await runFfmpeg(gifToMp4Args(inPath, outPath), { cpuSeconds: ctx.video.cpuSeconds, signal: ctx.signal });
    } catch (err) {
      fail(err);
    }
    const mp4 = await readFile(outPath);
    const poster = await input(bytes).jpeg({ quality: 85, mozjpeg: true }).toBuffer({ resolveWithObject: true });
    const renditions: Rendition[] = [
      {
        name: "poster.jpg",
        data: poster.data,
        contentType: "image/jpeg",
        ext: "jpg",
        width: poster.info.width,
        height: poster.info.height,
      },
    ];
    const smaller = mp4.length < bytes.length;
    if (smaller) {
      renditions.push({
        name: "mp4",
        data: mp4,
        contentType: "video/mp4",
        ext: "mp4",
        width: poster.info.width - (poster.info.width % 2),
        height: poster.info.height - (poster.info.height % 2),
      });
    }
    return { renditions, main: smaller ? "mp4" : "", durationMs };
  });
}

/** A video: H.264/AAC mp4, a poster, and HLS VOD (a ladder of fMP4 renditions, a master playlist). */
export async function processVideo(
  bytes: Buffer,
  m: MediaRow,
  ctx: Ctx,
  keep: (r: Rendition) => Promise<StoredVariant>,
): Promise<{
  variants: StoredVariant[];
  fields: { width: number; height: number; durationMs: bigint; placeholder: Uint8Array };
}> {
  return withTmp(async (dir) => {
    const inPath = join(dir, `in.${m.contentType.split("/")[1]}`);
    const mp4Path = join(dir, "out.mp4");
    await writeFile(inPath, bytes);
    let info: Probe;
    try {
      info = await probe(inPath, ctx);
      if (!info.width) throw new Error("the file has no video stream");
      await runFfmpeg(transcodeArgs(inPath, mp4Path), { cpuSeconds: ctx.video.cpuSeconds, signal: ctx.signal });
      info = await probe(mp4Path, ctx);
    } catch (err) {
      fail(err);
    }
    const variants: StoredVariant[] = [];
    const mp4 = await readFile(mp4Path);
    variants.push(
      await keep({
        name: "mp4",
        data: mp4,
        contentType: "video/mp4",
        ext: "mp4",
        width: info.width,
        height: info.height,
      }),
    );
    // Poster: a frame at 1 s (or the middle of a shorter clip).
    const at = Math.min(1, Number(info.durationMs) / 2000);
    const posterPath = join(dir, "poster.jpg");
    await runFfmpeg(["-y", "-ss", at.toFixed(3), "-i", mp4Path, "-frames:v", "1", "-q:v", "3", posterPath], {
      signal: ctx.signal,
    });
    const poster = await readFile(posterPath);
    variants.push(
      await keep({
        name: "poster.jpg",
        data: poster,
        contentType: "image/jpeg",
        ext: "jpg",
        width: info.width,
        height: info.height,
      }),
    );
    const placeholder = await thumbhashOf(sharp(poster));
    // HLS VOD: a ladder of renditions not above the source (hls.ts).
    try {
      variants.push(
        ...(await hlsLadder(
          { mp4Path, width: info.width, height: info.height, durationMs: info.durationMs, hasAudio: info.hasAudio },
          dir,
          { cpuSeconds: ctx.video.cpuSeconds, signal: ctx.signal },
          keep,
        )),
      );
    } catch (err) {
      fail(err);
    }
    return {
      variants,
      fields: { width: info.width, height: info.height, durationMs: info.durationMs, placeholder },
    };
  });
}
