/**
 * HLS out: one ffmpeg per live stream reads the ingest over RTMP on loopback
 * and remuxes it, without re-encoding, into short fMP4 segments and a sliding
 * playlist in the stream's own directory:
 *
 *   <dir>/index.m3u8, <dir>/<epoch>-init.mp4, <dir>/<epoch>-<n>.m4s
 *
 * The epoch (the publish's start time, base 36) makes every segment name
 * unique across publishes of one stream, so segments can be cached as
 * immutable.
 *
 * With `-c copy` a segment can only start on a keyframe, so segment length is
 * the publisher's keyframe interval (1 s asked for; OBS: "keyframe interval
 * 1"). ffmpeg 5.1 (Debian 12) has no LL-HLS partial segments; the low-latency
 * path is HTTP-FLV (see http.ts).
 *
 * The input's codecs and size are read from ffmpeg's own stream report on
 * stderr (the same parser as ffprobe's), so caps apply to what is actually
 * sent, not to what the publisher's metadata claims.
 */
import { mkdir, rm } from "node:fs/promises";
import { existsSync, readFileSync, watch } from "node:fs";
import { join } from "node:path";
import { FfmpegProcess, type FfmpegExit } from "../../platform/ffmpeg/process.js";

export interface HlsSettings {
  /** Target segment length, seconds (the keyframe interval decides). */
  readonly segmentSeconds: number;
  /** Segments kept in the playlist. */
  readonly listSize: number;
  /** A stalled input read ends the remux after this long. */
  readonly readTimeoutMs: number;
}

export const DEFAULT_HLS: HlsSettings = { segmentSeconds: 1, listSize: 6, readTimeoutMs: 10_000 };

export interface InputInfo {
  readonly videoCodec: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly audioCodec?: string;
}

export const PLAYLIST = "index.m3u8";

/**
 * Reads the ingest's FLV and copies its first video and (if any) audio stream, no re-encode. The
 * FLV starts with metadata and both codecs' headers, then the cached GOP: a short probe is
 * enough and saves ~1-2 s of startup. Shared by the remux and the recorder.
 */
export function ingestCopyArgs(inputUrl: string): string[] {
  return [
    "-analyzeduration",
    "500000",
    "-probesize",
    "65536",
    "-i",
    inputUrl,
    "-map",
    "0:v:0",
    "-map",
    "0:a:0?",
    "-c",
    "copy",
  ];
}

/** The ffmpeg arguments of a remux (exported for the bench's raw baseline and the docs). */
export function remuxArgs(inputUrl: string, dir: string, s: HlsSettings, epoch: string): string[] {
  return [
    "-loglevel",
    "info",
    "-nostats",
    "-rw_timeout",
    String(s.readTimeoutMs * 1000),
    "-fflags",
    "nobuffer",
    ...ingestCopyArgs(inputUrl),
    "-copyts",
    "-f",
    "hls",
    "-hls_time",
    String(s.segmentSeconds),
    "-hls_list_size",
    String(s.listSize),
    "-hls_delete_threshold",
    "2",
    "-hls_segment_type",
    "fmp4",
    "-hls_fmp4_init_filename",
    `${epoch}-init.mp4`,
    "-hls_flags",
    "delete_segments+independent_segments+program_date_time+temp_file",
    "-hls_segment_filename",
    join(dir, `${epoch}-%d.m4s`),
    join(dir, PLAYLIST),
  ];
}

/** Parses ffmpeg's "Stream #0:0…: Video: h264 (High), yuv420p, 640x360 [SAR…], 30 fps" lines. */
export function parseStreamLine(line: string, into: { video?: Partial<InputInfo>; audio?: string }): void {
  const v = /Stream #0:\d+.*?: Video: (\w+).*?, (\d{2,5})x(\d{2,5})/.exec(line);
  if (v) {
    const fps = /, ([\d.]+) (?:fps|tbr)/.exec(line);
    into.video = { videoCodec: v[1]!, width: Number(v[2]), height: Number(v[3]), fps: fps ? Number(fps[1]) : 0 };
    return;
  }
  const a = /Stream #0:\d+.*?: Audio: (\w+)/.exec(line);
  if (a) into.audio = a[1]!;
}

export class HlsRemux {
  readonly process: FfmpegProcess;
  /** Resolves with the input's codecs and size once ffmpeg has read them. */
  readonly input: Promise<InputInfo>;
  /** Resolves once the playlist lists its first segment; rejects if ffmpeg exits before. */
  readonly firstSegment: Promise<void>;
  private readonly watcher: ReturnType<typeof watch>;

  private constructor(
    readonly streamId: string,
    readonly dir: string,
    settings: HlsSettings,
    inputUrl: string,
  ) {
    const seen: { video?: Partial<InputInfo>; audio?: string } = {};
    let inInput = false;
    let resolveInput!: (i: InputInfo) => void;
    this.input = new Promise((r) => {
      resolveInput = r;
    });
    this.process = new FfmpegProcess({
      args: remuxArgs(inputUrl, dir, settings, Date.now().toString(36)),
      onStderrLine: (line) => {
        if (line.startsWith("Input #0")) inInput = true;
        else if (line.startsWith("Output #0") || line.startsWith("Stream mapping")) {
          if (inInput && seen.video) resolveInput({ ...(seen.video as InputInfo), audioCodec: seen.audio });
          inInput = false;
        } else if (inInput) parseStreamLine(line, seen);
      },
    });
    const playlist = join(dir, PLAYLIST);
    let resolveFirst!: () => void;
    let settled = false;
    this.firstSegment = new Promise<void>((resolve, reject) => {
      resolveFirst = resolve;
      void this.process.exited.then((exit) => {
        if (!settled) reject(new Error(`remux ended before its first segment (${describe(exit)}): ${this.tail()}`));
      });
    });
    this.firstSegment.catch(() => {}); // observed by whoever awaits it
    const checkPlaylist = () => {
      if (settled || !existsSync(playlist)) return;
      if (readFileSync(playlist, "utf8").includes("#EXTINF")) {
        settled = true;
        resolveFirst();
      }
    };
    this.watcher = watch(dir, () => checkPlaylist());
    this.watcher.on("error", () => {});
    void this.process.exited.then(() => this.watcher.close());
  }

  /** Starts ffmpeg for a stream; `dir` is created (and emptied first). */
  static async start(opts: {
    streamId: string;
    inputUrl: string;
    dir: string;
    settings?: HlsSettings;
  }): Promise<HlsRemux> {
    await rm(opts.dir, { recursive: true, force: true });
    await mkdir(opts.dir, { recursive: true });
    return new HlsRemux(opts.streamId, opts.dir, opts.settings ?? DEFAULT_HLS, opts.inputUrl);
  }

  get pid(): number {
    return this.process.pid;
  }

  get exited(): Promise<FfmpegExit> {
    return this.process.exited;
  }

  tail(): string {
    return this.process.stderrTail().trim().split("\n").slice(-3).join(" | ");
  }

  /** Ends ffmpeg (gracefully, then SIGKILL) and deletes the stream's files. */
  async stop(): Promise<void> {
    this.watcher.close();
    await this.process.stop(1500);
    await rm(this.dir, { recursive: true, force: true });
  }
}

function describe(exit: FfmpegExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit ${exit.code}`;
}
