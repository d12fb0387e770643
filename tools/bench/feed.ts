/**
 * `npm run bench -- feed [scale] [--seconds S] [--fanout-seconds S] [--only sqlite|mariadb|cassandra[,…]] [--skip-reads]
 *                       [--workers N] [--cpu-prof DIR]`
 *
 * The home feed on SQLite and on MariaDB (a fresh database, dropped at the
 * end), in one run; `--only cassandra` puts the home feed on Cassandra
 * (CASSANDRA_CONTACT_POINTS, else the local node at 127.0.0.1:9042; a fresh
 * keyspace, dropped at the end) and the rest on MariaDB
 * (`--only mariadb,cassandra` measures both side by side). Cassandra seeds
 * slowly (one INSERT per row): use a small scale there (`feed 0.05`). At scale 1: 10,000 users × 100 follows × 100,000 posts
 * (5 celebrities followed by ~40% of users, above the celebrity threshold,
 * so their posts are merged at read time). `scale` multiplies users and posts
 * (`feed 0.1` for a quick run).
 *
 * Per engine:
 *  1. seed users, sessions, follows, counts, posts and likes through the
 *     generated DAOs; home feeds of the oldest 88% of posts (capped, as the
 *     fan-out would leave them) through the raw driver;
 *  2. fan-out baseline: the raw driver writes the feed rows of the next 2% of
 *     posts (author + every follower), sorted by key per consumer batch (FANOUT_BATCH posts), in
 *     multi-row upserts of 1000 rows (Cassandra: the same INSERT the store prepares, 64 in flight);
 *  3. fan-out: a real `orbit bundle --services=social` child process; the
 *     newest 10% of posts are published as post.created events, and its
 *     feed.fanout consumer (FeedWriter) writes them: home_feed rows/s from
 *     the first publish until the group's position passes the last event;
 *  4. GetHomeFeed (first page of 20) over HTTP/2 with a Connect client and
 *     each user's bearer token: p50/p99 one call at a time, and at 16 in
 *     flight; the first pages of 50 users are checked against the seed.
 *     Baseline: the raw driver running the same partition scan plus the
 *     posts lookup for the page, one at a time. The load runs in a worker
 *     thread (_feed-load.ts) over 4 connections; the bundle's CPU per call
 *     is read from /proc (its process and its workers);
 *  5. the 16 in flight again against `orbit bundle --workers N` (default 2;
 *     1 skips the step): its throughput over one worker's.
 * --cpu-prof DIR: the bundle runs under node --cpu-prof (profiles written on
 * exit; summarize one with `node --import tsx tools/bench/_cpu-profile.ts FILE`).
 * Goals: GetHomeFeed p99 ≤ 10 ms; fan-out ≥ 50,000 rows/s.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import mysql from "mysql2/promise";
import { FeedService } from "../../gen/orbit/feed/v1/feed_pb.js";
import { HomeFeedRowTable } from "../../gen/orbit/feed/v1/tables_wide.js";
import { PostCreatedSchema } from "../../gen/orbit/post/v1/events_pb.js";
import { EventBus } from "../../platform/events/bus.js";
import { silentLogger } from "../../platform/events/logger.js";
import { GROUPS, LOG } from "../../platform/events/tables.js";
import type { SqlDb } from "../../platform/storage/driver.js";
import { MysqlDb } from "../../platform/storage/mysql.js";
import { openSqlStore } from "../../platform/storage/open.js";
import { SqliteDb } from "../../platform/storage/sqlite.js";
import { wideSql } from "../../platform/storage/wide/sql-text.js";
import { FANOUT_BATCH, FANOUT_GROUP } from "../../services/feed/fanout.js";
import { COUNTERS_GROUP } from "../../services/user/counters.js";
import { startBundle, type BundleProcess } from "../../test/support/bundle-process.js";
import {
  expectedPage,
  fannedFeed,
  fanoutRows,
  makeSocialData,
  postId,
  prng,
  userId,
  type SocialData,
} from "./_feed-data.js";
import {
  createTables,
  line,
  RawCassandraFeedWriter,
  RawFeedWriter,
  seedSocial,
  type FeedRowWriter,
} from "./_feed-seed.js";
import { benchCassandraPoints, scratchCassandra, type ScratchCassandra } from "./_cassandra-db.js";
import { HomeFeedRowCql } from "../../gen/orbit/feed/v1/tables_wide.js";
import { fmt, percentile } from "./_measure.js";
import { processTreeCpu, runLoad } from "./_feed-load.js";

const MYSQL_URL = process.env.ORBIT_BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const CAP = 400;
const PAGE = 20;
const HISTORY_SHARE = 0.88;
const BASELINE_SHARE = 0.02;
const READERS = 1000;
const CHECKED = 50;
const CONCURRENCY = 16;
/** HTTP/2 connections the 16 in flight share (a bundle with --workers gets them in turn). */
const CONNECTIONS = 4;

interface Latency {
  calls: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

interface EngineFigures {
  seedSeconds: number;
  fanout: {
    posts: number;
    rows: number;
    seconds: number;
    rowsPerSec: number;
    complete: boolean;
    rawRowsPerSec: number;
    ratio: number;
  };
  read?: { raw: Latency; sequential: Latency; concurrent: Latency; ratio: number; checked: number; mismatches: number };
  /** The same 16 in flight against `orbit bundle --workers <count>`, and its throughput over one worker's. */
  workers?: { count: number; concurrent: Latency; ratio: number };
}

function option(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`--${name} must be a positive number`);
  return v;
}

function stringOption(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? undefined : args[i + 1];
}

const ms = (v: number) => (v < 1 ? Math.round(v * 1000) / 1000 : Math.round(v * 100) / 100);

function summarize(lat: number[], seconds: number): Latency {
  const sorted = Float64Array.from(lat).sort();
  return {
    calls: lat.length,
    rps: Math.round(lat.length / seconds),
    p50Ms: ms(percentile(sorted as unknown as number[], 50)),
    p99Ms: ms(percentile(sorted as unknown as number[], 99)),
    maxMs: ms(sorted[sorted.length - 1] ?? 0),
  };
}

/** Calls `op(i)` with `concurrency` in flight for `seconds`; latencies of each call. */
async function timed(op: (i: number) => Promise<unknown>, seconds: number, concurrency: number): Promise<Latency> {
  const lat: number[] = [];
  let i = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const s = performance.now();
      await op(i++);
      lat.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return summarize(lat, (performance.now() - t0) / 1000);
}

interface Store {
  db: SqlDb;
  /** Where home_feed lives when it is not in `db`. */
  cassandra?: ScratchCassandra;
  bundleArgs: string[];
  dataDir: string;
  dispose(): Promise<void>;
}

/** The raw writer of home_feed rows on the store's feed engine. */
function feedWriter(store: Store): FeedRowWriter {
  return store.cassandra ? new RawCassandraFeedWriter(store.cassandra.client) : new RawFeedWriter(store.db);
}

async function openStore(engine: string): Promise<Store> {
  const dataDir = mkdtempSync(join(tmpdir(), "orbit-bench-feed-"));
  if (engine === "sqlite") {
    const db = openSqlStore(`sqlite:${join(dataDir, "orbit.db")}`);
    return {
      db,
      bundleArgs: [],
      dataDir,
      async dispose() {
        await db.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const base = new URL(MYSQL_URL);
  const name = `orbit_bench_feed_${process.pid}_${Date.now().toString(36)}`;
  const admin = await mysql.createConnection({
    host: base.hostname,
    port: Number(base.port || 3306),
    user: decodeURIComponent(base.username || "root"),
    password: base.password ? decodeURIComponent(base.password) : undefined,
  });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  const u = new URL(MYSQL_URL);
  u.pathname = `/${name}`;
  const db = openSqlStore(u.toString());
  let cassandra: ScratchCassandra | undefined;
  if (engine === "cassandra") {
    const points = await benchCassandraPoints();
    if (!points) throw new Error("no Cassandra node answers: npm run cassandra:start, or set CASSANDRA_CONTACT_POINTS");
    cassandra = await scratchCassandra(points, `orbit_bench_feed_${process.pid}`);
    await cassandra.client.run(HomeFeedRowCql.createTable);
  }
  return {
    db,
    cassandra,
    bundleArgs: ["--mysql", u.toString(), ...(cassandra ? ["--cassandra", cassandra.url] : [])],
    dataDir,
    async dispose() {
      await cassandra?.dispose();
      await db.close();
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Home feeds of posts [0, end), as the fan-out would have left them (newest CAP per user). */
async function seedHistory(raw: FeedRowWriter, d: SocialData, end: number): Promise<void> {
  const bar = line(`home feeds of posts 0…${fmt(end)} (raw, capped at ${CAP})`);
  let rows = 0;
  const U = d.sizes.users;
  for (let u = 0; u < U; u++) {
    const uid = userId(u);
    for (const i of fannedFeed(d, u, end, CAP)) {
      await raw.add(uid, postId(d, i), userId(d.author[i]!));
      rows++;
    }
    bar.tick(u + 1, U);
  }
  await raw.flush();
  bar.end(`${fmt(rows)} rows`);
}

/**
 * The fan-out baseline: the raw driver writes the feed rows of posts
 * [from, to) — the author's and each follower's unless the author is a
 * celebrity — sorted by key per batch of FANOUT_BATCH posts (as the
 * consumer gets them), in multi-row upserts of 1000 rows.
 */
async function rawFanout(raw: FeedRowWriter, d: SocialData, from: number, to: number): Promise<number> {
  const bar = line(`fan-out baseline: raw driver, posts ${fmt(from)}…${fmt(to)}`);
  let rows = 0;
  const t0 = performance.now();
  for (let b = from; b < to; b += FANOUT_BATCH) {
    const batch: Array<[bigint, bigint, bigint]> = [];
    for (let i = b; i < Math.min(to, b + FANOUT_BATCH); i++) {
      const a = d.author[i]!;
      const pid = postId(d, i);
      const aid = userId(a);
      batch.push([aid, pid, aid]);
      if (d.isCeleb[a]) continue;
      for (let k = d.followerStart[a]!; k < d.followerStart[a + 1]!; k++)
        batch.push([userId(d.followers[k]!), pid, aid]);
    }
    batch.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] > y[1] ? -1 : x[1] < y[1] ? 1 : 0));
    for (const [u, p, a] of batch) await raw.add(u, p, a);
    rows += batch.length;
    bar.tick(Math.min(to, b + FANOUT_BATCH) - from, to - from);
  }
  await raw.flush();
  const perSec = Math.round(rows / ((performance.now() - t0) / 1000));
  bar.end(`${fmt(rows)} rows, ${fmt(perSec)} rows/s`);
  return perSec;
}

async function groupPosition(db: SqlDb, group: string): Promise<bigint> {
  const r = await db.get<{ position: unknown }>(`SELECT position FROM ${GROUPS} WHERE group_name = ?`, [group]);
  return r ? BigInt(r.position as string | number | bigint) : -1n;
}

/** Publishes post.created for posts [from, to) and waits for the bundle's feed.fanout group to pass them. */
async function fanout(db: SqlDb, d: SocialData, from: number, to: number, budgetSeconds: number) {
  const bus = await EventBus.open(db, { events: [PostCreatedSchema], logger: silentLogger, owner: "feed-bench" });
  const total = to - from;
  const cumulative = new Float64Array(total + 1);
  for (let i = from; i < to; i++) cumulative[i - from + 1] = cumulative[i - from]! + fanoutRows(d, i);
  const bar = line(`fan-out: ${fmt(total)} post.created events → bundle's ${FANOUT_GROUP} consumer`);
  const t0 = performance.now();
  const items = [];
  for (let i = from; i < to; i++) {
    items.push({
      schema: PostCreatedSchema,
      message: { postId: postId(d, i), authorId: userId(d.author[i]!), createdAtMs: BigInt(d.firstPostMs + i) },
    });
  }
  await bus.publishMany(null, items);
  await bus.close();
  const ids = (await db.all<{ id: unknown }>(`SELECT id FROM ${LOG} ORDER BY id`)).map((r) =>
    BigInt(r.id as string | number | bigint),
  );
  if (ids.length !== total) throw new Error(`expected ${total} events in the log, found ${ids.length}`);
  const last = ids[ids.length - 1]!;
  const deadline = t0 + budgetSeconds * 1000;
  let done = 0;
  for (;;) {
    const pos = await groupPosition(db, FANOUT_GROUP);
    while (done < total && ids[done]! <= pos) done++;
    bar.tick(cumulative[done]!, cumulative[total]!);
    if (done === total || performance.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - t0) / 1000;
  const rows = cumulative[done]!;
  const rowsPerSec = Math.round(rows / seconds);
  bar.end(
    `${fmt(rows)} rows of ${fmt(done)} posts, ${fmt(rowsPerSec)} rows/s${done < total ? " (TIME BUDGET HIT: partial)" : ""}`,
  );
  return { posts: done, rows, seconds: Math.round(seconds * 10) / 10, rowsPerSec, complete: done === total, last };
}

async function waitForGroup(db: SqlDb, group: string, last: bigint, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if ((await groupPosition(db, group)) >= last) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** The raw driver doing a feed page's storage work: the partition scan, then the page's posts. */
function rawPage(db: SqlDb, cassandra?: ScratchCassandra): (user: bigint) => Promise<unknown> {
  const scan = wideSql(HomeFeedRowTable, db.dialect).scan({ order: "clustering", after: false });
  const inList = (n: number) => `SELECT * FROM posts WHERE id IN (${new Array<string>(n).fill("?").join(", ")})`;
  if (cassandra) {
    const driver = cassandra.client.driver;
    const pool = (db as MysqlDb).pool;
    return async (user) => {
      const rs = await driver.execute(HomeFeedRowCql.scanPartition, [user], { prepare: true, fetchSize: PAGE });
      const ids = rs.rows.map((r) => String(r.get("post_id")));
      return ids.length ? (await pool.execute(inList(ids.length), ids))[0] : [];
    };
  }
  if (db instanceof SqliteDb) {
    const s = db.raw.prepare(scan).safeIntegers(true);
    const byN = new Map<number, ReturnType<typeof db.raw.prepare>>();
    return async (user) => {
      const rows = s.all(user, Date.now(), PAGE + 1) as Array<{ post_id: bigint }>;
      const ids = rows.slice(0, PAGE).map((r) => r.post_id);
      let q = byN.get(ids.length);
      if (!q) byN.set(ids.length, (q = db.raw.prepare(inList(ids.length)).safeIntegers(true)));
      return ids.length ? q.all(ids) : [];
    };
  }
  const pool = (db as MysqlDb).pool;
  return async (user) => {
    const [rows] = await pool.execute(scan, [user.toString(), Date.now(), PAGE + 1]);
    const ids = (rows as Array<{ post_id: string }>).slice(0, PAGE).map((r) => r.post_id);
    return ids.length ? (await pool.execute(inList(ids.length), ids))[0] : [];
  };
}

/**
 * GetHomeFeed from the load worker (a thread of its own: _feed-load.ts), with
 * the bundle's CPU time over the step (its process and its workers, from /proc).
 */
async function loadStep(
  b: BundleProcess,
  tokens: readonly string[],
  what: string,
  o: { seconds: number; concurrency: number; connections: number },
): Promise<Latency & { serverCpuMsPerCall: number; clientBusyMs: number; errors: number }> {
  process.stdout.write(`  GetHomeFeed over HTTP/2, ${what} (${o.connections} connection(s)), ${o.seconds} s … `);
  const cpu0 = processTreeCpu(b.child.pid!);
  const r = await runLoad({ url: b.url, tokens, pageSize: PAGE, stride: 7919, ...o });
  const cpu = processTreeCpu(b.child.pid!) - cpu0;
  const lat = summarize(Array.from(r.latencies), r.seconds);
  const serverCpuMsPerCall = Math.round(((cpu * 1000) / Math.max(1, lat.calls)) * 1000) / 1000;
  console.log(
    `${fmt(lat.rps)} req/s, p50 ${lat.p50Ms} ms, p99 ${lat.p99Ms} ms, max ${lat.maxMs} ms; ` +
      `bundle CPU ${serverCpuMsPerCall} ms/call, load thread busy ${fmt(r.clientBusyMs)} ms` +
      (r.errors ? `, ${r.errors} ERRORS` : ""),
  );
  return { ...lat, serverCpuMsPerCall, clientBusyMs: r.clientBusyMs, errors: r.errors };
}

async function reads(store: Store, d: SocialData, tokens: string[], b: BundleProcess, seconds: number, check: boolean) {
  const rnd = prng(99);
  const readers = Array.from({ length: Math.min(READERS, d.sizes.users) }, () => Math.floor(rnd() * d.sizes.users));
  // Baseline.
  const raw = rawPage(store.db, store.cassandra);
  for (const u of readers.slice(0, 200)) await raw(userId(u)); // warm-up
  process.stdout.write(`  read baseline: raw partition scan + posts lookup, one at a time, ${seconds} s … `);
  const rawLat = await timed((i) => raw(userId(readers[i % readers.length]!)), seconds, 1);
  console.log(`p50 ${rawLat.p50Ms} ms, p99 ${rawLat.p99Ms} ms`);

  const client = createClient(
    FeedService,
    createConnectTransport({ baseUrl: b.url, httpVersion: "2", useBinaryFormat: true }),
  );
  const page = (u: number) =>
    client.getHomeFeed({ pageSize: PAGE }, { headers: { authorization: `Bearer ${tokens[u]!}` } });
  // Warm-up: every reader once (each session's first call records last_seen); check the first pages.
  const bar = line(`GetHomeFeed warm-up: each of ${fmt(readers.length)} readers once`);
  let mismatches = 0;
  let checked = 0;
  for (let k = 0; k < readers.length; k++) {
    const u = readers[k]!;
    const r = await page(u);
    if (check && k < CHECKED) {
      checked++;
      const want = expectedPage(d, u, PAGE).map((i) => postId(d, i));
      const got = r.posts.map((p) => p.id);
      if (got.length !== want.length || got.some((id, j) => id !== want[j])) {
        mismatches++;
        if (mismatches <= 3)
          console.log(`\n  MISMATCH for u${u}: got ${got.slice(0, 5).join(",")}… want ${want.slice(0, 5).join(",")}…`);
      }
    }
    bar.tick(k + 1, readers.length);
  }
  bar.end(check ? `${checked} first pages checked, ${mismatches} wrong` : "done (fan-out incomplete: not checked)");
  const readerTokens = readers.map((u) => tokens[u]!);
  const sequential = await loadStep(b, readerTokens, "one at a time", { seconds, concurrency: 1, connections: 1 });
  const concurrent = await loadStep(b, readerTokens, `${CONCURRENCY} in flight`, {
    seconds,
    concurrency: CONCURRENCY,
    connections: CONNECTIONS,
  });
  return {
    raw: rawLat,
    sequential,
    concurrent,
    ratio: Math.round((sequential.p50Ms / rawLat.p50Ms) * 10) / 10,
    checked,
    mismatches,
  };
}

async function runEngine(
  engine: string,
  d: SocialData,
  seconds: number,
  fanoutSeconds: number,
  skipReads: boolean,
  cpuProf: string | undefined,
  workers: number,
): Promise<EngineFigures> {
  console.log(`\n${engine}:`);
  const P = d.sizes.posts;
  const histEnd = Math.floor(P * HISTORY_SHARE);
  const baseEnd = Math.floor(P * (HISTORY_SHARE + BASELINE_SHARE));
  const store = await openStore(engine);
  let bundle: BundleProcess | undefined;
  try {
    const t0 = performance.now();
    await createTables(store.db);
    const tokens = await seedSocial(store.db, d);
    await seedHistory(feedWriter(store), d, histEnd);
    const seedSeconds = Math.round((performance.now() - t0) / 100) / 10;
    const rawRowsPerSec = await rawFanout(feedWriter(store), d, histEnd, baseEnd);

    process.stdout.write(
      `  starting orbit bundle --services=social ${store.cassandra ? "(home feed on Cassandra) " : ""}… `,
    );
    bundle = await startBundle(["--services", "social", ...store.bundleArgs], {
      dataDir: store.dataDir,
      readyTimeoutMs: 120_000,
      env: {
        ORBIT_FEED_CELEBRITY_THRESHOLD: String(d.celebThreshold),
        ORBIT_FEED_CAP: String(CAP),
      },
      ...(cpuProf ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${cpuProf}`] } : {}),
    });
    console.log(`ready at ${bundle.url}`);
    const f = await fanout(store.db, d, baseEnd, P, fanoutSeconds);
    const countersDone = await waitForGroup(store.db, COUNTERS_GROUP, f.last, 120_000);
    if (!countersDone) console.log(`  (${COUNTERS_GROUP} has not caught up after 120 s)`);
    const dead = await store.db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM orbit_event_dead_letters");
    if (Number(dead?.n ?? 0) > 0) console.log(`  WARNING: ${dead?.n} dead-lettered events`);
    if (!f.complete) console.log("  (the bundle is still fanning out: the reads below run alongside it)");
    const read = skipReads ? undefined : await reads(store, d, tokens, bundle, seconds, f.complete);
    let multi: EngineFigures["workers"];
    if (read && workers > 1) {
      await bundle.stop();
      process.stdout.write(`  restarting as orbit bundle --workers ${workers} … `);
      bundle = await startBundle(["--services", "social", "--workers", String(workers), ...store.bundleArgs], {
        dataDir: store.dataDir,
        readyTimeoutMs: 120_000,
        env: { ORBIT_FEED_CELEBRITY_THRESHOLD: String(d.celebThreshold), ORBIT_FEED_CAP: String(CAP) },
        ...(cpuProf ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${cpuProf}`] } : {}),
      });
      console.log("ready");
      const rnd = prng(99);
      const readerTokens = Array.from(
        { length: Math.min(READERS, d.sizes.users) },
        () => tokens[Math.floor(rnd() * d.sizes.users)]!,
      );
      const o = { concurrency: CONCURRENCY, connections: CONNECTIONS };
      await loadStep(bundle, readerTokens, "warm-up", { ...o, seconds: Math.min(2, seconds) });
      const concurrent = await loadStep(bundle, readerTokens, `${CONCURRENCY} in flight`, { ...o, seconds });
      multi = { count: workers, concurrent, ratio: Math.round((concurrent.rps / read.concurrent.rps) * 100) / 100 };
      console.log(`  --workers ${workers}: ${multi.ratio}× the throughput of one worker (goal ≥ 1.6× on 2 cores)`);
    }
    return {
      seedSeconds,
      fanout: {
        posts: f.posts,
        rows: f.rows,
        seconds: f.seconds,
        rowsPerSec: f.rowsPerSec,
        complete: f.complete,
        rawRowsPerSec,
        ratio: Math.round((f.rowsPerSec / rawRowsPerSec) * 1000) / 1000,
      },
      read,
      ...(multi ? { workers: multi } : {}),
    };
  } finally {
    await bundle?.stop();
    await store.dispose();
  }
}

export async function main(args: string[]): Promise<void> {
  const scale = args[0] && !args[0].startsWith("--") ? Number(args[0]) : 1;
  if (!Number.isFinite(scale) || scale < 0.02 || scale > 10) throw new RangeError("scale must be a number in 0.02..10");
  const seconds = option(args, "seconds", 8);
  const fanoutSeconds = option(args, "fanout-seconds", 150);
  const only = stringOption(args, "only");
  const engines = only ? only.split(",") : ["sqlite", "mariadb"];
  for (const e of engines)
    if (!["sqlite", "mariadb", "cassandra"].includes(e)) throw new RangeError(`--only: unknown engine ${e}`);
  const users = Math.round(10_000 * scale);
  const sizes = {
    users,
    follows: Math.min(100, Math.floor(users / 10)),
    posts: Math.round(100_000 * scale),
    celebs: 5,
    celebShare: 0.4,
  };
  const d = makeSocialData(sizes);
  const celebs = d.isCeleb.reduce((n, c) => n + c, 0);
  console.log(
    `feed bench: ${fmt(sizes.users)} users × ${sizes.follows} follows × ${fmt(sizes.posts)} posts; ` +
      `${celebs} celebrities (> ${fmt(d.celebThreshold)} followers, merged at read time); feed cap ${CAP}; page ${PAGE}`,
  );
  const results: Record<string, EngineFigures> = {};
  const skipReads = args.includes("--skip-reads");
  const cpuProf = stringOption(args, "cpu-prof");
  const workers = option(args, "workers", 2);
  for (const e of engines) results[e] = await runEngine(e, d, seconds, fanoutSeconds, skipReads, cpuProf, workers);

  console.log("\nsummary:");
  for (const [e, r] of Object.entries(results)) {
    console.log(
      `  ${e}: fan-out ${fmt(r.fanout.rowsPerSec)} rows/s (raw ${fmt(r.fanout.rawRowsPerSec)}, ratio ${r.fanout.ratio}; goal ≥ 50,000) · ` +
        (r.read
          ? `GetHomeFeed p50 ${r.read.sequential.p50Ms} ms p99 ${r.read.sequential.p99Ms} ms (raw p50 ${r.read.raw.p50Ms} ms; goal p99 ≤ 10 ms)`
          : "reads skipped"),
    );
  }
  const all = Object.values(results);
  console.log(
    JSON.stringify({
      scenario: "feed",
      scale,
      sizes: { ...sizes, celebrities: celebs, celebThreshold: d.celebThreshold, cap: CAP, page: PAGE },
      ...results,
      ratio: Math.min(...all.map((r) => r.fanout.ratio)),
      goals: {
        readP99: all.every((r) => r.read !== undefined && r.read.sequential.p99Ms <= 10),
        fanout: all.every((r) => r.fanout.rowsPerSec >= 50_000),
        readP50Ratio: all.every((r) => r.read !== undefined && r.read.ratio <= 3),
        sqliteConcurrent: results.sqlite?.read ? results.sqlite.read.concurrent.rps >= 2_000 : undefined,
        workers: all.every((r) => r.workers === undefined || r.workers.ratio >= 1.6),
      },
    }),
  );
}
