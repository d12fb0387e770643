/**
 * The feed bench's load generator, in a worker thread: GetHomeFeed calls over
 * `connections` HTTP/2 connections (so a bundle with --workers spreads them),
 * `concurrency` in flight, for `seconds`. The bench's main thread only waits,
 * and the bundle's own CPU time is read from /proc (loadCpu below), so the
 * client's cost is neither hidden in nor added to the server's.
 *
 * The calls are binary Connect unary requests made with a bare node:http2
 * client (the request encoded once; an answer counts when it is a 200 with
 * `application/proto` and a body): connect-es's client spent ~2 ms of CPU per
 * call decoding the 20-post answers, so one load thread capped the bench at
 * ~400 calls/s whatever the server did. The answers' content is checked
 * elsewhere (the bench's `checked`/`mismatches`).
 */
import { readdirSync, readFileSync } from "node:fs";
import http2 from "node:http2";
import { performance } from "node:perf_hooks";
import { parentPort, Worker, workerData } from "node:worker_threads";
import { create, toBinary } from "@bufbuild/protobuf";
import { GetHomeFeedRequestSchema, FeedService } from "../../gen/orbit/feed/v1/feed_pb.js";

export interface LoadSpec {
  readonly url: string;
  /** Bearer tokens of the readers, called in turn (stride `stride`). */
  readonly tokens: readonly string[];
  readonly pageSize: number;
  readonly seconds: number;
  readonly concurrency: number;
  readonly connections: number;
  readonly stride: number;
}

export interface LoadResult {
  /** Latency of each call, ms. */
  readonly latencies: Float64Array;
  readonly seconds: number;
  readonly errors: number;
  /** CPU the load thread used (its event loop's busy time), ms. */
  readonly clientBusyMs: number;
}

/** Runs `spec` in a worker thread. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    // The thread loads this TypeScript file through tsx, as the bench's own thread does.
    const boot = `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
    const w = new Worker(boot, { eval: true, workerData: spec });
    w.once("message", (r: LoadResult) => resolve(r));
    w.once("error", reject);
    w.once("exit", (code) => code !== 0 && reject(new Error(`load worker exited ${code}`)));
  });
}

/** CPU seconds (user + system) used so far by process `pid` and its children (cluster workers). */
export function processTreeCpu(pid: number): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  const parse = (p: number) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / tick };
    } catch {
      return undefined;
    }
  };
  const self = parse(pid);
  if (!self) return 0;
  total += self.cpu;
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const s = parse(Number(d));
    if (s && s.ppid === pid) total += s.cpu;
  }
  return total;
}

const PATH = `/${FeedService.typeName}/${FeedService.method.getHomeFeed.name}`;

/** One GetHomeFeed over `session`: resolves on a 200 `application/proto` answer with a body. */
function getHomeFeed(session: http2.ClientHttp2Session, body: Uint8Array, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = session.request({
      ":method": "POST",
      ":path": PATH,
      "content-type": "application/proto",
      authorization: `Bearer ${token}`,
    });
    let ok = false;
    let bytes = 0;
    req.on("response", (h) => (ok = h[":status"] === 200 && h["content-type"] === "application/proto"));
    req.on("data", (c: Buffer) => (bytes += c.length));
    req.on("end", () => (ok && bytes > 0 ? resolve() : reject(new Error("not a GetHomeFeed answer"))));
    req.on("error", reject);
    req.end(body);
  });
}

async function main(spec: LoadSpec): Promise<LoadResult> {
  const body = toBinary(GetHomeFeedRequestSchema, create(GetHomeFeedRequestSchema, { pageSize: spec.pageSize }));
  const sessions = Array.from({ length: spec.connections }, () => http2.connect(spec.url));
  const lat: number[] = [];
  let errors = 0;
  let i = 0;
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const end = t0 + spec.seconds * 1000;
  const loop = async (k: number) => {
    const session = sessions[k % sessions.length]!;
    while (performance.now() < end) {
      const token = spec.tokens[(i++ * spec.stride) % spec.tokens.length]!;
      const s = performance.now();
      try {
        await getHomeFeed(session, body, token);
        lat.push(performance.now() - s);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, k) => loop(k)));
  const seconds = (performance.now() - t0) / 1000;
  const elu = performance.eventLoopUtilization(elu0);
  for (const session of sessions) session.close();
  return { latencies: Float64Array.from(lat), seconds, errors, clientBusyMs: Math.round(elu.active) };
}

if (parentPort && (workerData as LoadSpec | undefined)?.url) {
  const port = parentPort;
  void main(workerData as LoadSpec).then((r) => port.postMessage(r));
}
