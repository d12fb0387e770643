/**
 * `npm run bench -- notify [--rate N] [--seconds S] [--authors A] [--posts P] [--likers L] [--in-flight F] [--only sqlite|mariadb]`
 *
 * Notifications delivered to connected devices under a steady like load, on
 * MariaDB (a fresh database, dropped at the end) and SQLite, in one run.
 *
 * A bundle (social + notify + push, in this process) on the engine;
 * `authors` users with `posts` posts each and a device each, connected to
 * the push gateway's /ws (binary Update frames); `likers` users
 * like those posts over HTTP/2 (Connect, each with its bearer token), open
 * loop at `rate` likes/s for `seconds` (every post liked by a different user
 * each time, so groups grow the whole run). The notification's latency is
 * from the moment the LikePost call was sent to the first update on the
 * author's device whose group count reaches the like count that call
 * answered (the count the like made): send → like committed → post.liked in
 * the log → notify.fanin → group written → device update.
 *
 * Baseline, same run, same likes: a bare consumer group on post.liked in the
 * same bundle (a service with one consumer that only notes the time), so the
 * figure shows what the event log's delivery costs and what notify adds.
 * Goal: p99 ≤ 1 s at 1,000 likes/s.
 *
 * At most `in-flight` LikePost calls are outstanding (default 256): when the
 * bundle cannot keep up, the sender waits instead of piling up thousands of
 * streams (which ends in refused streams and timeouts, not in figures), and
 * the achieved rate says so. A failed call is counted by Connect code, with
 * its first message.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { fromBinary } from "@bufbuild/protobuf";
import WebSocket from "ws";
import { UpdateSchema } from "../../gen/orbit/push/v1/push_pb.js";
import { PostLikedSchema, type PostLiked } from "../../gen/orbit/post/v1/events_pb.js";
import { PostService } from "../../gen/orbit/post/v1/post_pb.js";
import { UserService } from "../../gen/orbit/user/v1/user_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { Registry } from "../../platform/kernel/registry.js";
import { defineService } from "../../platform/kernel/service.js";
import { silentLogger } from "../../platform/log.js";
import type { SqlDb } from "../../platform/storage/driver.js";
import { openSqlStore } from "../../platform/storage/open.js";
import { MODULES } from "../../services/registry.js";
import { fmt, percentile } from "./_measure.js";
import { scratchMysql } from "./_mysql-db.js";

function option(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

interface Figures {
  likes: number;
  achievedRate: number;
  likeRpcP50Ms: number;
  likeRpcP99Ms: number;
  notifyP50Ms: number;
  notifyP99Ms: number;
  notifyMaxMs: number;
  baselineP50Ms: number;
  baselineP99Ms: number;
  delivered: number;
  updates: number;
  errors: number;
  /** Failed LikePost calls by Connect code, with the first message of each. */
  errorsByCode: Record<string, { n: number; first: string }>;
  /** Event ids the bus skipped as holes that never committed (each held every consumer back up to the gap grace, 1 s). */
  skippedIds: number;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

async function runEngine(engine: "sqlite" | "mariadb", args: string[]): Promise<Figures> {
  const rate = option(args, "rate", 1000);
  const seconds = option(args, "seconds", 10);
  const nAuthors = option(args, "authors", 10);
  const nPosts = option(args, "posts", 10);
  const nLikers = option(args, "likers", Math.ceil((rate * seconds) / (nAuthors * nPosts)) + 1);

  let db: SqlDb;
  let dispose: () => Promise<void>;
  if (engine === "mariadb") {
    const m = await scratchMysql(`orbit_bench_notify_${process.pid}`, { pool: 16 });
    db = m.db;
    dispose = m.dispose;
  } else {
    const dir = mkdtempSync(join(tmpdir(), "orbit-bench-notify-"));
    db = openSqlStore(`sqlite:${join(dir, "orbit.db")}`);
    dispose = async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    };
  }

  // The baseline: a consumer of post.liked that only notes when each like arrived.
  const seenByProbe = new Map<string, number>();
  const probe = defineService({
    name: "benchprobe",
    build: () => ({
      consumers: [
        {
          group: "bench.probe",
          events: [PostLikedSchema],
          handle: (e) => {
            const m = e.message as PostLiked;
            seenByProbe.set(`${m.postId}:${m.userId}`, performance.now());
          },
        },
      ],
    }),
  });
  const modules = [...MODULES, probe];
  const bundle = await Bundle.start({
    registry: new Registry(modules),
    config: {
      ...DEFAULT_CONFIG,
      services: ["social", "notify", "push", "benchprobe"],
      host: "127.0.0.1",
      port: 0,
      // The bench signs up thousands of users from one address.
      settings: { user: { scryptLogN: 10, signUpPerAddress: 0 } },
    },
    db,
    log: silentLogger(),
  });
  try {
    const transport = createConnectTransport({ baseUrl: bundle.url!, httpVersion: "2" });
    const users = createClient(UserService, transport);
    const posts = createClient(PostService, transport);
    const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
    const signUp = async (handle: string) => {
      const r = await users.signUp({ handle, password: `pw-${handle}-secret` });
      return { id: r.user!.id, token: r.token };
    };
    const tag = Date.now().toString(36).slice(-4);
    const authors = await Promise.all(Array.from({ length: nAuthors }, (_, i) => signUp(`au${tag}${i}`)));
    const likers: { id: bigint; token: string }[] = [];
    for (let i = 0; i < nLikers; i += 16) {
      const n = Math.min(16, nLikers - i);
      likers.push(...(await Promise.all(Array.from({ length: n }, (_, k) => signUp(`lk${tag}${i + k}`)))));
    }
    const postIds: { id: bigint; author: bigint }[] = [];
    for (const a of authors) {
      for (let p = 0; p < nPosts; p++) {
        const r = await posts.createPost({ text: `post ${p}` }, auth(a.token));
        postIds.push({ id: r.post!.id, author: a.id });
      }
    }

    // Devices: one /ws connection per author (binary Update frames); per group (post), the counts in arrival order.
    const arrivals = new Map<bigint, { count: bigint; at: number }[]>();
    let updates = 0;
    const sockets = await Promise.all(
      authors.map(
        (a) =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(`${bundle.url!.replace(/^http/, "ws")}/ws`, {
              headers: { authorization: `Bearer ${a.token}` },
            });
            ws.on("message", (data) => {
              const at = performance.now();
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
    const offs = sockets.map((ws) => () => ws.close());

    const total = Math.floor(rate * seconds);
    const sent: { post: bigint; liker: bigint; at: number; done: number; count: bigint }[] = [];
    let errors = 0;
    const errorsByCode: Record<string, { n: number; first: string }> = {};
    const inFlight = new Set<Promise<void>>();
    const maxInFlight = option(args, "in-flight", 256);
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      const due = t0 + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const post = postIds[i % postIds.length]!;
      const liker = likers[Math.floor(i / postIds.length) % likers.length]!;
      const at = performance.now();
      const p = posts
        .likePost({ postId: post.id }, auth(liker.token))
        .then(
          (r) => void sent.push({ post: post.id, liker: liker.id, at, done: performance.now(), count: r.likeCount }),
        )
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
    const elapsed = (performance.now() - t0) / 1000;

    // Wait (up to 30 s) until every like's count reached its author's device.
    const reached = (s: (typeof sent)[number]) => arrivals.get(s.post)?.find((a) => a.count >= s.count)?.at;
    const end = performance.now() + 30_000;
    while (
      performance.now() < end &&
      sent.some((s) => reached(s) === undefined || !seenByProbe.has(`${s.post}:${s.liker}`))
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const off of offs) off();

    const notifyLat: number[] = [];
    const probeLat: number[] = [];
    const rpcLat: number[] = [];
    for (const s of sent) {
      rpcLat.push(s.done - s.at);
      const r = reached(s);
      if (r !== undefined) notifyLat.push(Math.max(0, r - s.at));
      const p = seenByProbe.get(`${s.post}:${s.liker}`);
      if (p !== undefined) probeLat.push(Math.max(0, p - s.at));
    }
    for (const l of [notifyLat, probeLat, rpcLat]) l.sort((a, b) => a - b);
    const skippedIds = Number(bundle.parts.events.bus.stats().deadIds);
    return {
      likes: sent.length,
      achievedRate: Math.round(sent.length / elapsed),
      likeRpcP50Ms: round(percentile(rpcLat, 50)),
      likeRpcP99Ms: round(percentile(rpcLat, 99)),
      notifyP50Ms: round(percentile(notifyLat, 50)),
      notifyP99Ms: round(percentile(notifyLat, 99)),
      notifyMaxMs: round(notifyLat.at(-1) ?? 0),
      baselineP50Ms: round(percentile(probeLat, 50)),
      baselineP99Ms: round(percentile(probeLat, 99)),
      delivered: notifyLat.length,
      updates,
      errors,
      errorsByCode,
      skippedIds,
    };
  } finally {
    await bundle.stop();
    await dispose();
  }
}

export async function main(args: string[]): Promise<void> {
  const i = args.indexOf("--only");
  const engines = (i >= 0 ? args[i + 1]!.split(",") : ["mariadb", "sqlite"]) as ("sqlite" | "mariadb")[];
  const out: Record<string, Figures> = {};
  for (const engine of engines) {
    const f = await runEngine(engine, args);
    out[engine] = f;
    console.log(
      `${engine}: ${fmt(f.likes)} likes at ${fmt(f.achievedRate)}/s (LikePost p50 ${f.likeRpcP50Ms} ms, p99 ${f.likeRpcP99Ms} ms, ${f.errors} errors); ` +
        `device got ${fmt(f.delivered)}/${fmt(f.likes)} in ${fmt(f.updates)} updates: p50 ${f.notifyP50Ms} ms, p99 ${f.notifyP99Ms} ms, max ${f.notifyMaxMs} ms; ` +
        `baseline (bare post.liked consumer) p50 ${f.baselineP50Ms} ms, p99 ${f.baselineP99Ms} ms; ${f.skippedIds} event ids skipped as holes`,
    );
    for (const [code, e] of Object.entries(f.errorsByCode))
      console.log(`  ${engine} LikePost ${code} × ${e.n}: ${e.first}`);
  }
  const goals = Object.fromEntries(
    Object.entries(out).map(([e, f]) => [
      `${e}P99AtMost1s`,
      f.notifyP99Ms <= 1000 && f.delivered === f.likes && f.achievedRate >= 0.95 * option(args, "rate", 1000),
    ]),
  );
  console.log(JSON.stringify({ scenario: "notify", rate: option(args, "rate", 1000), ...out, goals }));
}
