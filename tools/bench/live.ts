/**
 * `npm run bench -- live [--seconds S] [--width W --height H] [--max-streams N] [--step-seconds S] [--skip-capacity]`
 *
 * 1. Latency: ffmpeg publishes a generated 720p30 stream (testsrc, x264
 *    ultrafast zerolatency, keyframe every second, AAC) over RTMP into the
 *    live node; reported from the publisher's start: publish accepted, first
 *    playlist, first segment fetched; then glass-to-glass for HTTP-FLV and
 *    for HLS (see "Method").
 * 2. Baseline in the same run: the same publisher into a bare ffmpeg that
 *    listens for RTMP itself and writes the same HLS (no node-media-server,
 *    no live node); ratio = ours / raw for the first segment and latency.
 * 3. CPU per stream: the remux ffmpeg's CPU (from /proc) and this process's
 *    (ingest, HTTP) over the measuring window, in % of one core.
 * 4. Capacity: a 720p30 clip is encoded once and then published with
 *    `-c copy` (no encoder CPU) as 1, 2, 4 … streams at once; a level holds
 *    when every stream's newest segment stays fresh (≤ 3 × the segment
 *    length old) for the whole step. Reported: the most streams held.
 *
 * Method (glass-to-glass): the publisher reports (`-progress`, every 0.1 s)
 * its output media time; the smallest (wall − media time) over those reports
 * is the wall time of media time 0 ("glass", minus the encoder's own frame
 * delay). The remux keeps the publisher's timestamps (`-copyts`), so a
 * viewer that receives media time t at wall time w sees a latency of
 * w − (T0 + t). HTTP-FLV: every video tag as it arrives (p50/p95 after the
 * first 2 s). HLS: for each new segment, the age of its first frame when the
 * segment has been fetched — what a player starting at the live edge
 * (hls.js liveSyncDurationCount 1) shows first; hls.js's default of 3
 * segments adds 2 segment lengths.
 */
import http from "node:http";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { silentLogger } from "../../platform/log.js";
import { FfmpegProcess, stopAllFfmpeg } from "../../platform/ffmpeg/process.js";
import { LiveNode } from "../../services/live/node.js";
import { MemoryStreamKeys } from "../../services/live/keys.js";
import { DEFAULT_HLS, PLAYLIST, remuxArgs } from "../../services/live/hls.js";
import { publisherArgs } from "../../services/live/testing/publisher.js";
import { percentile } from "./_measure.js";

const run = promisify(execFile);

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Wall time of the publisher's media time 0, from its progress reports. */
class MediaClock {
  t0 = Number.POSITIVE_INFINITY;
  private pending = "";
  onProgress = (chunk: string) => {
    const now = Date.now();
    this.pending += chunk;
    let at: number;
    while ((at = this.pending.indexOf("\n")) >= 0) {
      const line = this.pending.slice(0, at);
      this.pending = this.pending.slice(at + 1);
      const m = /^out_time_us=(\d+)/.exec(line);
      if (m) this.t0 = Math.min(this.t0, now - Number(m[1]) / 1000);
    }
  };
}

function cpuTicks(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return Number(rest[11]) + Number(rest[12]); // utime + stime
  } catch {
    return 0;
  }
}
const TICK_MS = 10; // USER_HZ 100 on Linux

async function waitFor<T>(fn: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

function segmentsOf(playlist: string): string[] {
  return playlist.split("\n").filter((l) => l.endsWith(".m4s"));
}

async function firstVideoPtsMs(initAndSegment: Buffer, dir: string): Promise<number> {
  const file = join(dir, `probe-${Math.random().toString(36).slice(2)}.mp4`);
  await writeFile(file, initAndSegment);
  try {
    const { stdout } = await run("ffprobe", [
      "-v",
      "error",
      "-select_streams",
      "v:0",
      "-show_entries",
      "packet=pts_time",
      "-read_intervals",
      "%+#1",
      "-of",
      "csv=p=0",
      file,
    ]);
    return Number(stdout.trim().split("\n")[0]) * 1000;
  } finally {
    await rm(file, { force: true });
  }
}

interface HlsWatch {
  firstPlaylistMs: number;
  firstSegmentMs: number;
  ages: number[];
}

/** Polls a playlist (HTTP or a file), fetches each new segment, records its first frame's age. */
async function watchHls(
  read: (name: string) => Promise<Buffer | undefined>,
  clock: MediaClock,
  t0: number,
  seconds: number,
  tmp: string,
): Promise<HlsWatch> {
  const seen = new Set<string>();
  const out: HlsWatch = { firstPlaylistMs: -1, firstSegmentMs: -1, ages: [] };
  let init: Buffer | undefined;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const pl = (await read(PLAYLIST))?.toString();
    if (pl?.includes("#EXTINF")) {
      if (out.firstPlaylistMs < 0) out.firstPlaylistMs = Date.now() - t0;
      const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(pl)?.[1];
      if (map && !init) init = await read(map);
      for (const seg of segmentsOf(pl)) {
        if (seen.has(seg)) continue;
        seen.add(seg);
        const body = await read(seg);
        if (!body || !init) continue;
        const got = Date.now();
        if (out.firstSegmentMs < 0) out.firstSegmentMs = got - t0;
        // Only segments that appeared while watching (not the backlog of the first playlist).
        if (seen.size > 1 || segmentsOf(pl).length === 1) {
          const pts = await firstVideoPtsMs(Buffer.concat([init, body]), tmp);
          out.ages.push(got - (clock.t0 + pts));
        }
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return out;
}

/** Reads HTTP-FLV and returns each video tag's latency (after the first `skipMs`). */
async function watchFlv(url: string, clock: MediaClock, seconds: number, skipMs: number): Promise<number[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(seconds * 1000 + 2000) });
  if (!res.ok || !res.body) throw new Error(`HTTP-FLV answered ${res.status}`);
  const reader = res.body.getReader();
  const started = Date.now();
  const lat: number[] = [];
  let buf = Buffer.alloc(0);
  let pos = 13; // FLV header (9) + first PreviousTagSize (4)
  try {
    while (Date.now() - started < seconds * 1000) {
      const { value, done } = await reader.read();
      if (done) break;
      const now = Date.now();
      buf = Buffer.concat([buf, Buffer.from(value)]);
      while (buf.length >= pos + 11) {
        const type = buf[pos]!;
        const size = buf.readUIntBE(pos + 1, 3);
        const ts = buf.readUIntBE(pos + 4, 3) | (buf[pos + 7]! << 24);
        if (buf.length < pos + 11 + size + 4) break;
        if (type === 9 && now - started >= skipMs) lat.push(now - (clock.t0 + ts));
        pos += 11 + size + 4;
      }
      if (pos > 1 << 20) {
        buf = buf.subarray(pos);
        pos = 0;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return lat;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: Math.round(percentile(s, 50)), p95: Math.round(percentile(s, 95)), n: s.length };
};

export async function main(args: string[]): Promise<void> {
  const seconds = Number(arg(args, "--seconds") ?? 8);
  const width = Number(arg(args, "--width") ?? 1280);
  const height = Number(arg(args, "--height") ?? 720);
  const maxStreams = Number(arg(args, "--max-streams") ?? 16);
  const stepSeconds = Number(arg(args, "--step-seconds") ?? 6);
  const skipCapacity = args.includes("--skip-capacity");
  const tmp = await mkdtemp(join(tmpdir(), "live17-bench-"));
  const keys = new MemoryStreamKeys();
  const node = await LiveNode.start({
    rtmpPort: 0,
    authorize: keys.authorize,
    hlsRoot: join(tmp, "hls"),
    limits: { maxStreams: maxStreams + 1, maxBitrateKbps: 0 },
    log: silentLogger(),
  });
  const handle = node.routes()[0]!.handle!;
  const server = http.createServer((req, res) => void handle(req, res));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const rtmp = `rtmp://127.0.0.1:${node.rtmpPort}/live`;
  const httpRead = (id: string) => async (name: string) => {
    const r = await fetch(`${base}/live/${id}/${name}`);
    return r.ok ? Buffer.from(await r.arrayBuffer()) : undefined;
  };
  try {
    // 1. Ours.
    console.log(`live: ${width}x${height}@30 published for ${seconds} s (machine load: ${loadavg()})`);
    const clock = new MediaClock();
    const key = keys.issue("bench");
    const accepted = once(node, "publishing");
    const t0 = Date.now();
    const pub = new FfmpegProcess({
      args: publisherArgs({ url: `${rtmp}/${key}`, width, height, videoKbps: 2500, onProgress: () => {} }),
      onStdout: clock.onProgress,
    });
    await accepted;
    const acceptedMs = Date.now() - t0;
    await waitFor(() => (node.hlsDir("bench") ? true : undefined), 15_000);
    const remuxPid = node.remuxPid("bench")!;
    const cpu0 = { remux: cpuTicks(remuxPid), self: process.cpuUsage(), at: Date.now() };
    const [hls, flv] = await Promise.all([
      watchHls(httpRead("bench"), clock, t0, seconds, tmp),
      watchFlv(`${base}/live/bench.flv`, clock, seconds, 2000),
    ]);
    const wall = Date.now() - cpu0.at;
    const remuxCpuPct = Math.round(((cpuTicks(remuxPid) - cpu0.remux) * TICK_MS * 100) / wall);
    const selfUse = process.cpuUsage(cpu0.self);
    const nodeCpuPct = Math.round((selfUse.user + selfUse.system) / 10 / wall);
    await pub.stop();
    const ours = { hls: stats(hls.ages), flv: stats(flv) };
    console.log(
      `  ours   accepted ${acceptedMs} ms, first playlist ${hls.firstPlaylistMs} ms, first segment ${hls.firstSegmentMs} ms after the publisher started`,
    );
    console.log(
      `         glass-to-glass HTTP-FLV p50 ${ours.flv.p50} ms p95 ${ours.flv.p95} ms; HLS (first frame of a new segment, fetched) p50 ${ours.hls.p50} ms p95 ${ours.hls.p95} ms (${ours.hls.n} segments)`,
    );
    console.log(
      `         CPU: remux ffmpeg ${remuxCpuPct} % of a core, this process (ingest, HTTP, the bench's polling) ${nodeCpuPct} %`,
    );

    // 2. Raw baseline: publisher → ffmpeg listening for RTMP → the same HLS.
    const rawDir = join(tmp, "raw");
    await rm(rawDir, { recursive: true, force: true });
    await mkdir(rawDir, { recursive: true });
    const rawPort = await freePort();
    const rawArgs = remuxArgs(`rtmp://127.0.0.1:${rawPort}/live/raw`, rawDir, DEFAULT_HLS, "raw");
    rawArgs.splice(rawArgs.indexOf("-i"), 0, "-listen", "1");
    const rawRemux = new FfmpegProcess({ args: rawArgs });
    await waitFor(async () => ((await portOpen(rawPort)) ? true : undefined), 10_000);
    const rawClock = new MediaClock();
    const rt0 = Date.now();
    const rawPub = new FfmpegProcess({
      args: publisherArgs({
        url: `rtmp://127.0.0.1:${rawPort}/live/raw`,
        width,
        height,
        videoKbps: 2500,
        onProgress: () => {},
      }),
      onStdout: rawClock.onProgress,
    });
    const fileRead = async (name: string) => {
      const p = join(rawDir, name);
      return existsSync(p) ? readFile(p).catch(() => undefined) : undefined;
    };
    const rawHls = await watchHls(fileRead, rawClock, rt0, seconds, tmp);
    await rawPub.stop();
    await rawRemux.stop();
    const raw = stats(rawHls.ages);
    console.log(
      `  raw    first playlist ${rawHls.firstPlaylistMs} ms, first segment ${rawHls.firstSegmentMs} ms; HLS glass-to-glass p50 ${raw.p50} ms p95 ${raw.p95} ms`,
    );
    const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : null);

    // 4. Capacity.
    let held = 0;
    if (!skipCapacity) held = await capacity(node, keys, rtmp, tmp, width, height, maxStreams, stepSeconds);

    console.log(
      JSON.stringify({
        scenario: "live",
        resolution: `${width}x${height}`,
        acceptedMs,
        firstPlaylistMs: hls.firstPlaylistMs,
        firstSegmentMs: hls.firstSegmentMs,
        flvLatencyP50Ms: ours.flv.p50,
        flvLatencyP95Ms: ours.flv.p95,
        hlsLatencyP50Ms: ours.hls.p50,
        hlsLatencyP95Ms: ours.hls.p95,
        rawFirstSegmentMs: rawHls.firstSegmentMs,
        rawHlsLatencyP50Ms: raw.p50,
        firstSegmentRatio: ratio(hls.firstSegmentMs, rawHls.firstSegmentMs),
        hlsLatencyRatio: ratio(ours.hls.p50, raw.p50),
        remuxCpuPct,
        nodeCpuPct,
        concurrentStreamsHeld: skipCapacity ? null : held,
        goals: { firstFrameMs: 3000, glassToGlassMs: 4000 },
        load: loadavg(),
      }),
    );
  } finally {
    await node.stop();
    await stopAllFfmpeg();
    server.close();
    await rm(tmp, { recursive: true, force: true });
  }
}

async function capacity(
  node: LiveNode,
  keys: MemoryStreamKeys,
  rtmp: string,
  tmp: string,
  width: number,
  height: number,
  maxStreams: number,
  stepSeconds: number,
): Promise<number> {
  const clip = join(tmp, "clip.flv");
  console.log("  capacity: encoding a 10 s clip once …");
  await run("ffmpeg", [
    "-hide_banner",
    "-loglevel",
    "error",
    ...publisherArgs({ url: clip, width, height, videoKbps: 2500, seconds: 10 }).filter((a) => a !== "-re"),
  ]);
  let held = 0;
  const pubs: FfmpegProcess[] = [];
  const ids: string[] = [];
  for (let n = 1; n <= maxStreams; n *= 2) {
    while (ids.length < n) {
      const id = `cap${ids.length}`;
      const key = keys.issue(id);
      ids.push(id);
      pubs.push(
        new FfmpegProcess({
          args: [
            "-loglevel",
            "error",
            "-re",
            "-stream_loop",
            "-1",
            "-i",
            clip,
            "-c",
            "copy",
            "-f",
            "flv",
            `${rtmp}/${key}`,
          ],
        }),
      );
    }
    try {
      await waitFor(() => (ids.every((id) => node.hlsDir(id)) ? true : undefined), 20_000);
    } catch {
      console.log(`  capacity: ${n} streams did not all start`);
      break;
    }
    // Hold: every stream's newest segment must stay fresh.
    const limitMs = 3 * DEFAULT_HLS.segmentSeconds * 1000 + 1000;
    let ok = true;
    const end = Date.now() + stepSeconds * 1000;
    const pids = ids.map((id) => node.remuxPid(id)!);
    const c0 = pids.reduce((s, p) => s + cpuTicks(p), 0);
    const self0 = process.cpuUsage();
    const w0 = Date.now();
    while (Date.now() < end && ok) {
      for (const id of ids) {
        const dir = node.hlsDir(id);
        const newest = dir ? newestSegmentAge(dir) : undefined;
        if (newest === undefined || newest > limitMs) ok = false;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const wall = Date.now() - w0;
    const remuxPct = Math.round(((pids.reduce((s, p) => s + cpuTicks(p), 0) - c0) * TICK_MS * 100) / wall);
    const su = process.cpuUsage(self0);
    const selfPct = Math.round((su.user + su.system) / 10 / wall);
    console.log(
      `  capacity: ${n} streams ${ok ? "held" : "fell behind"}; remux ffmpegs ${remuxPct} % of a core in all, node ${selfPct} % (load ${loadavg()})`,
    );
    if (!ok) break;
    held = n;
  }
  await Promise.all(pubs.map((p) => p.stop()));
  return held;
}

function newestSegmentAge(dir: string): number | undefined {
  try {
    const pl = readFileSync(join(dir, PLAYLIST), "utf8");
    const dates = [...pl.matchAll(/#EXT-X-PROGRAM-DATE-TIME:(.+)/g)];
    if (dates.length === 0) return undefined;
    // The newest segment's start (program date time = the remux's wall clock) plus its duration.
    const last = Date.parse(dates[dates.length - 1]![1]!);
    const dur = Number(/#EXTINF:([\d.]+)/g.exec(pl.slice(pl.lastIndexOf("#EXTINF")))?.[1] ?? 0) * 1000;
    return Date.now() - (last + dur);
  } catch {
    return undefined;
  }
}

function loadavg(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = (s.address() as { port: number }).port;
  s.close();
  return port;
}

/** Whether something listens on 127.0.0.1:port (from /proc/net/tcp; connecting would use up ffmpeg's one listen). */
async function portOpen(port: number): Promise<boolean> {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const table = await readFile("/proc/net/tcp", "utf8");
  return table.split("\n").some((l) => {
    const f = l.trim().split(/\s+/);
    return f[1]?.endsWith(`:${hex}`) && f[3] === "0A";
  });
}
