/**
 * Recording a live stream for VOD: one more ffmpeg per live stream, beside
 * the HLS remux, reads the ingest over RTMP on loopback and copies it
 * (no re-encode) into an MPEG-TS file, made an MP4 (a copy) when it ends:
 *
 *   <dir>/<pid>-<streamId>-<epoch>.ts, then .mp4
 *
 * A process of its own rather than a second output of the remux: a recording
 * that fails (disk full, the cap) must not end the stream, and one that hits
 * its cap ends by itself (ffmpeg's `-t`/`-fs` on its only output) with what it
 * wrote kept: cut, not lost. MPEG-TS needs no trailer: the ingest keeps a
 * player's connection open after its publisher left, and ffmpeg leaves that
 * read only when interrupted (a second SIGINT), which also cuts its trailer
 * — an MP4 written directly would lose its index then.
 *
 * The file is the LiveService's to hand to the media service and delete
 * (recording-handoff.ts); files of a process that died are swept on boot
 * (`sweepRecordings`): the pid in the name says whose they are.
 */
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { FfmpegProcess } from "../../platform/ffmpeg/process.js";
import { ingestCopyArgs } from "./hls.js";
import { pidAlive } from "../../platform/pid.js";

export interface RecordSettings {
  /** Directory of the recordings being written. */
  readonly dir: string;
  /** A recording stops (is cut) after this much media time. */
  readonly maxSeconds: number;
  /** … or this many bytes. */
  readonly maxBytes: number;
}

const NAME = /^(\d+)-(\d+)-[0-9a-z]+\.(ts|mp4)$/;

export function recordArgs(inputUrl: string, file: string, s: RecordSettings, readTimeoutMs: number): string[] {
  return [
    "-loglevel",
    "error",
    "-nostats",
    "-rw_timeout",
    String(readTimeoutMs * 1000),
    ...ingestCopyArgs(inputUrl),
    "-t",
    String(s.maxSeconds),
    // The MP4 made of it at the end is smaller than the TS (no 188-byte packets); 3 % of room for its index.
    "-fs",
    String(Math.floor(s.maxBytes * 0.97)),
    "-f",
    "mpegts",
    // Every packet written as it comes: a killed recorder loses nothing that was received.
    "-flush_packets",
    "1",
    "-y",
    file,
  ];
}

/** The finished recording as MP4 (what media takes), by a copy: no re-encode. */
export function toMp4Args(ts: string, mp4: string): string[] {
  return ["-loglevel", "error", "-i", ts, "-map", "0", "-c", "copy", "-f", "mp4", "-y", mp4];
}

export class Recorder {
  private constructor(
    readonly file: string,
    readonly process: FfmpegProcess,
  ) {}

  static async start(opts: {
    streamId: string;
    inputUrl: string;
    settings: RecordSettings;
    readTimeoutMs: number;
  }): Promise<Recorder> {
    await mkdir(opts.settings.dir, { recursive: true });
    const file = join(opts.settings.dir, `${process.pid}-${opts.streamId}-${Date.now().toString(36)}.ts`);
    const p = new FfmpegProcess({ args: recordArgs(opts.inputUrl, file, opts.settings, opts.readTimeoutMs) });
    return new Recorder(file, p);
  }

  get pid(): number {
    return this.process.pid;
  }

  /**
   * Stops ffmpeg (gracefully: the last fragment is written) and answers the
   * file if it holds anything; an empty or missing file is removed.
   */
  async stop(): Promise<string | undefined> {
    // ffmpeg interrupts a blocked read (the ingest keeps a player's connection open a while after
    // its publisher left) only on a second SIGINT; it then still writes the MP4's index.
    if (this.process.signal("SIGINT")) {
      await new Promise((r) => setTimeout(r, 50));
      this.process.signal("SIGINT");
    }
    await this.process.stop(3000);
    const size = await stat(this.file).then(
      (s) => s.size,
      () => 0,
    );
    try {
      if (size === 0) return undefined;
      const mp4 = this.file.replace(/\.ts$/, ".mp4");
      const remux = new FfmpegProcess({ args: toMp4Args(this.file, mp4) });
      const exit = await remux.exited;
      if (exit.code === 0) return mp4;
      await rm(mp4, { force: true });
      throw new Error(`the recording could not be made an MP4: ${remux.stderrTail().trim()}`);
    } finally {
      await rm(this.file, { force: true });
    }
  }
}

function alive(pid: number): boolean {
  return pid === process.pid || pidAlive(pid);
}

/**
 * Deletes the recordings in `dir` left by processes that are gone (a crash,
 * a kill -9): called on boot. Files of live processes (other bundles on this
 * host sharing the directory) are left alone. Answers the files deleted.
 */
export async function sweepRecordings(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const gone: string[] = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    await rm(join(dir, name), { force: true });
    gone.push(name);
  }
  return gone;
}
