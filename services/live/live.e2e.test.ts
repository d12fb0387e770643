/**
 * Real RTMP publishing (ffmpeg) into the live node: HLS out fetched over HTTP
 * and probed with ffprobe, HTTP-FLV, refused keys, one publisher per key, a
 * publisher cut mid-stream, a silent publisher, a stream over the size cap.
 * Streams are small (320x180) and short; every wait is on a condition.
 */
import http from "node:http";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../platform/log.js";
import { type FfmpegProcess, pidAlive, runningFfmpegPids } from "../../platform/ffmpeg/process.js";
import { LiveNode, type LiveEnded, type LiveStarted } from "./node.js";
import { MemoryStreamKeys } from "./keys.js";
import { startPublisher } from "./testing/publisher.js";

const run = promisify(execFile);
let node: LiveNode;
let server: http.Server;
let base: string;
let tmp: string;
const keys = new MemoryStreamKeys();
const publishers: FfmpegProcess[] = [];

function publish(key: string, opts: { width?: number; height?: number } = {}): FfmpegProcess {
  const p = startPublisher({ url: `rtmp://127.0.0.1:${node.rtmpPort}/live/${key}`, ...opts });
  publishers.push(p);
  return p;
}

function nextEvent(event: "live", streamId: string): Promise<LiveStarted>;
function nextEvent(event: "ended", streamId: string): Promise<LiveEnded>;
function nextEvent(event: "live" | "ended", streamId: string): Promise<LiveStarted | LiveEnded> {
  return new Promise((resolve) => {
    const emitter = node as unknown as import("node:events").EventEmitter;
    const on = (e: LiveStarted | LiveEnded) => {
      if (e.streamId !== streamId) return;
      emitter.off(event, on);
      resolve(e);
    };
    emitter.on(event, on);
  });
}

function nextRefusal(): Promise<string> {
  return once(node.ingest, "refused").then(([r]) => (r as { reason: string }).reason);
}

async function get(path: string): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const r = await fetch(base + path);
  return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "live17-test-"));
  node = await LiveNode.start({
    rtmpPort: 0,
    authorize: keys.authorize,
    hlsRoot: join(tmp, "hls"),
    limits: { maxStreams: 2, silenceTimeoutMs: 1500, maxWidth: 320, maxHeight: 240, maxBitrateKbps: 4000 },
    log: silentLogger(),
  });
  const handle = node.routes()[0]!.handle!;
  server = http.createServer((req, res) => void handle(req, res));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  for (const p of publishers) p.killNow();
  await Promise.all(publishers.map((p) => p.exited));
  await node?.stop();
  server?.close();
  expect(runningFfmpegPids()).toEqual([]);
  await rm(tmp, { recursive: true, force: true });
});

describe("live ingest and HLS out", () => {
  it("publishes, serves HLS (probed) and HTTP-FLV, and ends with its publisher, remux process gone", async () => {
    const key = keys.issue("s-main");
    const live = nextEvent("live", "s-main");
    const pub = publish(key);
    const started = await live;
    expect(started.input).toMatchObject({ videoCodec: "h264", width: 320, height: 180, audioCodec: "aac" });
    const remuxPid = node.remuxPid("s-main")!;
    expect(pidAlive(remuxPid)).toBe(true);

    const pl = await get("/live/s-main/index.m3u8");
    expect(pl.status).toBe(200);
    expect(pl.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
    expect(pl.headers.get("cache-control")).toBe("no-cache");
    const text = pl.body.toString();
    expect(text).toContain("#EXT-X-PROGRAM-DATE-TIME");
    const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(text)![1]!;
    const seg = text.split("\n").find((l) => l.endsWith(".m4s"))!;
    const initRes = await get(`/live/s-main/${init}`);
    const segRes = await get(`/live/s-main/${seg}`);
    expect(segRes.status).toBe(200);
    expect(segRes.headers.get("cache-control")).toContain("immutable");
    const file = join(tmp, "probe.mp4");
    await writeFile(file, Buffer.concat([initRes.body, segRes.body]));
    const { stdout } = await run("ffprobe", ["-v", "error", "-show_streams", "-of", "json", file]);
    const streams = (JSON.parse(stdout) as { streams: { codec_name: string; width?: number }[] }).streams;
    expect(streams.map((s) => s.codec_name).sort()).toEqual(["aac", "h264"]);
    expect(streams.find((s) => s.codec_name === "h264")?.width).toBe(320);

    const flv = await fetch(`${base}/live/s-main.flv`);
    expect(flv.headers.get("content-type")).toBe("video/x-flv");
    const reader = flv.body!.getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value!).subarray(0, 3).toString()).toBe("FLV");
    await reader.cancel();

    expect((await get("/live/s-main/../../etc/passwd")).status).toBe(404);
    expect((await get("/live/nope/index.m3u8")).status).toBe(404);

    const ended = nextEvent("ended", "s-main");
    pub.killNow(); // the publisher drops mid-stream
    expect((await ended).reason).toBe("publisher-left");
    await waitFor(() => !pidAlive(remuxPid));
    expect((await get("/live/s-main/index.m3u8")).status).toBe(404);
  });

  it("refuses a wrong, a revoked and an expired key", async () => {
    const attempts = [
      "wrongwrongwrongwrong",
      (() => {
        const k = keys.issue("s-revoked");
        keys.revoke(k);
        return k;
      })(),
      keys.issue("s-expired", { ttlMs: 1, now: Date.now() - 1000 }),
    ];
    const reasons: string[] = [];
    for (const key of attempts) {
      const refused = nextRefusal();
      const pub = publish(key);
      reasons.push(await refused);
      const exit = await pub.exited;
      expect(exit.code).not.toBe(0);
    }
    expect(reasons).toEqual(["unknown stream key", "this stream key was revoked", "this stream key has expired"]);
    expect(node.ingest.live()).toEqual([]);
  });

  it("takes one publisher per key; a silent publisher is ended and its remux with it", async () => {
    const key = keys.issue("s-silent");
    const live = nextEvent("live", "s-silent");
    const pub = publish(key);
    await live;
    const refused = nextRefusal();
    const second = publish(key);
    expect(await refused).toBe("this key is already publishing");
    expect((await second.exited).code).not.toBe(0);

    const remuxPid = node.remuxPid("s-silent")!;
    const ended = nextEvent("ended", "s-silent");
    pub.signal("SIGSTOP"); // the publisher's socket stays open, no data flows
    const e = await ended;
    expect(e.reason).toBe("silent");
    await waitFor(() => !pidAlive(remuxPid));
    pub.killNow();
  });

  it("refuses a publish beyond the node's stream limit", async () => {
    const a = nextEvent("live", "s-a");
    const b = nextEvent("live", "s-b");
    const pa = publish(keys.issue("s-a"));
    const pb = publish(keys.issue("s-b"));
    await Promise.all([a, b]);
    const refused = nextRefusal();
    const pc = publish(keys.issue("s-c"));
    expect(await refused).toBe("this node ingests at most 2 streams");
    expect((await pc.exited).code).not.toBe(0);
    const ended = Promise.all([nextEvent("ended", "s-a"), nextEvent("ended", "s-b")]);
    pa.killNow();
    pb.killNow();
    await ended;
  });

  it("ends a stream over the resolution cap", async () => {
    const key = keys.issue("s-big");
    const ended = nextEvent("ended", "s-big");
    publish(key, { width: 352, height: 198 });
    const e = await ended;
    expect(e.reason).toBe("resolution");
    expect(e.detail).toContain("352x198");
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
