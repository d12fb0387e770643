/**
 * kill -9 of the bundle during a chat burst (issue 14), repeated: after the
 * restart every acknowledged message reaches every device of every member
 * exactly once (the device dedupes by push sequence), and so does every send
 * that was in flight when the process died, once its client retries it with
 * the same client_message_id.
 *
 * Real parts only: `orbit bundle --services chat,push` processes on MariaDB
 * (and SQLite), users signed up over the network, devices on real /ws
 * sockets that reconnect with their last sequence once the bundle is back
 * (on the same port). Each run: three senders send with several calls in
 * flight to a direct conversation and a group; after a number of
 * acknowledged sends that changes from run to run the bundle gets SIGKILL;
 * it is started again on the same store; the senders retry what was not
 * answered; then every device must hold, in its conversations, exactly the
 * messages of every client id sent, each once, in conversation seq order,
 * and its push sequences without gap or repeat.
 *
 * Runs are spread over lanes (a store and a bundle each) that run in
 * parallel: CHAT_KILL9_RUNS on MariaDB (default 20), CHAT_KILL9_SQLITE_RUNS
 * on SQLite (default 2, to keep CI in its time: a restart costs as much there, most of it the
 * bundle's boot), CHAT_KILL9_LANES lanes (default 4). The cost is the
 * restarts: 20 + 20 runs took 6 min on a machine at load average 10.
 */
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { fromBinary } from "@bufbuild/protobuf";
import { ChatService, type ChatUpdate, type Message } from "../../gen/orbit/chat/v1/chat_pb.js";
import { type Update, UpdateSchema } from "../../gen/orbit/push/v1/push_pb.js";
import { UserService } from "../../gen/orbit/user/v1/user_pb.js";
import { unbatch } from "../../services/chat/sends.js";
import { freePort, startBundle, type BundleProcess } from "../support/bundle-process.js";
import { mysqlStore, type TestStore } from "../support/stores.js";
import { waitFor } from "../support/wait.js";

const LANES = Number(process.env.CHAT_KILL9_LANES ?? 4);
const ENV = { ORBIT_SCRYPT_LOG_N: "10" };
/** Calls in flight per sender. */
const INFLIGHT = 4;

function chatClient(url: string, token: string): Client<typeof ChatService> {
  return createClient(
    ChatService,
    createConnectTransport({
      baseUrl: url,
      httpVersion: "2",
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${token}`);
          return next(req);
        },
      ],
    }),
  );
}

/**
 * A device on /ws that keeps what it received by push sequence (a repeat of
 * a sequence it has is counted and dropped) and, when its socket closes,
 * reconnects with the last sequence it holds until it is stopped.
 */
class Device {
  readonly bySeq = new Map<bigint, Update>();
  /** Updates whose sequence the device already had (dropped by the dedupe). */
  repeats = 0;
  /** The head when the device first connected (its stream starts after it). */
  base: bigint | undefined;
  connections = 0;
  hellos: { lastSequence: bigint; resumed: boolean }[] = [];
  resyncs = 0;
  private ws: WebSocket | undefined;
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly url: () => string,
    private readonly token: string,
  ) {}

  /** The highest sequence such that the device has every one from base+1 to it. */
  last(): bigint {
    let s = this.base ?? 0n;
    while (this.bySeq.has(s + 1n)) s++;
    return s;
  }

  start(): void {
    const after = this.base === undefined ? "" : `?after=${this.last()}`;
    const ws = new WebSocket(`${this.url().replace(/^http/, "ws")}/ws${after}`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    this.ws = ws;
    ws.on("open", () => this.connections++);
    ws.on("message", (data) => {
      const u = fromBinary(UpdateSchema, data as Buffer);
      if (u.payload.case === "hello") {
        this.hellos.push({ lastSequence: u.payload.value.lastSequence, resumed: u.payload.value.resumed });
        if (this.base === undefined) this.base = u.payload.value.lastSequence;
        return;
      }
      if (u.payload.case === "resync") this.resyncs++;
      if (u.sequence === 0n) return;
      if (this.bySeq.has(u.sequence)) this.repeats++;
      else this.bySeq.set(u.sequence, u);
    });
    ws.on("error", () => undefined);
    ws.on("close", () => {
      if (!this.stopped) setTimeout(() => !this.stopped && this.start(), 50);
    });
  }

  /** The chat changes of `conv`, in the order of the device's stream. */
  changes(conv: bigint): ChatUpdate[] {
    const out: ChatUpdate[] = [];
    const seqs = [...this.bySeq.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const s of seqs) {
      const p = this.bySeq.get(s)!.payload;
      if (p.case === "chat") for (const c of unbatch(p.value)) if (c.conversationId === conv) out.push(c);
    }
    return out;
  }

  messages(conv: bigint): Message[] {
    return this.changes(conv)
      .filter((c) => c.change.case === "messageSent")
      .map((c) => c.change.value as Message);
  }

  stop(): void {
    this.stopped = true;
    this.ws?.terminate();
  }
}

interface Engine {
  readonly name: string;
  readonly runs: number;
  /** The store's bundle flags and how to drop it; SQLite is the bundle's own file in its data dir. */
  open(): Promise<{ args: string[]; dispose(): Promise<void> }>;
}

const ENGINES: Engine[] = [
  {
    name: "MariaDB",
    runs: Number(process.env.CHAT_KILL9_RUNS ?? 20),
    open: async () => {
      const s: TestStore = await mysqlStore();
      return { args: ["--mysql", s.url], dispose: () => s.dispose() };
    },
  },
  {
    name: "SQLite",
    runs: Number(process.env.CHAT_KILL9_SQLITE_RUNS ?? 2),
    open: async () => ({ args: [], dispose: async () => undefined }),
  },
];

interface RunFigures {
  acked: number;
  inFlightAtKill: number;
  /** Of those, how many had committed (the retry answered a message the devices already had). */
  committedUnanswered: number;
  restartMs: number;
  repeats: number;
}

/** One lane: a store, a bundle on a fixed port, three users, four devices; `runs` kills in a row. */
async function lane(engine: Engine, laneNo: number, runs: readonly number[], figures: RunFigures[]): Promise<void> {
  const store = await engine.open();
  const dataDir = mkdtempSync(join(tmpdir(), "orbit-kill9-"));
  const port = await freePort();
  const args = ["--services", "chat,push", ...store.args];
  const boot = () => startBundle(args, { port, dataDir, env: ENV, readyTimeoutMs: 120_000 });
  let b: BundleProcess = await boot();
  const devices: Device[] = [];
  try {
    const url = b.url;
    const anon = createClient(UserService, createConnectTransport({ baseUrl: url, httpVersion: "2" }));
    const users = await Promise.all(
      ["ann", "bob", "cat"].map(async (h) => {
        const r = await anon.signUp({ handle: `k${laneNo}${h}`, password: `pw-${h}-secret`, displayName: h });
        return { id: r.user!.id, token: r.token, name: h };
      }),
    );
    const [ann, bob, cat] = users as [(typeof users)[0], (typeof users)[0], (typeof users)[0]];
    // Two devices for ann, one each for bob and cat, connected before anything happens.
    for (const [u, n] of [
      [ann, "ann1"],
      [ann, "ann2"],
      [bob, "bob1"],
      [cat, "cat1"],
    ] as const) {
      const d = new Device(n, () => url, u.token);
      devices.push(d);
      d.start();
    }
    await waitFor(() => devices.every((d) => d.base !== undefined), "every device greeted", 60_000);
    const annChat = chatClient(url, ann.token);
    const direct = (await annChat.openDirect({ userId: bob.id })).conversation!.id;
    const group = (await annChat.createGroup({ title: "kill -9", memberIds: [bob.id, cat.id] })).conversation!.id;
    const membersOf = new Map([
      [direct, new Set([ann.id, bob.id])],
      [group, new Set([ann.id, bob.id, cat.id])],
    ]);
    const userOf = new Map(devices.map((d, i) => [d, [ann, ann, bob, cat][i]!.id]));
    /** client id → the message id it made, over every run of the lane. */
    const made = new Map<string, { conv: bigint; id: bigint }>();

    for (const run of runs) {
      // The kill lands after a different number of answered sends each run, and
      // 0–24 ms after that answer, so it hits batches at different points of their write.
      const killAfter = 10 + ((run * 37) % 60);
      const killDelayMs = (run * 13) % 25;
      const clients = new Map(users.map((u) => [u.id, chatClient(url, u.token)]));
      let killed = false;
      let acked = 0;
      const unanswered: { sender: bigint; conv: bigint; cmid: string; text: string }[] = [];
      let killing: Promise<unknown> | undefined;
      let killedAtMs = 0;
      const kill = () => {
        killed = true;
        if (killing) return;
        killedAtMs = Date.now();
        killing = b.stop("SIGKILL");
      };
      let n = 0;
      const sender = async (u: (typeof users)[0], lanes: number) => {
        const convs = u === cat ? [group] : [direct, group];
        await Promise.all(
          Array.from({ length: lanes }, async () => {
            while (!killed) {
              const i = n++;
              const req = {
                sender: u.id,
                conv: convs[i % convs.length]!,
                cmid: `r${run}-${u.name}-${i}`,
                text: `run ${run} #${i}`,
              };
              try {
                const m = (
                  await clients.get(u.id)!.sendMessage({
                    conversationId: req.conv,
                    clientMessageId: req.cmid,
                    text: req.text,
                  })
                ).message!;
                made.set(req.cmid, { conv: req.conv, id: m.id });
                if (++acked === killAfter) setTimeout(kill, killDelayMs);
              } catch {
                unanswered.push(req);
                kill();
              }
            }
          }),
        );
      };
      await Promise.all(users.map((u) => sender(u, INFLIGHT)));
      await killing;
      const t0 = performance.now();
      b = await boot();
      const restartMs = performance.now() - t0;

      // The senders retry what was not answered, with the same client ids.
      const after = new Map(users.map((u) => [u.id, chatClient(b.url, u.token)]));
      let committedUnanswered = 0;
      for (const req of unanswered) {
        const m = (
          await after.get(req.sender)!.sendMessage({
            conversationId: req.conv,
            clientMessageId: req.cmid,
            text: req.text,
          })
        ).message!;
        made.set(req.cmid, { conv: req.conv, id: m.id });
        // Written before the kill: the retry answered the message the dead process had committed.
        if (m.createdAtMs <= BigInt(killedAtMs)) committedUnanswered++;
      }

      // Every device of every member gets every message once, in order.
      for (const d of devices) {
        for (const [conv, members] of membersOf) {
          if (!members.has(userOf.get(d)!)) continue;
          const want = [...made.values()].filter((m) => m.conv === conv).map((m) => m.id);
          await waitFor(
            () => {
              const have = new Set(d.messages(conv).map((m) => m.id));
              return want.every((id) => have.has(id));
            },
            `${engine.name} lane ${laneNo} run ${run}: ${d.name} to get ${want.length} messages of ${conv}`,
            60_000,
          );
          const got = d.messages(conv).map((m) => m.id);
          // Exactly the messages sent, each once (no retry made a second one).
          expect(got.length, `${d.name} run ${run}`).toBe(new Set(got).size);
          expect(new Set(got)).toEqual(new Set(want));
          // The conversation's changes in seq order without gap or repeat.
          const seqs = d.changes(conv).map((c) => c.seq);
          expect(seqs).toEqual(seqs.map((_, i) => 1n + BigInt(i)));
        }
        // The device's push stream: base+1 … its last, no gap.
        const keys = [...d.bySeq.keys()].sort((x, y) => (x < y ? -1 : 1));
        expect(keys).toEqual(keys.map((_, i) => d.base! + 1n + BigInt(i)));
        expect(d.resyncs).toBe(0);
      }
      figures.push({
        acked,
        inFlightAtKill: unanswered.length,
        committedUnanswered,
        restartMs: Math.round(restartMs),
        repeats: devices.reduce((s, d) => s + d.repeats, 0),
      });
    }
  } finally {
    for (const d of devices) d.stop();
    await b.stop();
    await store.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

for (const engine of ENGINES) {
  describe(`kill -9 during a chat burst (${engine.name})`, () => {
    const figures: RunFigures[] = [];
    afterAll(() => {
      if (!figures.length) return;
      const sum = (k: keyof RunFigures) => figures.reduce((s, f) => s + f[k], 0);
      const restart = figures.map((f) => f.restartMs).sort((a, b) => a - b);
      console.log(
        `${engine.name}: ${figures.length} kills; acknowledged ${sum("acked")}, in flight at the kill ${sum("inFlightAtKill")} ` +
          `(${sum("committedUnanswered")} of them had committed), repeats dropped by sequence ${sum("repeats")}, ` +
          `restart ${restart[0]}–${restart.at(-1)} ms`,
      );
    });

    it(`${engine.runs} runs: every acknowledged message reaches every device exactly once after the restart`, async () => {
      const n = Math.min(engine.runs, LANES);
      const lanes = Array.from({ length: n }, (_, l) =>
        Array.from({ length: engine.runs }, (_, r) => r).filter((r) => r % n === l),
      );
      await Promise.all(lanes.map((runs, l) => lane(engine, l, runs, figures)));
      expect(figures.length).toBe(engine.runs);
    }, 900_000);
  });
}
