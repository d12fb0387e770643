/**
 * The notify bench's clients, in a process of their own (forked by
 * tools/bench/notify.ts) so that they do not take the bundle's core: the
 * authors' devices on /ws (binary Update frames) and the likers, who send
 * LikePost over HTTP/2 (Connect, binary) open loop at the asked rate with at
 * most `inFlight` calls outstanding. Times are absolute milliseconds
 * (performance.timeOrigin + performance.now()), comparable with the bench
 * process's own.
 *
 * One command: `run` → answers when every answered like's count reached its
 * author's device, or 30 s after the last answer.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import WebSocket from "ws";
import { PostService } from "../../gen/orbit/post/v1/post_pb.js";
import { UpdateSchema } from "../../gen/orbit/push/v1/push_pb.js";

export interface NotifyLoadCommand {
  readonly op: "run";
  readonly url: string;
  readonly authorTokens: readonly string[];
  readonly posts: readonly bigint[];
  readonly likers: readonly { readonly id: bigint; readonly token: string }[];
  readonly rate: number;
  readonly seconds: number;
  readonly inFlight: number;
}

export interface SentLike {
  readonly post: bigint;
  readonly liker: bigint;
  /** When the call was sent and answered (absolute ms). */
  readonly at: number;
  readonly done: number;
  /** The like count the call answered. */
  readonly count: bigint;
  /** When the author's device first saw the group's count reach it (absolute ms), if it did. */
  readonly reached?: number;
}

export interface NotifyLoadResult {
  readonly sent: SentLike[];
  readonly elapsedSeconds: number;
  readonly updates: number;
  readonly errors: number;
  readonly errorsByCode: Record<string, { n: number; first: string }>;
  /** This process's CPU while sending and receiving (ms). */
  readonly cpuMs: number;
}

const now = () => performance.timeOrigin + performance.now();

async function run(c: NotifyLoadCommand): Promise<NotifyLoadResult> {
  // Devices: one /ws connection per author; per group (post), the counts in arrival order.
  const arrivals = new Map<bigint, { count: bigint; at: number }[]>();
  let updates = 0;
  const sockets = await Promise.all(
    c.authorTokens.map(
      (token) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`${c.url.replace(/^http/, "ws")}/ws`, {
            headers: { authorization: `Bearer ${token}` },
          });
          ws.on("message", (data) => {
            const at = now();
            const u = fromBinary(UpdateSchema, data as Buffer);
            if (u.payload.case === "hello") resolve(ws);
            if (u.payload.case !== "notification") return;
            updates++;
            const g = u.payload.value.group;
            if (!g) return;
            const list = arrivals.get(g.targetId) ?? [];
            list.push({ count: g.count, at });
            arrivals.set(g.targetId, list);
          });
          ws.once("error", reject);
        }),
    ),
  );
  const posts = createClient(PostService, createConnectTransport({ baseUrl: c.url, httpVersion: "2" }));
  const cpu0 = process.cpuUsage();
  const total = Math.floor(c.rate * c.seconds);
  const sent: Omit<SentLike, "reached">[] = [];
  let errors = 0;
  const errorsByCode: Record<string, { n: number; first: string }> = {};
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    while (inFlight.size >= c.inFlight) await Promise.race(inFlight);
    const due = t0 + (i * 1000) / c.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const post = c.posts[i % c.posts.length]!;
    const liker = c.likers[Math.floor(i / c.posts.length) % c.likers.length]!;
    const at = now();
    const p = posts
      .likePost({ postId: post }, { headers: { authorization: `Bearer ${liker.token}` } })
      .then((r) => void sent.push({ post, liker: liker.id, at, done: now(), count: r.likeCount }))
      .catch((err) => {
        errors++;
        const e = ConnectError.from(err);
        const k = Code[e.code] ?? String(e.code);
        errorsByCode[k] ??= { n: 0, first: e.rawMessage.slice(0, 200) };
        errorsByCode[k].n++;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  const elapsedSeconds = (performance.now() - t0) / 1000;
  const reached = (s: Omit<SentLike, "reached">) => arrivals.get(s.post)?.find((a) => a.count >= s.count)?.at;
  const end = performance.now() + 30_000;
  while (performance.now() < end && sent.some((s) => reached(s) === undefined)) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const cpu = process.cpuUsage(cpu0);
  for (const ws of sockets) ws.close();
  return {
    sent: sent.map((s) => ({ ...s, reached: reached(s) })),
    elapsedSeconds,
    updates,
    errors,
    errorsByCode,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

process.on("message", (c: NotifyLoadCommand) => {
  run(c).then(
    (r) => process.send!({ ok: r }),
    (err: Error) => process.send!({ error: err.message }),
  );
});
process.on("disconnect", () => process.exit(0));
