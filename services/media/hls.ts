/**
 * HLS VOD of a transcoded video: a ladder of renditions, each a media
 * playlist over fMP4 segments (4 s), and a master playlist naming each with
 * BANDWIDTH (the peak segment's bit rate), AVERAGE-BANDWIDTH, RESOLUTION and
 * CODECS, highest first.
 *
 * The ladder is the source capped at 720p, then 360p — only rungs not above
 * the source (a 480p upload gets 480p and 360p; a 240p one only 240p; a
 * 1080p one 720p and 360p: the 1080p mp4 stays the download). A rung of the
 * mp4's own height is segmented from it without encoding again; the others
 * are encoded from it (H.264 CRF 23, AAC 128k), each in one ffmpeg run.
 */
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { StoredVariant } from "../../gen/orbit/media/v1/tables_pb.js";
import { runFfmpeg } from "../../platform/ffmpeg/run.js";
import type { Rendition } from "./images.js";
import { fileUrl } from "./store.js";

/** Heights of the ladder's rungs: the top one caps the source, the others are added below it. */
export const HLS_TOP_HEIGHT = 720;
export const HLS_LOWER_HEIGHTS = [360] as const;

export interface HlsSource {
  readonly mp4Path: string;
  readonly width: number;
  readonly height: number;
  readonly durationMs: bigint;
  readonly hasAudio: boolean;
}

export interface HlsCtx {
  readonly cpuSeconds: number;
  readonly signal: AbortSignal;
}

/** The rungs' heights for a source of `height`, highest first. */
export function ladderHeights(height: number): number[] {
  const top = Math.min(HLS_TOP_HEIGHT, height - (height % 2));
  return [top, ...HLS_LOWER_HEIGHTS.filter((h) => h < top)];
}

/** Width of a rung of `height` at the source's aspect ratio, even. */
function widthAt(src: HlsSource, height: number): number {
  if (height === src.height) return src.width;
  const w = Math.round((src.width * height) / src.height);
  return Math.max(2, w - (w % 2));
}

function segmentArgs(dir: string): string[] {
  return [
    "-f",
    "hls",
    "-hls_time",
    "4",
    "-hls_playlist_type",
    "vod",
    "-hls_segment_type",
    "fmp4",
    "-hls_fmp4_init_filename",
    "init.mp4",
    "-hls_segment_filename",
    join(dir, "seg%04d.m4s"),
    join(dir, "index.m3u8"),
  ];
}

/**
 * The H.264 encode of every video made here (the mp4 and each HLS rung): keyframes every 4 s,
 * on the segment boundaries, so the rung segmented from the mp4 and the encoded rungs cut alike.
 */
export const H264_ARGS: readonly string[] = [
  "-c:v",
  "libx264",
  "-preset",
  "veryfast",
  "-crf",
  "23",
  "-pix_fmt",
  "yuv420p",
  "-force_key_frames",
  "expr:gte(t,n_forced*4)",
];

function encodeArgs(src: HlsSource, width: number, height: number): string[] {
  return [
    "-map",
    "0:v:0",
    "-map",
    "0:a:0?",
    "-vf",
    `scale=${width}:${height}`,
    ...H264_ARGS,
    ...(src.hasAudio ? ["-c:a", "aac", "-b:a", "128k"] : []),
  ];
}

/** RFC 6381 codec string of an H.264 stream as ffprobe names its profile and level. */
export function avcCodec(profile: string, level: number): string {
  const p: Record<string, string> = {
    "Constrained Baseline": "42c0",
    Baseline: "4200",
    Main: "4d40",
    High: "6400",
  };
  return `avc1.${p[profile] ?? "6400"}${Math.max(0, Math.min(255, level)).toString(16).padStart(2, "0")}`;
}

async function h264Codec(path: string, signal: AbortSignal): Promise<string> {
  const out = await runFfmpeg(
    ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=profile,level", "-of", "json", path],
    { binary: "ffprobe", signal },
  );
  const s = (JSON.parse(out) as { streams: { profile?: string; level?: number }[] }).streams[0];
  return avcCodec(s?.profile ?? "High", s?.level ?? 40);
}

interface Rung {
  readonly width: number;
  readonly height: number;
  readonly playlist: StoredVariant;
  readonly peakBps: number;
  readonly averageBps: number;
  readonly codecs: string;
}

/** Makes, stores (through `keep`) and returns the ladder's files; the last one is the master playlist ("hls"). */
export async function hlsLadder(
  src: HlsSource,
  dir: string,
  ctx: HlsCtx,
  keep: (r: Rendition) => Promise<StoredVariant>,
): Promise<StoredVariant[]> {
  const variants: StoredVariant[] = [];
  const rungs: Rung[] = [];
  for (const height of ladderHeights(src.height)) {
    const width = widthAt(src, height);
    const rungDir = join(dir, `hls-${height}`);
    await mkdir(rungDir);
    const copy = height === src.height;
    await runFfmpeg(
      ["-y", "-i", src.mp4Path, ...(copy ? ["-c", "copy"] : encodeArgs(src, width, height)), ...segmentArgs(rungDir)],
      { cpuSeconds: ctx.cpuSeconds, signal: ctx.signal },
    );
    let playlist = await readFile(join(rungDir, "index.m3u8"), "utf8");
    const files = (await readdir(rungDir)).filter((f) => f !== "index.m3u8").sort();
    const sizes = new Map<string, number>();
    for (const f of files) {
      const data = await readFile(join(rungDir, f));
      sizes.set(f, data.length);
      const isInit = f === "init.mp4";
      const v = await keep({
        name: isInit ? `hls.${height}p.init` : `hls.${height}p.${f}`,
        data,
        contentType: isInit ? "video/mp4" : "video/iso.segment",
        ext: isInit ? "mp4" : "m4s",
        width: 0,
        height: 0,
      });
      variants.push(v);
      playlist = playlist.split(f).join(fileUrl(v.sha256, v.ext));
    }
    // Bit rates from the playlist's segment durations and the segments' sizes.
    let peakBps = 0;
    let bits = 0;
    let seconds = 0;
    const lines = (await readFile(join(rungDir, "index.m3u8"), "utf8")).split("\n");
    for (let i = 0; i < lines.length; i++) {
      const m = /^#EXTINF:([\d.]+)/.exec(lines[i]!);
      const size = m ? sizes.get(lines[i + 1]?.trim() ?? "") : undefined;
      if (!m || size === undefined) continue;
      const d = Math.max(0.001, Number(m[1]));
      peakBps = Math.max(peakBps, (size * 8) / d);
      bits += size * 8;
      seconds += d;
    }
    const averageBps = seconds > 0 ? bits / seconds : 0;
    const codecs = await h264Codec(join(rungDir, files.find((f) => f !== "init.mp4") ?? "init.mp4"), ctx.signal).catch(
      () => avcCodec("High", 40),
    );
    const media = await keep({
      name: `hls.${height}p.media`,
      data: Buffer.from(playlist),
      contentType: "application/vnd.apple.mpegurl",
      ext: "m3u8",
      width,
      height,
    });
    variants.push(media);
    rungs.push({ width, height, playlist: media, peakBps, averageBps, codecs });
  }
  const master = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"];
  for (const r of rungs) {
    const codecs = `${r.codecs}${src.hasAudio ? ",mp4a.40.2" : ""}`;
    master.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${Math.ceil(r.peakBps)},AVERAGE-BANDWIDTH=${Math.ceil(r.averageBps)},RESOLUTION=${r.width}x${r.height},CODECS="${codecs}"`,
      fileUrl(r.playlist.sha256, r.playlist.ext),
    );
  }
  master.push("");
  variants.push(
    await keep({
      name: "hls",
      data: Buffer.from(master.join("\n")),
      contentType: "application/vnd.apple.mpegurl",
      ext: "m3u8",
      width: rungs[0]!.width,
      height: rungs[0]!.height,
    }),
  );
  return variants;
}
