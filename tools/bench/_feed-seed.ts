/**
 * Seeds the feed bench's store directly: the social services' tables are
 * migrated with the bundle's own migrator, then users, sessions, follows,
 * counts, posts and likes are written through the generated DAOs (batch
 * insertMany, one transaction per chunk), so no password hashing or API round
 * trips are spent. Home-feed rows go through RawFeedWriter (the raw driver,
 * multi-row upserts with the wide store's own statement) or, with the feed
 * on Cassandra, RawCassandraFeedWriter; either is also the fan-out baseline.
 */
import { concurrent } from "cassandra-driver";
import { HomeFeedRowCql, HomeFeedRowTable } from "../../gen/orbit/feed/v1/tables_wide.js";
import type { CassandraClient } from "../../platform/storage/cassandra/client.js";
import { FollowCountRowDao, FollowRowDao } from "../../gen/orbit/graph/v1/tables_db.js";
import { LikeRowDao, PostRowDao } from "../../gen/orbit/post/v1/tables_db.js";
import { ProfileCounterRowDao, SessionRowDao, UserRowDao } from "../../gen/orbit/user/v1/tables_db.js";
import { ensureEventTables } from "../../platform/events/tables.js";
import { runMigrations } from "../../platform/kernel/migrate.js";
import type { SqlDb, SqlTx, SqlValue } from "../../platform/storage/driver.js";
import { MysqlDb } from "../../platform/storage/mysql.js";
import { SqliteDb } from "../../platform/storage/sqlite.js";
import { wideSql } from "../../platform/storage/wide/sql-text.js";
import { feed } from "../../services/feed/service.js";
import { graph } from "../../services/graph/service.js";
import { post } from "../../services/post/service.js";
import { user } from "../../services/user/service.js";
import { hashToken, newToken } from "../../services/user/tokens.js";
import { fmt } from "./_measure.js";
import { followerCount, postId, postTimeMs, prng, userId, type SocialData } from "./_feed-data.js";

const CHUNK = 20_000;
const SESSION_BASE = 1n << 41n;
const FAKE_PASSWORD_HASH = new Uint8Array(48).fill(1); // nobody logs in: sessions are seeded

export function line(label: string): { tick(done: number, total: number): void; end(msg: string): void } {
  let last = 0;
  const t0 = performance.now();
  return {
    tick(done, total) {
      const now = performance.now();
      if (now - last < 1000) return;
      last = now;
      process.stdout.write(`\r  ${label} … ${fmt(done)} / ${fmt(total)}   `);
    },
    end(msg) {
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      process.stdout.write(`\r  ${label} … ${msg} (${s} s)${" ".repeat(20)}\n`);
    },
  };
}

/** Writes `total` rows made by `make(from, to)`, CHUNK rows per transaction, with progress. */
async function chunked<R>(
  db: SqlDb,
  label: string,
  total: number,
  make: (from: number, to: number) => R[],
  insert: (tx: SqlTx, rows: R[]) => Promise<unknown>,
): Promise<void> {
  const bar = line(label);
  for (let i = 0; i < total; i += CHUNK) {
    const rows = make(i, Math.min(total, i + CHUNK));
    await db.transaction((tx) => insert(tx, rows));
    bar.tick(Math.min(total, i + CHUNK), total);
  }
  bar.end(`${fmt(total)} rows`);
}

function range<R>(from: number, to: number, f: (i: number) => R): R[] {
  const out = new Array<R>(to - from);
  for (let i = from; i < to; i++) out[i - from] = f(i);
  return out;
}

export async function createTables(db: SqlDb): Promise<void> {
  await runMigrations(
    db,
    [user, graph, post, feed].flatMap((s) => s.tables),
    {},
  );
  await ensureEventTables(db);
}

/** Seeds every table but home_feed; returns each user's bearer token. */
export async function seedSocial(db: SqlDb, d: SocialData): Promise<string[]> {
  const { users: U, follows: F, posts: P } = d.sizes;
  const now = BigInt(Date.now());
  await chunked(
    db,
    "users",
    U,
    (a, b) =>
      range(a, b, (u) => ({
        id: userId(u),
        handle: `u${u}`,
        handleKey: `u${u}`,
        displayName: `User ${u}`,
        passwordHash: FAKE_PASSWORD_HASH,
        createdAtMs: now,
      })),
    (tx, rows) => new UserRowDao(tx).insertMany(rows),
  );

  const tokens = Array.from({ length: U }, () => newToken());
  await chunked(
    db,
    "sessions",
    U,
    (a, b) =>
      range(a, b, (u) => ({
        id: SESSION_BASE + BigInt(u),
        userId: userId(u),
        tokenHash: hashToken(tokens[u]!),
        deviceName: "bench",
        createdAtMs: now,
        lastSeenAtMs: now,
      })),
    (tx, rows) => new SessionRowDao(tx).insertMany(rows),
  );

  await chunked(
    db,
    "follows",
    U * F,
    (a, b) =>
      range(a, b, (k) => ({
        followerId: userId(Math.floor(k / F)),
        followeeId: userId(d.followees[k]!),
        createdAtMs: now - BigInt(k % F),
      })),
    (tx, rows) => new FollowRowDao(tx).insertMany(rows),
  );

  const postsOf = (u: number) => d.authorStart[u + 1]! - d.authorStart[u]!;
  await chunked(
    db,
    "follow counts",
    U,
    (a, b) => range(a, b, (u) => ({ userId: userId(u), followers: BigInt(followerCount(d, u)), following: BigInt(F) })),
    (tx, rows) => new FollowCountRowDao(tx).insertMany(rows),
  );
  await chunked(
    db,
    "profile counters",
    U,
    (a, b) =>
      range(a, b, (u) => ({
        userId: userId(u),
        followers: BigInt(followerCount(d, u)),
        following: BigInt(F),
        posts: BigInt(postsOf(u)),
      })),
    (tx, rows) => new ProfileCounterRowDao(tx).insertMany(rows),
  );

  // Each post is liked by one random follower of its author (if it has any).
  const rnd = prng(7);
  const liker = new Int32Array(P).fill(-1);
  for (let i = 0; i < P; i++) {
    const a = d.author[i]!;
    const n = followerCount(d, a);
    if (n > 0) liker[i] = d.followers[d.followerStart[a]! + Math.floor(rnd() * n)]!;
  }
  await chunked(
    db,
    "posts",
    P,
    (a, b) =>
      range(a, b, (i) => ({
        id: postId(d, i),
        authorId: userId(d.author[i]!),
        text: `Post ${i} by u${d.author[i]} — a bench post with some text in it, about as long as most.`,
        createdAtMs: BigInt(postTimeMs(d, i)),
        likeCount: liker[i]! >= 0 ? 1n : 0n,
      })),
    (tx, rows) => new PostRowDao(tx).insertMany(rows),
  );
  await chunked(
    db,
    "likes",
    P,
    (a, b) =>
      range(a, b, (i) => i).flatMap((i) =>
        liker[i]! >= 0
          ? [{ postId: postId(d, i), userId: userId(liker[i]!), createdAtMs: BigInt(postTimeMs(d, i) + 1) }]
          : [],
      ),
    (tx, rows) => new LikeRowDao(tx).insertMany(rows),
  );
  return tokens;
}

/**
 * The raw driver writing home_feed rows: the wide store's own upsert
 * statement, with ROWS tuples per statement, one statement at a time.
 */
/** Writes home_feed rows in bulk (the fan-out baseline and the history seed). */
export interface FeedRowWriter {
  add(user: bigint, post: bigint, author: bigint): Promise<void>;
  flush(): Promise<void>;
}

/**
 * The raw cassandra-driver writing home_feed rows: the wide store's own
 * prepared INSERT (HomeFeedRowCql.insert), ROWS at a time through the
 * driver's bulk path (concurrent.executeConcurrent, 64 in flight).
 */
export class RawCassandraFeedWriter implements FeedRowWriter {
  static readonly ROWS = 1000;
  private buf: unknown[][] = [];

  constructor(private readonly client: CassandraClient) {}

  async add(user: bigint, post: bigint, author: bigint): Promise<void> {
    this.buf.push([user, post, author, 0]);
    if (this.buf.length === RawCassandraFeedWriter.ROWS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buf.length === 0) return;
    const params = this.buf;
    this.buf = [];
    await concurrent.executeConcurrent(this.client.driver, HomeFeedRowCql.insert, params, {
      concurrencyLevel: 64,
      raiseOnFirstError: true,
    });
  }
}

export class RawFeedWriter implements FeedRowWriter {
  static readonly ROWS = 1000;
  private readonly write: (params: SqlValue[], rows: number) => Promise<void>;
  private buf: SqlValue[] = [];

  constructor(db: SqlDb) {
    const put = wideSql(HomeFeedRowTable, db.dialect).put;
    const tuple = "(?, ?, ?, ?)";
    const at = put.indexOf(tuple);
    if (at < 0) throw new Error(`unexpected home_feed put statement: ${put}`);
    const sqlFor = (n: number) =>
      `${put.slice(0, at)}${new Array<string>(n).fill(tuple).join(", ")}${put.slice(at + tuple.length)}`;
    const full = sqlFor(RawFeedWriter.ROWS);
    if (db instanceof SqliteDb) {
      const stmts = new Map<number, ReturnType<typeof db.raw.prepare>>();
      this.write = async (params, n) => {
        let s = stmts.get(n);
        if (!s) stmts.set(n, (s = db.raw.prepare(n === RawFeedWriter.ROWS ? full : sqlFor(n))));
        s.run(params);
      };
    } else if (db instanceof MysqlDb) {
      this.write = async (params, n) => {
        // As the store binds them: mysql2 takes int64 as decimal strings.
        for (let i = 0; i < params.length; i++) if (typeof params[i] === "bigint") params[i] = params[i]!.toString();
        await db.pool.execute(n === RawFeedWriter.ROWS ? full : sqlFor(n), params as never);
      };
    } else throw new Error("RawFeedWriter: unknown store");
  }

  async add(user: bigint, post: bigint, author: bigint): Promise<void> {
    this.buf.push(user, post, author, null);
    if (this.buf.length === RawFeedWriter.ROWS * 4) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buf.length === 0) return;
    const params = this.buf;
    this.buf = [];
    await this.write(params, params.length / 4);
  }
}
