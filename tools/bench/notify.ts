/**
 * `npm run bench -- notify [--rate N] [--seconds S] [--authors A] [--posts P] [--likers L] [--in-flight F] [--only sqlite|mariadb]`
 *
 * Notifications delivered to connected devices under a steady like load, on
 * MariaDB (a fresh database, dropped at the end) and SQLite, in one run.
 *
 * A bundle (social + notify + push, in this process) on the engine;
 * `authors` users with `posts` posts each and a device each, connected to
 * the push gateway's /ws (binary Update frames); `likers` users
 * like those posts over HTTP/2 (Connect, each with its bearer token). The
 * devices and the likers run in a process of their own
 * (tools/bench/_notify-load.ts), so they do not take the bundle's core; the
 * CPU per like of both processes is reported. The likes are sent open
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
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
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
import type { NotifyLoadCommand, NotifyLoadResult } from "./_notify-load.js";
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
  /** CPU per answered like of this process (the bundle) and of the load process (likers and devices). */
  bundleCpuMsPerLike: number;
  clientCpuMsPerLike: number;
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
            seenByProbe.set(`${m.postId}:${m.userId}`, performance.timeOrigin + performance.now());
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

    // The devices and the likers run in a process of their own (_notify-load.ts): the bundle keeps this one.
    const load = fork(fileURLToPath(new URL("./_notify-load.ts", import.meta.url)), [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced", // bigint ids
    });
    const cpu0 = process.cpuUsage();
    let result: NotifyLoadResult;
    try {
      result = await new Promise<NotifyLoadResult>((resolve, reject) => {
        load.once("message", (m: { ok?: NotifyLoadResult; error?: string }) =>
          m.error !== undefined ? reject(new Error(m.error)) : resolve(m.ok!),
        );
        load.once("exit", (code) => reject(new Error(`the load process exited with ${code}`)));
        const command: NotifyLoadCommand = {
          op: "run",
          url: bundle.url!,
          authorTokens: authors.map((a) => a.token),
          posts: postIds.map((p) => p.id),
          likers,
          rate,
          seconds,
          inFlight: option(args, "in-flight", 256),
        };
        load.send(command);
      });
    } finally {
      load.removeAllListeners("exit");
      load.disconnect();
    }
    const sent = result.sent;
    // The baseline's consumer runs here: wait (up to 10 s more) until it saw every answered like.
    const end = performance.now() + 10_000;
    while (performance.now() < end && sent.some((s) => !seenByProbe.has(`${s.post}:${s.liker}`))) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const cpu = process.cpuUsage(cpu0);

    const notifyLat: number[] = [];
    const probeLat: number[] = [];
    const rpcLat: number[] = [];
    for (const s of sent) {
      rpcLat.push(s.done - s.at);
      if (s.reached !== undefined) notifyLat.push(Math.max(0, s.reached - s.at));
      const p = seenByProbe.get(`${s.post}:${s.liker}`);
      if (p !== undefined) probeLat.push(Math.max(0, p - s.at));
    }
    for (const l of [notifyLat, probeLat, rpcLat]) l.sort((a, b) => a - b);
    const { updates, errors, errorsByCode } = result;
    const skippedIds = Number(bundle.parts.events.bus.stats().deadIds);
    return {
      likes: sent.length,
      achievedRate: Math.round(sent.length / result.elapsedSeconds),
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
      bundleCpuMsPerLike: round((cpu.user + cpu.system) / 1000 / Math.max(1, sent.length)),
      clientCpuMsPerLike: round(result.cpuMs / Math.max(1, sent.length)),
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
        `baseline (bare post.liked consumer) p50 ${f.baselineP50Ms} ms, p99 ${f.baselineP99Ms} ms; ${f.skippedIds} event ids skipped as holes; ` +
        `CPU per like: bundle ${f.bundleCpuMsPerLike} ms, clients (their own process) ${f.clientCpuMsPerLike} ms`,
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
