/**
 * The push bench's devices, in a process of their own (forked by
 * tools/bench/push.ts) so that N WebSocket clients do not take CPU or memory
 * from the server being measured unnoticed. It answers commands over IPC:
 *
 *  - `connect`: opens one WebSocket per token to `url` (bearer token in the
 *    header; a bare server ignores it), `concurrency` handshakes at a time,
 *    and answers once every socket is open (and, with `hello`, has had its
 *    first frame);
 *  - `collect`: waits until `expected` bench updates arrived (or
 *    `timeoutMs` passed) and answers their count and send→receive latency
 *    (p50/p99), the wall time of the first and last, and this process's CPU
 *    time since the previous answer; then starts over;
 *  - `close`: closes every socket.
 *
 * A bench update is an orbit.push.v1.Update whose payload is a Notice of
 * kind "bench" with `data` = the sender's wall clock in ms (float64 LE,
 * performance.timeOrigin + performance.now(): sub-millisecond and comparable
 * between processes of one machine). Every frame is decoded, as a device would.
 */
import { fromBinary } from "@bufbuild/protobuf";
import WebSocket from "ws";
import { UpdateSchema } from "../../gen/orbit/push/v1/push_pb.js";

export type ClientCommand =
  | { op: "connect"; url: string; tokens: string[]; hello: boolean; concurrency: number }
  | { op: "collect"; expected: number; timeoutMs: number }
  | { op: "close" };

export interface Collected {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Wall clock (ms) of the first and last bench update received. */
  readonly firstMs: number;
  readonly lastMs: number;
  /** Sockets closed by the server meanwhile. */
  readonly closed: number;
  /** CPU this process used (user + system, ms) since the previous collect (or the connect). */
  readonly cpuMs: number;
}

export const wallMs = (): number => performance.timeOrigin + performance.now();

const sockets: WebSocket[] = [];
let lat: number[] = [];
let firstMs = 0;
let lastMs = 0;
let closed = 0;
let cpu = process.cpuUsage();

function cpuSince(): number {
  const d = process.cpuUsage(cpu);
  cpu = process.cpuUsage();
  return Math.round((d.user + d.system) / 1000);
}

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function open(url: string, token: string, hello: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    let greeted = !hello;
    ws.on("message", (data) => {
      const now = wallMs();
      const u = fromBinary(UpdateSchema, data as Buffer);
      if (!greeted) {
        greeted = true;
        resolve();
      }
      if (u.payload.case !== "notice" || u.payload.value.kind !== "bench") return;
      const d = u.payload.value.data;
      const sent = new DataView(d.buffer, d.byteOffset, d.byteLength).getFloat64(0, true);
      lat.push(now - sent);
      if (!firstMs) firstMs = now;
      lastMs = now;
    });
    ws.once("open", () => {
      sockets.push(ws);
      if (greeted) resolve();
    });
    ws.once("error", reject);
    ws.once("close", () => closed++);
  });
}

async function connect(c: Extract<ClientCommand, { op: "connect" }>): Promise<{ open: number }> {
  let next = 0;
  await Promise.all(
    Array.from({ length: c.concurrency }, async () => {
      while (next < c.tokens.length) await open(c.url, c.tokens[next++]!, c.hello);
    }),
  );
  cpuSince();
  return { open: sockets.length };
}

async function collect(c: Extract<ClientCommand, { op: "collect" }>): Promise<Collected> {
  const end = performance.now() + c.timeoutMs;
  while (lat.length < c.expected && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
  const sorted = lat.sort((a, b) => a - b);
  const out: Collected = {
    count: sorted.length,
    p50Ms: +pct(sorted, 50).toFixed(2),
    p99Ms: +pct(sorted, 99).toFixed(2),
    firstMs,
    lastMs,
    closed,
    cpuMs: cpuSince(),
  };
  lat = [];
  firstMs = lastMs = 0;
  return out;
}

async function close(): Promise<{ closed: number }> {
  const n = sockets.length;
  await Promise.all(
    sockets.splice(0).map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === ws.CLOSED) return resolve();
          ws.once("close", () => resolve());
          ws.terminate();
        }),
    ),
  );
  closed = 0;
  return { closed: n };
}

process.on("message", (c: ClientCommand) => {
  const run = c.op === "connect" ? connect(c) : c.op === "collect" ? collect(c) : close();
  run.then(
    (ok) => process.send!({ ok }),
    (err: unknown) => process.send!({ error: String((err as Error)?.message ?? err) }),
  );
});
process.on("disconnect", () => process.exit(0));
