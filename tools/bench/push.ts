/**
 * `npm run bench -- push [size] [--clients N] [--rate R] [--seconds S] [--deliveries D]`
 *
 * N WebSocket devices (N = 10,000 × size; size 1 by default) on one push
 * gateway: a bundle running the `push` service in this process, on SQLite
 * (a temp dir), with a dev token per user and one device per user. The
 * devices run in a child process (tools/bench/_push-clients.ts), so they do
 * not share the server's event loop, and their memory is not counted.
 *
 *  1. Memory per idle connection: this process's RSS and V8 heap (after a
 *     full GC) before and after the N devices connected and got their Hello,
 *     delta ÷ N.
 *  2. Latency at a fixed rate: R deliveries/s (default 5,000) for S seconds
 *     (default 5): every 10 ms one durable update (`ctx.push.toUsers`, its
 *     own transaction) to the next R/100 users, round robin; send→receive
 *     latency p50/p99 over every delivery (the send time is in the update).
 *  3. Throughput: D deliveries (default 200,000) as updates to every user,
 *     as fast as the server takes them (up to 4 appends in flight), from the
 *     first send to the last receipt.
 * For 2 and 3 it also reports the CPU the server's process and the devices'
 * process used (% of one core): on a 2-core machine, devices that need a
 * whole core leave the server one, and the figures say so.
 *
 * Baseline in the same run, with the same devices' code and numbers: a bare
 * `ws` server sending the same bytes (each device's Update, encoded as the
 * gateway does) with no store, no session, no sequence checks: the same
 * three measurements. Each server runs in a fresh process of its own
 * (`--only gateway|bare`, which this run starts one after the other), so
 * its memory figures are its own.
 * Goals: ≤ 40 KB per idle connection; p99 ≤ 50 ms at 5,000 deliveries/s;
 * throughput ≥ 0.5× the bare server.
 *
 * At full size both processes hold 10,000 sockets: `ulimit -n` must allow
 * ~10,100 descriptors per process (docs/push.md).
 */
import { fork, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { create, toBinary } from "@bufbuild/protobuf";
import { WebSocketServer, type WebSocket } from "ws";
import { UpdateSchema } from "../../gen/orbit/push/v1/push_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import type { PushView } from "../../platform/kernel/parts/push.js";
import { Registry } from "../../platform/kernel/registry.js";
import { defineService } from "../../platform/kernel/service.js";
import { silentLogger } from "../../platform/log.js";
import { openSqlStore } from "../../platform/storage/open.js";
import { push } from "../../services/push/service.js";
import { fmt, percentile } from "./_measure.js";
import type { ClientCommand, Collected } from "./_push-clients.js";

const wallMs = (): number => performance.timeOrigin + performance.now();
const TICK_MS = 10;
const INFLIGHT = 4;

v8.setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The devices' process. */
class Devices {
  private readonly child = fork(fileURLToPath(new URL("./_push-clients.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });

  ask<T>(c: ClientCommand): Promise<T> {
    return new Promise((resolve, reject) => {
      this.child.once("message", (m: { ok?: T; error?: string }) =>
        m.error !== undefined ? reject(new Error(m.error)) : resolve(m.ok as T),
      );
      this.child.send(c);
    });
  }

  close(): void {
    this.child.disconnect();
  }
}

/** The notice's data: the send time (ms, float64 LE). */
function stamp(): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, wallMs(), true);
  return b;
}

const notice = () => ({ case: "notice" as const, value: { kind: "bench", text: "", data: stamp() } });

/** What a server under test does: send one update to each of `users` (indexes 0..N-1). */
interface Server {
  readonly name: string;
  readonly url: string;
  readonly hello: boolean;
  send(users: readonly number[]): Promise<void>;
  stop(): Promise<void>;
}

async function gatewayServer(n: number, dir: string): Promise<Server> {
  let view: PushView | undefined;
  const pusher = defineService({
    name: "bench-pusher",
    build(ctx) {
      view = ctx.push;
      return {};
    },
  });
  const devTokens: Record<string, string> = {};
  for (let i = 0; i < n; i++) devTokens[`bench-${i}`] = String(1000 + i);
  const db = openSqlStore(`sqlite:${join(dir, "push.db")}`);
  const bundle = await Bundle.start({
    registry: new Registry([push, pusher]),
    config: {
      ...DEFAULT_CONFIG,
      services: ["push", "bench-pusher"],
      host: "127.0.0.1",
      port: 0,
      devTokens,
      // Every device comes from 127.0.0.1 (the default allows 256 per address).
      maxConnectionsPerAddress: 0,
      // The sockets stay open for the whole run; the bench measures, it does not idle out.
      settings: { push: { idleTimeoutMs: 600_000, heartbeatMs: 300_000 } },
    },
    db,
    log: silentLogger(),
  });
  const ids = Array.from({ length: n }, (_, i) => BigInt(1000 + i));
  return {
    name: "gateway",
    url: `${bundle.url!.replace(/^http/, "ws")}/ws`,
    hello: true,
    send: (users) =>
      view!.toUsers(
        undefined,
        users.map((i) => ids[i]!),
        notice(),
      ),
    async stop() {
      await bundle.stop();
      await db.close();
    },
  };
}

/** A bare `ws` server: the same bytes (an Update with the device's next sequence), nothing else. */
async function bareServer(n: number): Promise<Server> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  const sockets: WebSocket[] = [];
  const seqs = new Array<bigint>(n).fill(0n);
  wss.on("connection", (ws) => sockets.push(ws));
  return {
    name: "bare ws",
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
    hello: false,
    async send(users) {
      const payload = notice();
      const atMs = BigInt(Date.now());
      for (const i of users) {
        const ws = sockets[i];
        if (!ws) continue;
        seqs[i]! += 1n;
        ws.send(toBinary(UpdateSchema, create(UpdateSchema, { sequence: seqs[i]!, atMs, payload })), { binary: true });
      }
    },
    async stop() {
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

interface Figures {
  readonly clients: number;
  readonly connectSeconds: number;
  readonly rssPerConnKB: number;
  readonly heapPerConnKB: number;
  readonly fixed: {
    rate: number;
    delivered: number;
    expected: number;
    perSec: number;
    p50Ms: number;
    p99Ms: number;
    /** The server's own time per send (one tick's users), p50/p99. */
    sendP50Ms: number;
    sendP99Ms: number;
    /** CPU (user + system) over the phase, in % of one core: the server's and the devices' process. */
    serverCpuPct: number;
    devicesCpuPct: number;
  };
  readonly max: {
    delivered: number;
    expected: number;
    perSec: number;
    p50Ms: number;
    p99Ms: number;
    serverCpuPct: number;
    devicesCpuPct: number;
  };
  readonly cutOff: number;
}

/** CPU this process used since `from` (taken at `t0`), in % of one core, and the wall ms. */
function cpuPct(from: NodeJS.CpuUsage, t0: number): { pct: number; ms: number } {
  const d = process.cpuUsage(from);
  const ms = performance.now() - t0;
  return { pct: Math.round(((d.user + d.system) / 1000 / ms) * 100), ms };
}

function memory(): { rss: number; heap: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

async function measure(
  server: Server,
  devices: Devices,
  n: number,
  rate: number,
  seconds: number,
  deliveries: number,
): Promise<Figures> {
  const tokens = Array.from({ length: n }, (_, i) => `bench-${i}`);
  // 1. Idle connections.
  const m0 = memory();
  const c0 = performance.now();
  await devices.ask({ op: "connect", url: server.url, tokens, hello: server.hello, concurrency: 64 });
  const connectSeconds = (performance.now() - c0) / 1000;
  await new Promise((r) => setTimeout(r, 500));
  const m1 = memory();
  const perConn = (bytes: number) => +(bytes / n / 1024).toFixed(2);

  // 2. Fixed rate: every 10 ms one update to the next rate/100 users.
  const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));
  const ticks = Math.round((seconds * 1000) / TICK_MS);
  let next = 0;
  const pending = new Set<Promise<void>>();
  /** How long each send took in the server (the gateway: append + hand to the sessions). */
  const sendMs: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let k = 0; k < ticks; k++) {
    const due = t0 + k * TICK_MS;
    const wait = due - performance.now();
    // Behind schedule (the process did not get the CPU in time) the tick runs at once, but still
    // yields first, so the previous sends' completions are timed when they happen.
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else await null;
    const users = Array.from({ length: perTick }, () => next++ % n);
    const s0 = performance.now();
    const p = server.send(users).finally(() => {
      sendMs.push(performance.now() - s0);
      pending.delete(p);
    });
    pending.add(p);
  }
  await Promise.all(pending);
  const fixedExpected = ticks * perTick;
  const f = await devices.ask<Collected>({ op: "collect", expected: fixedExpected, timeoutMs: 30_000 });
  const fixedCpu = cpuPct(cpu0, t0);

  // 3. Throughput: updates to every user, up to INFLIGHT in flight.
  const rounds = Math.max(1, Math.ceil(deliveries / n));
  const all = Array.from({ length: n }, (_, i) => i);
  const s0 = wallMs();
  const cpu1 = process.cpuUsage();
  const p0 = performance.now();
  let r = 0;
  await Promise.all(
    Array.from({ length: INFLIGHT }, async () => {
      while (r < rounds) {
        r++;
        await server.send(all);
        await new Promise((res) => setImmediate(res));
      }
    }),
  );
  const maxExpected = rounds * n;
  const t = await devices.ask<Collected>({ op: "collect", expected: maxExpected, timeoutMs: 120_000 });
  const maxCpu = cpuPct(cpu1, p0);
  await devices.ask({ op: "close" });
  return {
    clients: n,
    connectSeconds: +connectSeconds.toFixed(2),
    rssPerConnKB: perConn(m1.rss - m0.rss),
    heapPerConnKB: perConn(m1.heap - m0.heap),
    fixed: {
      rate,
      delivered: f.count,
      expected: fixedExpected,
      perSec: Math.round(f.count / ((f.lastMs - f.firstMs) / 1000 || 1)),
      p50Ms: f.p50Ms,
      p99Ms: f.p99Ms,
      sendP50Ms: +percentile(
        sendMs.sort((a, b) => a - b),
        50,
      ).toFixed(2),
      sendP99Ms: +percentile(sendMs, 99).toFixed(2),
      serverCpuPct: fixedCpu.pct,
      devicesCpuPct: Math.round((f.cpuMs / fixedCpu.ms) * 100),
    },
    max: {
      delivered: t.count,
      expected: maxExpected,
      perSec: Math.round(t.count / ((t.lastMs - s0) / 1000 || 1)),
      p50Ms: t.p50Ms,
      p99Ms: t.p99Ms,
      serverCpuPct: maxCpu.pct,
      devicesCpuPct: Math.round((t.cpuMs / maxCpu.ms) * 100),
    },
    cutOff: Math.max(f.closed, t.closed),
  };
}

function print(name: string, f: Figures): void {
  console.log(`\n${name}: ${fmt(f.clients)} devices connected in ${f.connectSeconds} s`);
  console.log(`  idle connection: RSS ${f.rssPerConnKB} KB, heap ${f.heapPerConnKB} KB per connection`);
  console.log(
    `  ${fmt(f.fixed.rate)} deliveries/s for the window: ${fmt(f.fixed.delivered)}/${fmt(f.fixed.expected)} delivered, ` +
      `p50 ${f.fixed.p50Ms} ms, p99 ${f.fixed.p99Ms} ms (the server's send of a tick: p50 ${f.fixed.sendP50Ms} ms, p99 ${f.fixed.sendP99Ms} ms); ` +
      `CPU: server ${f.fixed.serverCpuPct} %, devices ${f.fixed.devicesCpuPct} % of a core`,
  );
  console.log(
    `  flat out: ${fmt(f.max.delivered)}/${fmt(f.max.expected)} delivered, ${fmt(f.max.perSec)} deliveries/s, ` +
      `p50 ${f.max.p50Ms} ms, p99 ${f.max.p99Ms} ms; CPU: server ${f.max.serverCpuPct} %, devices ${f.max.devicesCpuPct} % of a core`,
  );
  if (f.cutOff) console.log(`  ${f.cutOff} sockets closed by the server`);
}

function options(args: string[]) {
  const size = args[0] && !args[0].startsWith("--") ? Number(args[0]) : 1;
  const o = {
    n: Number(arg(args, "--clients") ?? Math.max(1, Math.round(10_000 * size))),
    rate: Number(arg(args, "--rate") ?? 5_000),
    seconds: Number(arg(args, "--seconds") ?? 5),
    deliveries: Number(arg(args, "--deliveries") ?? 200_000),
  };
  if (!Object.values(o).every((x) => Number.isFinite(x) && x > 0)) {
    throw new Error("usage: npm run bench -- push [size] [--clients N] [--rate R] [--seconds S] [--deliveries D]");
  }
  return o;
}

/** `--only gateway|bare`: one server, in this process; prints its figures as the last line. */
async function one(kind: string, args: string[]): Promise<void> {
  const { n, rate, seconds, deliveries } = options(args);
  const dir = mkdtempSync(join(tmpdir(), "orbit-bench-push-"));
  const devices = new Devices();
  try {
    const server = kind === "gateway" ? await gatewayServer(n, dir) : await bareServer(n);
    let f: Figures;
    try {
      f = await measure(server, devices, n, rate, seconds, deliveries);
    } finally {
      await server.stop();
    }
    console.log(JSON.stringify(f));
  } finally {
    devices.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `npm run bench -- push <args> --only <kind>` in a fresh process: each server's memory is its own. */
function runOne(kind: string, args: string[]): Promise<Figures> {
  const runner = fileURLToPath(new URL("./run.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", runner, "push", ...args, "--only", kind], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString("utf8")));
  return new Promise((resolve, reject) =>
    child.once("exit", (code) => {
      const last = out.trim().split("\n").at(-1) ?? "";
      if (code !== 0) return reject(new Error(`the ${kind} run exited with ${code}:\n${out}`));
      resolve(JSON.parse(last) as Figures);
    }),
  );
}

export async function main(args: string[]): Promise<void> {
  const only = arg(args, "--only");
  if (only !== undefined) {
    if (only !== "gateway" && only !== "bare") throw new Error("--only gateway|bare");
    return one(only, args);
  }
  const { n, rate, seconds, deliveries } = options(args);
  const load0 = loadavg();
  console.log(
    `push: ${fmt(n)} devices, ${fmt(rate)} deliveries/s for ${seconds} s, ${fmt(deliveries)} deliveries flat out; ` +
      `load average ${load0.map((x) => x.toFixed(2)).join(" ")}`,
  );
  const ours = await runOne("gateway", args);
  print("gateway (push service, SQLite)", ours);
  const base = await runOne("bare", args);
  print("bare ws server (baseline)", base);
  const ratio = +(ours.max.perSec / base.max.perSec).toFixed(2);
  const goals = {
    idleKB: ours.rssPerConnKB <= 40 && ours.heapPerConnKB <= 40,
    p99: ours.fixed.p99Ms <= 50 && ours.fixed.delivered === ours.fixed.expected,
    throughput: ratio >= 0.5,
  };
  const load1 = loadavg();
  console.log(
    `\nthroughput gateway/bare: ${ratio}× (goal ≥ 0.5×); goals: ≤ 40 KB per idle connection ${goals.idleKB ? "met" : "MISSED"}, ` +
      `p99 ≤ 50 ms at ${fmt(rate)}/s ${goals.p99 ? "met" : "MISSED"}, throughput ${goals.throughput ? "met" : "MISSED"}; ` +
      `load average at the end ${load1.map((x) => x.toFixed(2)).join(" ")}`,
  );
  console.log(
    JSON.stringify({
      scenario: "push",
      clients: n,
      rate,
      seconds,
      deliveries,
      gateway: ours,
      bare: base,
      throughputRatio: ratio,
      goals,
      loadAverage: { start: load0.map((x) => +x.toFixed(2)), end: load1.map((x) => +x.toFixed(2)) },
    }),
  );
}
