/**
 * `npm run bench -- mixed [--seconds S] [--concurrency C] [--users N]`
 *
 * The load a bundle holds with a mixed social workload on MariaDB (issue 12's
 * "load held" figure): a real `orbit bundle --services=social` child process
 * on a fresh database (dropped at the end), N users signed up through the API,
 * each following 20 others and with 3 posts, then C callers in flight for S
 * seconds, each call drawn from this mix (per 100 calls):
 *
 *   40 GetHomeFeed · 15 GetPost · 10 GetProfile · 10 LikePost/UnlikePost ·
 *   8 CreatePost · 7 ListComments · 5 AddComment · 4 Follow/Unfollow · 1 LogIn
 *
 * Figures: calls/s, p50/p99/max per method and overall, and errors by Connect
 * code (a healthy run has none). Baseline in the same run: a bare node:http2
 * server answering the same number of callers (tools/bench/_rpc-raw-server.ts)
 * — the transport's ceiling on this machine, so the ratio says how much of it
 * the whole stack (auth, validation, storage, events) keeps.
 */
import { type ChildProcess, spawn } from "node:child_process";
import http2 from "node:http2";
import { join } from "node:path";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { FeedService } from "../../gen/orbit/feed/v1/feed_pb.js";
import { GraphService } from "../../gen/orbit/graph/v1/graph_pb.js";
import { PostService } from "../../gen/orbit/post/v1/post_pb.js";
import { UserService } from "../../gen/orbit/user/v1/user_pb.js";
import { startBundle, freePort } from "../../test/support/bundle-process.js";
import { fmt, percentile } from "./_measure.js";
import { scratchMysql } from "./_mysql-db.js";

const ROOT = join(import.meta.dirname, "..", "..");

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : fallback;
}

interface Api {
  users: Client<typeof UserService>;
  graph: Client<typeof GraphService>;
  posts: Client<typeof PostService>;
  feed: Client<typeof FeedService>;
}

/**
 * One device's clients: the four services over one HTTP/2 connection, as an app would (the
 * per-member Connect clients of test/support open one connection per service, which 200 members
 * would multiply past the bundle's cap on connections from one address).
 */
function api(baseUrl: string, token?: string): Api {
  const transport = createConnectTransport({
    baseUrl,
    httpVersion: "2",
    useBinaryFormat: true,
    interceptors: token
      ? [
          (next) => (req) => {
            req.header.set("authorization", `Bearer ${token}`);
            return next(req);
          },
        ]
      : [],
  });
  return {
    users: createClient(UserService, transport),
    graph: createClient(GraphService, transport),
    posts: createClient(PostService, transport),
    feed: createClient(FeedService, transport),
  };
}

interface Member {
  id: bigint;
  handle: string;
  api: Api;
  posts: bigint[];
  following: Set<bigint>;
  liked: Set<bigint>;
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

/** The mix: [weight, method, call]. */
function mix(members: Member[], allPosts: bigint[], anon: Api): Array<[number, string, () => Promise<unknown>]> {
  const someone = () => pick(members);
  const somePost = () => pick(allPosts);
  return [
    [40, "GetHomeFeed", () => someone().api.feed.getHomeFeed({ pageSize: 20 })],
    [15, "GetPost", () => someone().api.posts.getPost({ postId: somePost() })],
    [10, "GetProfile", () => someone().api.users.getProfile({ who: { case: "userId", value: someone().id } })],
    [
      10,
      "LikePost",
      async () => {
        const m = someone();
        const p = somePost();
        if (m.liked.delete(p)) return m.api.posts.unlikePost({ postId: p });
        m.liked.add(p);
        return m.api.posts.likePost({ postId: p });
      },
    ],
    [
      8,
      "CreatePost",
      async () => {
        const m = someone();
        const r = await m.api.posts.createPost({ text: `mixed load #bench ${Math.random().toString(36).slice(2)}` });
        allPosts.push(r.post!.id);
      },
    ],
    [7, "ListComments", () => someone().api.posts.listComments({ postId: somePost(), pageSize: 20 })],
    [5, "AddComment", () => someone().api.posts.addComment({ postId: somePost(), text: "nice" })],
    [
      4,
      "Follow",
      async () => {
        const m = someone();
        const o = someone();
        if (o.id === m.id) return;
        if (m.following.delete(o.id)) return m.api.graph.unfollow({ userId: o.id });
        m.following.add(o.id);
        return m.api.graph.follow({ userId: o.id });
      },
    ],
    [1, "LogIn", () => anon.users.logIn({ handle: someone().handle, password: "mixed-load-password" })],
  ];
}

interface Stats {
  calls: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function stats(latencies: number[], errors: number): Stats {
  const s = [...latencies].sort((a, b) => a - b);
  const r = (n: number) => Math.round(n * 100) / 100;
  return {
    calls: s.length,
    errors,
    p50Ms: r(percentile(s, 50)),
    p99Ms: r(percentile(s, 99)),
    maxMs: r(s[s.length - 1] ?? 0),
  };
}

function startRaw(port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "tools", "bench", "_rpc-raw-server.ts"), String(port)],
      { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
    );
    child.stdout!.on("data", (d: Buffer) => d.toString().includes("listening") && resolve(child));
    child.once("exit", (code) => reject(new Error(`raw server exited with ${code}`)));
  });
}

async function rawBaseline(seconds: number, concurrency: number): Promise<number> {
  const port = await freePort();
  const child = await startRaw(port);
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => undefined);
  const body = Buffer.alloc(24, 1);
  const call = () =>
    new Promise<void>((resolve, reject) => {
      const s = session.request({ ":method": "POST", ":path": "/raw", "content-type": "application/proto" });
      s.on("data", () => undefined);
      s.on("end", () => resolve());
      s.on("error", reject);
      s.end(body);
    });
  try {
    let calls = 0;
    const end = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          await call();
          calls++;
        }
      }),
    );
    return Math.round(calls / seconds);
  } finally {
    session.close();
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  }
}

export async function main(args: string[]): Promise<void> {
  const seconds = option(args, "seconds", 20);
  const concurrency = option(args, "concurrency", 32);
  const userCount = option(args, "users", 200);
  console.log(`mixed bench: ${userCount} users, ${concurrency} calls in flight for ${seconds} s, MariaDB`);

  const store = await scratchMysql(`orbit_bench_mixed_${process.pid}`);
  const bundle = await startBundle(["--services", "social", "--mysql", store.url], {
    // All callers come from one address here, where a deployment's come from many: the
    // per-address sign-up and log-in limits are off (the per-handle login throttle stays).
    env: { ORBIT_SCRYPT_LOG_N: "14", ORBIT_USER_SIGN_UP_PER_ADDRESS: "0", ORBIT_USER_LOG_IN_PER_ADDRESS: "0" },
  });
  try {
    const anon = api(bundle.url);
    process.stdout.write(`seeding ${userCount} users … `);
    const members: Member[] = [];
    for (let i = 0; i < userCount; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, userCount - i) }, async (_, k) => {
          const handle = `mix${i + k}`;
          const r = await anon.users.signUp({ handle, password: "mixed-load-password", displayName: `Mix ${i + k}` });
          return {
            id: r.user!.id,
            handle,
            api: api(bundle.url, r.token),
            posts: [],
            following: new Set<bigint>(),
            liked: new Set<bigint>(),
          };
        }),
      );
      members.push(...batch);
    }
    const allPosts: bigint[] = [];
    for (const m of members) {
      const others = members
        .filter((o) => o !== m)
        .sort(() => Math.random() - 0.5)
        .slice(0, 20);
      await Promise.all(others.map((o) => m.api.graph.follow({ userId: o.id }).then(() => m.following.add(o.id))));
      for (let p = 0; p < 3; p++) {
        const r = await m.api.posts.createPost({ text: `seed post ${p} of ${m.handle} #bench` });
        m.posts.push(r.post!.id);
        allPosts.push(r.post!.id);
      }
    }
    console.log(`done (${fmt(allPosts.length)} posts)`);

    const calls = mix(members, allPosts, anon);
    const totalWeight = calls.reduce((a, [w]) => a + w, 0);
    const draw = () => {
      let x = Math.random() * totalWeight;
      for (const c of calls) if ((x -= c[0]) < 0) return c;
      return calls[0]!;
    };
    const byMethod = new Map<string, { lat: number[]; errors: number }>(
      calls.map(([, m]) => [m, { lat: [], errors: 0 }]),
    );
    const codes = new Map<string, number>();
    const all: number[] = [];
    let errors = 0;
    process.stdout.write(`warming up 2 s … `);
    const run = async (until: number, record: boolean) =>
      Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (performance.now() < until) {
            const [, method, call] = draw();
            const t0 = performance.now();
            try {
              await call();
              if (!record) continue;
              const ms = performance.now() - t0;
              byMethod.get(method)!.lat.push(ms);
              all.push(ms);
            } catch (err) {
              if (!record) continue;
              errors++;
              byMethod.get(method)!.errors++;
              const code = Code[ConnectError.from(err).code] ?? "unknown";
              codes.set(`${method} ${code}`, (codes.get(`${method} ${code}`) ?? 0) + 1);
            }
          }
        }),
      );
    await run(performance.now() + 2_000, false);
    process.stdout.write(`measuring ${seconds} s … `);
    const t0 = performance.now();
    await run(t0 + seconds * 1000, true);
    const elapsed = (performance.now() - t0) / 1000;
    const rps = Math.round(all.length / elapsed);
    console.log(`${fmt(rps)} calls/s`);
    const overall = stats(all, errors);
    const methods = Object.fromEntries([...byMethod].map(([m, v]) => [m, stats(v.lat, v.errors)]));
    for (const [m, s] of Object.entries(methods))
      console.log(
        `  ${m.padEnd(13)} ${fmt(s.calls).padStart(7)} calls  p50 ${s.p50Ms} ms  p99 ${s.p99Ms} ms  errors ${s.errors}`,
      );
    console.log(
      `  overall       p50 ${overall.p50Ms} ms  p99 ${overall.p99Ms} ms  max ${overall.maxMs} ms  errors ${errors}`,
    );
    if (codes.size) console.log(`  errors by method and code: ${JSON.stringify(Object.fromEntries(codes))}`);

    process.stdout.write(`baseline: bare node:http2, ${concurrency} in flight, ${seconds} s … `);
    const raw = await rawBaseline(seconds, concurrency);
    const ratio = Math.round((rps / raw) * 1000) / 1000;
    console.log(`${fmt(raw)} calls/s; the mixed workload is ${ratio}× the bare transport`);
    console.log(
      JSON.stringify({
        scenario: "mixed",
        engine: "mariadb",
        seconds,
        concurrency,
        users: userCount,
        rps,
        overall,
        methods,
        errorsByCode: Object.fromEntries(codes),
        rawHttp2Rps: raw,
        ratio,
      }),
    );
  } finally {
    await bundle.stop();
    await store.dispose();
  }
}
