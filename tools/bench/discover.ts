/**
 * `npm run bench -- discover [scale] [--seconds S] [--only sqlite|mariadb[,…]]
 *   [--steps suggestions,trending,hashtagHot,search] [--cpu-prof DIR] [--hides N]`
 *
 * The discover service's reads on the feed bench's data (tools/bench/_feed-data.ts:
 * at scale 1, 10,000 users × 100 follows × 100,000 posts; default scale 0.1):
 *  1. seed the social tables as the feed bench does (_feed-seed.ts), then the
 *     discover projection straight through its DAOs (what discover.index would
 *     have written): users with follower counts, follow edges, posts with a
 *     hot rank from random likes/comments, one or two hashtags per post out of
 *     200 (Zipf-like), post text from a 2,000-word vocabulary in the
 *     full-text index;
 *  2. a real `orbit bundle --services=social,discover` child process on the
 *     store; each RPC over HTTP/2 with a Connect client and a user's bearer
 *     token, one call at a time for S seconds: GetSuggestions (limit 10;
 *     each of the 200 callers' first call, which builds its precomputed list,
 *     is timed apart before),
 *     GetTrendingHashtags (DAY, limit 10), GetHotPosts for a hashtag (page
 *     20), SearchPosts for one word (page 20);
 *  3. baselines: the raw driver running each RPC's main query (the
 *     friends-of-friends join, the trends GROUP BY without the cache, the
 *     hashtag's rank range, the FTS match), one at a time.
 *  4. with --hides N: N moderator hides, each timed until the post is gone
 *     from its author's home feed, its hashtag's hot list and search (_hide-latency.ts;
 *     the bundle then also runs moderation).
 * Goals (MariaDB): suggestions p99 ≤ 20 ms, trending p99 ≤ 10 ms, hashtag hot
 * page p99 ≤ 20 ms, full-text search p99 ≤ 100 ms.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { DiscoverService, TrendWindow } from "../../gen/orbit/discover/v1/discover_pb.js";
import {
  FollowEdgeRowDao,
  HotPostRowDao,
  PostTagRowDao,
  UserEntryRowDao,
} from "../../gen/orbit/discover/v1/tables_db.js";
import { runMigrations } from "../../platform/kernel/migrate.js";
import type { SqlDb } from "../../platform/storage/driver.js";
import { openSqlStore } from "../../platform/storage/open.js";
import { hotRank } from "../../platform/hot.js";
import { putText, ensureSearchTables, searchText } from "../../services/discover/search-sql.js";
import { discover } from "../../services/discover/service.js";
import { runOrbit, startBundle, type BundleProcess } from "../../test/support/bundle-process.js";
import { followerCount, makeSocialData, postId, postTimeMs, prng, userId, type SocialData } from "./_feed-data.js";
import { createTables, line, seedSocial } from "./_feed-seed.js";
import { summarize } from "./_cpu-profile.js";
import { measureHides, type HideFigures } from "./_hide-latency.js";
import { fmt, percentile } from "./_measure.js";
import { scratchMysql } from "./_mysql-db.js";

const TAGS = 200;
const WORDS = 2000;
const CHUNK = 5000;

interface Latency {
  calls: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const ms = (v: number) => Math.round(v * 100) / 100;

async function timed(op: (i: number) => Promise<unknown>, seconds: number): Promise<Latency> {
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  for (let i = 0; performance.now() < end; i++) {
    const s = performance.now();
    await op(i);
    lat.push(performance.now() - s);
  }
  const sorted = lat.sort((a, b) => a - b);
  return {
    calls: lat.length,
    p50Ms: ms(percentile(sorted, 50)),
    p99Ms: ms(percentile(sorted, 99)),
    maxMs: ms(sorted[sorted.length - 1] ?? 0),
  };
}

/** Zipf-like pick in [0, n): low indices much more often. */
function zipf(rnd: () => number, n: number): number {
  return Math.min(n - 1, Math.floor(Math.pow(n + 1, rnd()) - 1));
}

const word = (w: number) => `w${w.toString(36)}x`;
const tagName = (t: number) => `tag${t}`;

async function seedDiscover(db: SqlDb, d: SocialData): Promise<void> {
  const { users: U, follows: F, posts: P } = d.sizes;
  await runMigrations(db, discover.tables, {});
  await ensureSearchTables(db);
  const chunks = async (label: string, total: number, write: (from: number, to: number) => Promise<void>) => {
    const bar = line(label);
    for (let i = 0; i < total; i += CHUNK) {
      await write(i, Math.min(total, i + CHUNK));
      bar.tick(Math.min(total, i + CHUNK), total);
    }
    bar.end(`${fmt(total)} rows`);
  };
  await chunks("discover users", U, (a, b) =>
    db.transaction(async (tx) => {
      const rows = [];
      for (let u = a; u < b; u++)
        rows.push({
          userId: userId(u),
          handleKey: `u${u}`,
          nameKey: `user ${u}`,
          followers: BigInt(followerCount(d, u)),
          suspended: false,
        });
      await new UserEntryRowDao(tx).insertMany(rows);
    }),
  );
  await chunks("discover follows", U, (a, b) =>
    db.transaction(async (tx) => {
      const rows = [];
      for (let u = a; u < b; u++)
        for (let k = 0; k < F; k++) rows.push({ followerId: userId(u), followeeId: userId(d.followees[u * F + k]!) });
      for (let i = 0; i < rows.length; i += 2000) await new FollowEdgeRowDao(tx).insertMany(rows.slice(i, i + 2000));
    }),
  );
  const rnd = prng(99);
  await chunks("discover posts, tags, text", P, (a, b) =>
    db.transaction(async (tx) => {
      const posts = [];
      const tags = [];
      for (let i = a; i < b; i++) {
        const likes = zipf(rnd, 200);
        const comments = zipf(rnd, 20);
        const created = BigInt(postTimeMs(d, i));
        const rank = hotRank(likes, comments, created);
        const hashtags = [...new Set([tagName(zipf(rnd, TAGS)), ...(rnd() < 0.5 ? [tagName(zipf(rnd, TAGS))] : [])])];
        const id = postId(d, i);
        const author = userId(d.author[i]!);
        posts.push({
          postId: id,
          authorId: author,
          createdAtMs: created,
          likes: BigInt(likes),
          comments: BigInt(comments),
          hotRank: rank,
          hashtags,
        });
        for (const tag of hashtags)
          tags.push({ tag, postId: id, authorId: author, createdAtMs: created, hotRank: rank });
        const words = Array.from({ length: 12 }, () => word(zipf(rnd, WORDS)));
        await putText(tx, id, `${words.join(" ")} #${hashtags.join(" #")}`);
      }
      await new HotPostRowDao(tx).insertMany(posts);
      await new PostTagRowDao(tx).insertMany(tags);
    }),
  );
}

interface EngineFigures {
  rpc: Record<string, Latency>;
  raw: Record<string, Latency>;
  /** Each user's first GetSuggestions, which builds its list. */
  suggestionsFirstCall: Latency;
  hide?: HideFigures;
}

interface RunOptions {
  seconds: number;
  /** RPC steps to time (all by default). */
  steps: readonly string[];
  /** A directory: the bundle runs under `node --cpu-prof` and its self times are printed. */
  cpuProf?: string;
  /** Moderator hides to time (the bundle then runs moderation too): _hide-latency.ts. */
  hides: number;
}

const STEPS = ["suggestions", "trending", "hashtagHot", "search"] as const;

async function runEngine(engine: string, d: SocialData, o: RunOptions): Promise<EngineFigures> {
  const { seconds } = o;
  console.log(`\n${engine}:`);
  let db: SqlDb;
  let bundleArgs: string[];
  let dispose: () => Promise<void>;
  const dataDir = mkdtempSync(join(tmpdir(), "orbit-bench-discover-"));
  if (engine === "mariadb") {
    const s = await scratchMysql("orbit_bench_discover", { pool: 8 });
    db = s.db;
    bundleArgs = ["--mysql", s.url];
    dispose = s.dispose;
  } else {
    db = openSqlStore(`sqlite:${join(dataDir, "orbit.db")}`);
    bundleArgs = [];
    dispose = () => db.close();
  }
  let bundle: BundleProcess | undefined;
  try {
    await createTables(db);
    const tokens = await seedSocial(db, d);
    await seedDiscover(db, d);
    // moderation (for --hides) pulls in chat and live: RTMP on any free port.
    const services = o.hides > 0 ? ["social,discover,moderation", "--live-rtmp-port", "0"] : ["social,discover"];
    bundle = await startBundle(["--services", ...services, ...bundleArgs], {
      dataDir,
      // One caller searches for S seconds: the per-caller search limit is off here.
      env: {
        ORBIT_FEED_CELEBRITY_THRESHOLD: String(d.celebThreshold),
        ORBIT_DISCOVER_SEARCHES_PER_MINUTE: "0",
      },
      nodeArgs: o.cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${o.cpuProf}`] : [],
      readyTimeoutMs: 120_000,
    });
    const clients = tokens.slice(0, 200).map((token) =>
      createClient(
        DiscoverService,
        createConnectTransport({
          baseUrl: bundle!.url,
          httpVersion: "2",
          interceptors: [
            (next) => (req) => {
              req.header.set("authorization", `Bearer ${token}`);
              return next(req);
            },
          ],
        }),
      ),
    );
    const c = (i: number) => clients[i % clients.length]!;
    const hotTag = (i: number) => tagName(i % 20);
    const searchWord = (i: number) => word(20 + (i % 200));
    // Warm up (first calls compile validators, prepare statements).
    for (let i = 0; i < 20; i++) {
      await c(i).getSuggestions({ limit: 10 });
      await c(i).getTrendingHashtags({ window: TrendWindow.DAY, limit: 10 });
      await c(i).getHotPosts({ hashtag: hotTag(i), pageSize: 20 });
      await c(i).searchPosts({ query: searchWord(i), pageSize: 20 });
    }
    // Each user's first GetSuggestions builds its precomputed list (the friends-of-friends join): timed apart.
    const builds: number[] = [];
    for (let i = 20; i < clients.length; i++) {
      const s = performance.now();
      await c(i).getSuggestions({ limit: 10 });
      builds.push(performance.now() - s);
    }
    builds.sort((a, b) => a - b);
    const firstCall: Latency = {
      calls: builds.length,
      p50Ms: ms(percentile(builds, 50)),
      p99Ms: ms(percentile(builds, 99)),
      maxMs: ms(builds[builds.length - 1] ?? 0),
    };
    console.log(
      `  suggestions, first call per user (builds the list): p50 ${firstCall.p50Ms} ms p99 ${firstCall.p99Ms} ms (${firstCall.calls} users)`,
    );
    const check = await c(0).getTrendingHashtags({ window: TrendWindow.DAY, limit: 10 });
    const sugg = await c(1).getSuggestions({ limit: 10 });
    const hot = await c(2).getHotPosts({ hashtag: hotTag(2), pageSize: 20 });
    const found = await c(3).searchPosts({ query: searchWord(3), pageSize: 20 });
    console.log(
      `  check: ${check.hashtags.length} trends (top ${check.hashtags[0]?.tag} ${check.hashtags[0]?.authors} authors), ` +
        `${sugg.users.length} suggestions, ${hot.posts.length} hot posts, ${found.posts.length} search hits`,
    );
    const rpc: Record<string, Latency> = {};
    const calls: Record<(typeof STEPS)[number], (i: number) => Promise<unknown>> = {
      suggestions: (i) => c(i).getSuggestions({ limit: 10 }),
      trending: (i) => c(i).getTrendingHashtags({ window: TrendWindow.DAY, limit: 10 }),
      hashtagHot: (i) => c(i).getHotPosts({ hashtag: hotTag(i), pageSize: 20 }),
      search: (i) => c(i).searchPosts({ query: searchWord(i), pageSize: 20 }),
    };
    for (const step of STEPS) if (o.steps.includes(step)) rpc[step] = await timed(calls[step], seconds);
    const raw: Record<string, Latency> = {};
    const MAX = 9_223_372_036_854_775_807n;
    if (o.steps.includes("suggestions"))
      raw.suggestions = await timed(
        (i) =>
          db.allValues(
            "SELECT f2.followee_id, COUNT(*) AS n FROM (SELECT followee_id FROM discover_follows WHERE follower_id = ? LIMIT 1000) AS f1 " +
              "JOIN discover_follows f2 ON f2.follower_id = f1.followee_id " +
              "LEFT JOIN discover_follows mine ON mine.follower_id = ? AND mine.followee_id = f2.followee_id " +
              "WHERE mine.follower_id IS NULL AND f2.followee_id <> ? GROUP BY f2.followee_id ORDER BY n DESC LIMIT 300",
            [userId(i % d.sizes.users), userId(i % d.sizes.users), userId(i % d.sizes.users)],
          ),
        seconds,
      );
    if (o.steps.includes("trending"))
      raw.trending = await timed(
        () =>
          db.allValues(
            "SELECT tag, COUNT(DISTINCT author_id) AS authors, COUNT(*) AS posts FROM discover_post_tags " +
              "WHERE created_at_ms >= ? GROUP BY tag HAVING COUNT(DISTINCT author_id) >= 5 ORDER BY authors DESC, posts DESC, tag ASC LIMIT 200",
            [Date.now() - 86_400_000],
          ),
        seconds,
      );
    if (o.steps.includes("hashtagHot"))
      raw.hashtagHot = await timed(
        (i) =>
          db.allValues(
            "SELECT post_id, hot_rank FROM discover_post_tags WHERE tag = ? AND (hot_rank < ? OR (hot_rank = ? AND post_id < ?)) ORDER BY hot_rank DESC, post_id DESC LIMIT 21",
            [hotTag(i), MAX, MAX, MAX],
          ),
        seconds,
      );
    if (o.steps.includes("search")) raw.search = await timed((i) => searchText(db, [searchWord(i)], 0n, 21), seconds);
    for (const k of Object.keys(rpc))
      console.log(
        `  ${k.padEnd(12)} RPC p50 ${rpc[k]!.p50Ms} ms p99 ${rpc[k]!.p99Ms} ms (${fmt(rpc[k]!.calls)} calls) · raw query p50 ${raw[k]!.p50Ms} ms p99 ${raw[k]!.p99Ms} ms`,
      );
    let hide: HideFigures | undefined;
    if (o.hides > 0) {
      const grant = runOrbit(["moderator", "grant", "u0", "--data-dir", dataDir, ...bundleArgs]);
      if ((await grant.exited).code !== 0) throw new Error(`moderator grant failed: ${grant.stderr.join("\n")}`);
      hide = await measureHides(bundle.url, tokens.slice(0, 50), o.hides);
      console.log(
        `  hide → gone from feed, hashtag hot list and search: p50 ${hide.p50Ms} ms p99 ${hide.p99Ms} ms max ${hide.maxMs} ms (${hide.hides} hides) · ` +
          `Resolve RPC alone p50 ${hide.resolveP50Ms} ms p99 ${hide.resolveP99Ms} ms`,
      );
      console.log(
        `    gone from each alone (p50 / p99): ${Object.entries(hide.bySurface)
          .map(([k, v]) => `${k} ${v.p50Ms} / ${v.p99Ms} ms`)
          .join(", ")}`,
      );
    }
    return { rpc, raw, suggestionsFirstCall: firstCall, ...(hide ? { hide } : {}) };
  } finally {
    await bundle?.stop();
    if (o.cpuProf) {
      for (const f of readdirSync(o.cpuProf).filter((n) => n.endsWith(".cpuprofile"))) {
        console.log(`  bundle CPU profile ${join(o.cpuProf, f)} (whole run):`);
        console.log(summarize(JSON.parse(readFileSync(join(o.cpuProf, f), "utf8")), 25));
      }
    }
    await dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function main(args: string[]): Promise<void> {
  const scale = args[0] && !args[0].startsWith("--") ? Number(args[0]) : 0.1;
  if (!Number.isFinite(scale) || scale < 0.02 || scale > 10) throw new RangeError("scale must be a number in 0.02..10");
  const si = args.indexOf("--seconds");
  const seconds = si >= 0 ? Number(args[si + 1]) : 5;
  const oi = args.indexOf("--only");
  const engines = oi >= 0 ? args[oi + 1]!.split(",") : ["sqlite", "mariadb"];
  const ti = args.indexOf("--steps");
  const steps = ti >= 0 ? args[ti + 1]!.split(",") : [...STEPS];
  for (const st of steps) if (!(STEPS as readonly string[]).includes(st)) throw new Error(`--steps: one of ${STEPS}`);
  const hi = args.indexOf("--hides");
  const hides = hi >= 0 ? Number(args[hi + 1]) : 0;
  if (!Number.isInteger(hides) || hides < 0) throw new Error("--hides: a number of hides");
  const pi = args.indexOf("--cpu-prof");
  const cpuProf = pi >= 0 ? args[pi + 1] : undefined;
  const users = Math.round(10_000 * scale);
  const sizes = {
    users,
    follows: Math.min(100, Math.floor(users / 10)),
    posts: Math.round(100_000 * scale),
    celebs: 5,
    celebShare: 0.4,
  };
  const d = makeSocialData(sizes);
  console.log(
    `discover bench: ${fmt(sizes.users)} users × ${sizes.follows} follows × ${fmt(sizes.posts)} posts; ${TAGS} hashtags, ${WORDS} words`,
  );
  const results: Record<string, EngineFigures> = {};
  for (const e of engines) results[e] = await runEngine(e, d, { seconds, steps, cpuProf, hides });
  const m = results.mariadb?.rpc;
  console.log(
    JSON.stringify({
      scenario: "discover",
      scale,
      sizes,
      ...results,
      goals: m
        ? {
            suggestionsP99AtMost20ms: m.suggestions && m.suggestions.p99Ms <= 20,
            trendingP99AtMost10ms: m.trending && m.trending.p99Ms <= 10,
            hashtagHotP99AtMost20ms: m.hashtagHot && m.hashtagHot.p99Ms <= 20,
            searchP99AtMost100ms: m.search && m.search.p99Ms <= 100,
            hideGoneP99AtMost1s: results.mariadb?.hide && results.mariadb.hide.p99Ms <= 1000,
          }
        : "measured on MariaDB only",
    }),
  );
}
