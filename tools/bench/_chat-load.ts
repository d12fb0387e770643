/**
 * The chat bench's clients, in a process of their own (forked by
 * tools/bench/chat.ts) so that they do not take the bundle's core: one
 * Connect client (its own HTTP/2 connection) and one device on /ws per user.
 * The device records send→delivered latency of every messageSent (alone or
 * inside a ChatUpdate.batch) whose client id this process sent in the phase
 * being measured.
 *
 * Commands (one at a time): `setup` (clients and devices for the users),
 * `drive` (a phase: SendMessage with `inflight` in flight for `seconds`,
 * then — unless it is a warm-up — wait for the deliveries and answer the
 * figures), `close`.
 */
import { fromBinary } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import WebSocket from "ws";
import type { ChatService } from "../../gen/orbit/chat/v1/chat_pb.js";
import { UpdateSchema } from "../../gen/orbit/push/v1/push_pb.js";
import { chatUserOn } from "../../test/support/chat-client.js";
import { drive as closedLoop, percentile } from "./_measure.js";

export interface ChatFigures {
  readonly perSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly sent: number;
  /** Deliveries to devices (every member's socket, the sender's included), send→delivered. */
  delivered?: {
    readonly count: number;
    readonly expected: number;
    readonly perSec: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
  };
}

export type ChatLoadCommand =
  | { readonly op: "setup"; readonly url: string; readonly users: readonly { id: bigint; token: string }[] }
  | {
      readonly op: "drive";
      /** warmup: not measured, deliveries not awaited. */
      readonly phase: "warmup" | "direct" | "group";
      readonly seconds: number;
      readonly inflight: number;
      /** direct: user pairs (indexes) and their conversation. */
      readonly pairs?: readonly { a: number; b: number; conv: bigint }[];
      /** group: the conversation and its members (indexes); every member's device gets each message. */
      readonly group?: { conv: bigint; members: readonly number[] };
    }
  | { readonly op: "close" };

export interface ChatDriveResult {
  readonly figures: ChatFigures;
  /** This process's CPU during the phase (ms). */
  readonly cpuMs: number;
}

let clients: Client<typeof ChatService>[] = [];
const sockets: WebSocket[] = [];
const starts = new Map<string, number>();
let lat: number[] = [];
let n = 0;

async function setup(c: Extract<ChatLoadCommand, { op: "setup" }>): Promise<number> {
  clients = c.users.map((u) => chatUserOn(c.url, { ...u, chat: undefined!, users: undefined! }).chat);
  for (const u of c.users) {
    const ws = new WebSocket(`${c.url.replace(/^http/, "ws")}/ws`, { headers: { authorization: `Bearer ${u.token}` } });
    ws.on("message", (data) => {
      const up = fromBinary(UpdateSchema, data as Buffer);
      if (up.payload.case !== "chat") return;
      // Several changes of a conversation committed together come as one ChatUpdate.batch.
      const change = up.payload.value.change;
      const changes = change.case === "batch" ? change.value.updates.map((x) => x.change) : [change];
      const now = performance.now();
      for (const ch of changes) {
        if (ch.case !== "messageSent") continue;
        const s = starts.get(ch.value.clientMessageId);
        if (s !== undefined) lat.push(now - s);
      }
    });
    ws.on("error", () => undefined); // a socket cut later shows as missing deliveries
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    sockets.push(ws);
  }
  return sockets.length;
}

/** Waits until `expected` deliveries came (or 15 s passed), then the figures since `t0`. */
async function delivered(expected: number, t0: number): Promise<NonNullable<ChatFigures["delivered"]>> {
  const end = performance.now() + 15_000;
  while (lat.length < expected && performance.now() < end) await new Promise((r) => setTimeout(r, 20));
  const secs = (performance.now() - t0) / 1000;
  const sorted = lat.sort((a, b) => a - b);
  lat = [];
  starts.clear();
  return {
    count: sorted.length,
    expected,
    perSec: Math.round(sorted.length / secs),
    p50Ms: +percentile(sorted, 50).toFixed(2),
    p99Ms: +percentile(sorted, 99).toFixed(2),
  };
}

async function drive(c: Extract<ChatLoadCommand, { op: "drive" }>): Promise<ChatDriveResult> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let figures: ChatFigures;
  if (c.phase === "group") {
    const g = c.group!;
    figures = await closedLoop(
      (i) => {
        const id = `g${++n}`;
        starts.set(id, performance.now());
        const from = clients[g.members[i % g.members.length]!]!;
        return from.sendMessage({ conversationId: g.conv, clientMessageId: id, text: `to all ${i}` });
      },
      c.seconds,
      c.inflight,
    );
    figures.delivered = await delivered(figures.sent * g.members.length, t0);
  } else {
    const pairs = c.pairs!;
    const warm = c.phase === "warmup";
    figures = await closedLoop(
      (i) => {
        const p = pairs[i % pairs.length]!;
        const from = clients[!warm && (i >> 7) % 2 ? p.b : p.a]!;
        const id = `${warm ? "w" : "d"}${++n}`;
        // (Warm-up deliveries are not counted: their client ids are not in `starts`.)
        if (!warm) starts.set(id, performance.now());
        return from.sendMessage({
          conversationId: p.conv,
          clientMessageId: id,
          text: `${warm ? "warm" : "hello"} ${i}`,
        });
      },
      c.seconds,
      c.inflight,
    );
    if (!warm) figures.delivered = await delivered(figures.sent * 2, t0);
  }
  const cpu = process.cpuUsage(cpu0);
  return { figures, cpuMs: (cpu.user + cpu.system) / 1000 };
}

process.on("message", (c: ChatLoadCommand) => {
  const p: Promise<unknown> =
    c.op === "setup"
      ? setup(c)
      : c.op === "drive"
        ? drive(c)
        : Promise.resolve(sockets.splice(0).forEach((ws) => ws.terminate()));
  p.then(
    (r) => process.send!({ ok: r ?? null }),
    (err: Error) => process.send!({ error: err.message }),
  );
});
process.on("disconnect", () => process.exit(0));
