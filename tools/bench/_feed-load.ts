/**
 * The feed bench's load generator, in a worker thread: GetHomeFeed calls over
 * `connections` HTTP/2 connections (so a bundle with --workers spreads them),
 * `concurrency` in flight, for `seconds`. The bench's main thread only waits,
 * and the bundle's own CPU time is read from /proc (loadCpu below), so the
 * client's cost is neither hidden in nor added to the server's.
 */
import { readdirSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parentPort, Worker, workerData } from "node:worker_threads";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { FeedService } from "../../gen/orbit/feed/v1/feed_pb.js";

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

async function main(spec: LoadSpec): Promise<LoadResult> {
  const clients = Array.from({ length: spec.connections }, () =>
    createClient(FeedService, createConnectTransport({ baseUrl: spec.url, httpVersion: "2", useBinaryFormat: true })),
  );
  const lat: number[] = [];
  let errors = 0;
  let i = 0;
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const end = t0 + spec.seconds * 1000;
  const loop = async (k: number) => {
    const client = clients[k % clients.length]!;
    while (performance.now() < end) {
      const token = spec.tokens[(i++ * spec.stride) % spec.tokens.length]!;
      const s = performance.now();
      try {
        await client.getHomeFeed({ pageSize: spec.pageSize }, { headers: { authorization: `Bearer ${token}` } });
        lat.push(performance.now() - s);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, k) => loop(k)));
  const seconds = (performance.now() - t0) / 1000;
  const elu = performance.eventLoopUtilization(elu0);
  return { latencies: Float64Array.from(lat), seconds, errors, clientBusyMs: Math.round(elu.active) };
}

if (parentPort && (workerData as LoadSpec | undefined)?.url) {
  const port = parentPort;
  void main(workerData as LoadSpec).then((r) => port.postMessage(r));
}
