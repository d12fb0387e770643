/**
 * The discover service's reads: hot lists, trends, suggestions and search,
 * each a few indexed queries on the projection (projection.ts) plus one
 * hydration call (PostService.BatchGetPosts, which also drops posts of
 * authors blocked either way; UserService.GetUsers).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { DismissedRowDao } from "../../gen/orbit/discover/v1/tables_db.js";
import {
  TrendWindow,
  TrendingHashtagSchema,
  type Suggestion,
  type TrendingHashtag,
} from "../../gen/orbit/discover/v1/discover_pb.js";
import { PostService, type Post } from "../../gen/orbit/post/v1/post_pb.js";
import { UserService, type User } from "../../gen/orbit/user/v1/user_pb.js";
import type { ServiceContext } from "../../platform/kernel/context.js";
import type { SqlDb } from "../../platform/storage/driver.js";
import { nameKey } from "./projection.js";
import { searchText, searchWords } from "./search-sql.js";
import type { DiscoverConfig } from "./settings.js";
import { markStale, SuggestionLists } from "./suggestions.js";

const DEFAULT_PAGE = 20;
const DEFAULT_TRENDS = 10;
const DEFAULT_SUGGESTIONS = 10;
/** Trending tags kept per window before the viewer's blocks are taken out. */
const TREND_CANDIDATES = 200;
const HOUR_MS = 3_600_000;
/** The most-followed accounts (the popular source of suggestions), reused for this long. */
const POPULAR = 100;
const POPULAR_TTL_MS = 10_000;

/** Trending callers whose blocks are remembered at once (a bound on memory). */
const VIEWER_BLOCKS_KEPT = 50_000;
const NO_BLOCKS: ReadonlySet<bigint> = new Set();

const TAG = /^[\p{L}\p{M}\p{N}_]{1,100}$/u;
const MAX_ID = 9_223_372_036_854_775_807n;

const big = (v: unknown): bigint => BigInt(typeof v === "bigint" ? v : String(v));
const num = (v: unknown): number => Number(v);

function invalid(msg: string): ConnectError {
  return new ConnectError(msg, Code.InvalidArgument);
}

/** A hashtag as stored: without '#', NFC, lower-cased. Empty stays empty. */
export function normalizeTag(raw: string, field: string): string {
  const tag = raw.trim().replace(/^#/, "").normalize("NFC").toLowerCase();
  if (tag && (!TAG.test(tag) || !/\p{L}/u.test(tag))) throw invalid(`${field}: not a hashtag`);
  return tag;
}

function encodeToken(prefix: string, parts: readonly bigint[]): string {
  return Buffer.from(`${prefix}:${parts.join(":")}`).toString("base64url");
}

function decodeToken(token: string, prefix: string, n: number): bigint[] {
  const s = Buffer.from(token, "base64url").toString("utf8");
  const parts = s.split(":");
  if (parts[0] !== prefix || parts.length !== n + 1 || !parts.slice(1).every((p) => /^-?\d{1,19}$/.test(p)))
    throw invalid("page_token: not valid");
  return parts.slice(1).map((p) => BigInt(p));
}

/**
 * A small time-boxed memo (one value per key; concurrent misses share one
 * load). With `stale`, an expired value is still returned while one refresh
 * runs in the background, so callers never wait for a recompute once a value
 * exists; `clear()` drops everything (the next caller waits).
 */
class Memo<K, V> {
  private readonly m = new Map<K, { at: number; v: Promise<V>; refreshing?: boolean }>();
  constructor(
    private readonly ttlMs: number,
    private readonly stale = false,
    /** Past this many keys, everything is dropped (a bound on memory, not an LRU). */
    private readonly maxKeys = Number.POSITIVE_INFINITY,
  ) {}
  get(k: K, load: () => Promise<V>): Promise<V> {
    const hit = this.m.get(k);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.v;
    if (hit && this.stale) {
      if (!hit.refreshing) {
        hit.refreshing = true;
        const v = load();
        v.then(
          () => {
            if (this.m.get(k) === hit) this.m.set(k, { at: Date.now(), v });
          },
          () => {
            hit.refreshing = false;
          },
        );
      }
      return hit.v;
    }
    const v = load();
    if (this.m.size >= this.maxKeys) this.m.clear();
    this.m.set(k, { at: Date.now(), v });
    v.catch(() => this.m.delete(k));
    return v;
  }
  delete(k: K): void {
    this.m.delete(k);
  }
  clear(): void {
    this.m.clear();
  }
}

interface TrendCounts {
  tag: string;
  authors: number;
  posts: number;
}

export class DiscoverReader {
  private readonly db: SqlDb;
  private readonly posts;
  private readonly users;
  private readonly trends: Memo<TrendWindow, TrendCounts[]>;
  /**
   * The blocks of recent trending callers, for as long as trends are cached
   * (`--discover-trends-cache-ms`); dropped at once in the consuming process
   * when a block or unblock of theirs is applied.
   */
  private readonly viewerBlocks: Memo<bigint, Set<bigint>>;
  /** The answers built from one computed list, per limit, for callers with no blocks (no per-call allocation). */
  private shownTrends = new WeakMap<TrendCounts[], Map<number, TrendingHashtag[]>>();
  private readonly popular = new Memo<0, { id: bigint; followers: bigint }[]>(POPULAR_TTL_MS, true);
  constructor(
    ctx: ServiceContext,
    private readonly cfg: DiscoverConfig,
  ) {
    this.db = ctx.db;
    this.posts = ctx.client(PostService);
    this.users = ctx.client(UserService);
    this.trends = new Memo(cfg.trendsCacheMs, true);
    this.viewerBlocks = new Memo(cfg.trendsCacheMs, false, VIEWER_BLOCKS_KEPT);
    this.lists = new SuggestionLists(this.db, this.users, () => this.popularAccounts(), cfg.suggestionsMaxAgeMs);
  }

  /** Follow suggestions: a precomputed list per user (suggestions.ts). */
  readonly lists: SuggestionLists;

  /** Content left the lists: computed trends are dropped. */
  forgetTrends(): void {
    this.trends.clear();
    this.shownTrends = new WeakMap();
  }

  /** Follows or blocks of these accounts changed (discover.index): their remembered blocks are dropped. */
  forgetViewers(ids: readonly bigint[]): void {
    for (const id of ids) this.viewerBlocks.delete(id);
  }

  /** Accounts the viewer blocked or is blocked by. */
  async blockedBy(viewer: bigint | undefined): Promise<Set<bigint>> {
    if (viewer === undefined) return new Set();
    const rows = await this.db.allValues(
      "SELECT blocked_id FROM discover_blocks WHERE blocker_id = ? UNION SELECT blocker_id FROM discover_blocks WHERE blocked_id = ?",
      [viewer, viewer],
    );
    return new Set(rows.map((r) => big(r[0])));
  }

  private async hydratePosts(ids: bigint[], viewer: bigint | undefined): Promise<Post[]> {
    if (ids.length === 0) return [];
    return (await this.posts.batchGetPosts({ postIds: ids, viewerId: viewer ?? 0n })).posts;
  }

  async hotPosts(
    viewer: bigint | undefined,
    hashtag: string,
    pageSize: number,
    pageToken: string,
  ): Promise<{ posts: Post[]; nextPageToken: string }> {
    const tag = normalizeTag(hashtag, "hashtag");
    const limit = pageSize || DEFAULT_PAGE;
    const [rank, id] = pageToken ? decodeToken(pageToken, "h1", 2) : [MAX_ID, MAX_ID];
    const want = limit + 1;
    const after = "(hot_rank < ? OR (hot_rank = ? AND post_id < ?))";
    const rows = tag
      ? await this.db.allValues(
          `SELECT post_id, hot_rank FROM discover_post_tags WHERE tag = ? AND ${after} ORDER BY hot_rank DESC, post_id DESC LIMIT ?`,
          [tag, rank!, rank!, id!, want],
        )
      : await this.db.allValues(
          `SELECT post_id, hot_rank FROM discover_posts WHERE ${after} ORDER BY hot_rank DESC, post_id DESC LIMIT ?`,
          [rank!, rank!, id!, want],
        );
    const keys = rows.map((r) => ({ id: big(r[0]), rank: big(r[1]) }));
    const rankOf = new Map(keys.map((k) => [k.id, k.rank]));
    const hydrated = await this.hydratePosts(
      keys.map((k) => k.id),
      viewer,
    );
    const shown = hydrated.slice(0, limit);
    // As the home feed: after the last post shown, or, when hydration left no
    // more than a page, after the last row looked at (short pages, no overlap).
    let next = "";
    if (hydrated.length > limit) {
      const last = shown[limit - 1]!;
      next = encodeToken("h1", [rankOf.get(last.id)!, last.id]);
    } else if (keys.length === want) {
      const last = keys[want - 1]!;
      next = encodeToken("h1", [last.rank, last.id]);
    }
    return { posts: shown, nextPageToken: next };
  }

  private computeTrends(window: TrendWindow): Promise<TrendCounts[]> {
    return this.trends.get(window, async () => {
      const since = Date.now() - (window === TrendWindow.HOUR ? HOUR_MS : 24 * HOUR_MS);
      const rows = await this.db.allValues(
        "SELECT tag, COUNT(DISTINCT author_id) AS authors, COUNT(*) AS posts FROM discover_post_tags " +
          "WHERE created_at_ms >= ? GROUP BY tag HAVING COUNT(DISTINCT author_id) >= ? " +
          "ORDER BY authors DESC, posts DESC, tag ASC LIMIT ?",
        [since, this.cfg.trendMinAuthors, TREND_CANDIDATES],
      );
      return rows.map((r) => ({ tag: String(r[0]), authors: num(r[1]), posts: num(r[2]), since }));
    });
  }

  async trending(viewer: bigint | undefined, window: TrendWindow, limit: number): Promise<TrendingHashtag[]> {
    if (window === TrendWindow.UNSPECIFIED) window = TrendWindow.DAY;
    if (window !== TrendWindow.HOUR && window !== TrendWindow.DAY) throw invalid("window: HOUR or DAY");
    const n = limit || DEFAULT_TRENDS;
    let counts = await this.computeTrends(window);
    const blocked =
      viewer === undefined ? NO_BLOCKS : await this.viewerBlocks.get(viewer, () => this.blockedBy(viewer));
    if (blocked.size === 0) {
      let byLimit = this.shownTrends.get(counts);
      if (!byLimit) this.shownTrends.set(counts, (byLimit = new Map()));
      let shown = byLimit.get(n);
      if (!shown) byLimit.set(n, (shown = this.toTrending(counts, n)));
      return shown;
    }
    if (blocked.size && counts.length) {
      // Take out what blocked authors contributed to the candidate tags.
      const since = Date.now() - (window === TrendWindow.HOUR ? HOUR_MS : 24 * HOUR_MS);
      const ids = [...blocked];
      const rows = await this.db.allValues(
        `SELECT tag, COUNT(DISTINCT author_id), COUNT(*) FROM discover_post_tags WHERE author_id IN (${ids.map(() => "?").join(",")}) AND created_at_ms >= ? GROUP BY tag`,
        [...ids, since],
      );
      const minus = new Map(rows.map((r) => [String(r[0]), { authors: num(r[1]), posts: num(r[2]) }]));
      counts = counts
        .map((c) => {
          const m = minus.get(c.tag);
          return m ? { tag: c.tag, authors: c.authors - m.authors, posts: c.posts - m.posts } : c;
        })
        .filter((c) => c.authors >= this.cfg.trendMinAuthors)
        .sort((a, b) => b.authors - a.authors || b.posts - a.posts || (a.tag < b.tag ? -1 : 1));
    }
    return this.toTrending(counts, n);
  }

  private toTrending(counts: readonly TrendCounts[], n: number): TrendingHashtag[] {
    return counts
      .slice(0, n)
      .map((c) => create(TrendingHashtagSchema, { tag: c.tag, authors: BigInt(c.authors), posts: BigInt(c.posts) }));
  }

  private popularAccounts(): Promise<{ id: bigint; followers: bigint }[]> {
    return this.popular.get(0, async () =>
      (
        await this.db.allValues(
          "SELECT user_id, followers FROM discover_users WHERE suspended = 0 AND followers > 0 ORDER BY followers DESC LIMIT ?",
          [POPULAR],
        )
      ).map((r) => ({ id: big(r[0]), followers: big(r[1]) })),
    );
  }

  async suggestions(me: bigint, limit: number): Promise<Suggestion[]> {
    return this.lists.suggestions(me, limit || DEFAULT_SUGGESTIONS);
  }

  async dismiss(me: bigint, userId: bigint): Promise<void> {
    if (userId === me) throw invalid("user_id: you are never suggested to yourself");
    await this.db.transaction(async (tx) => {
      await new DismissedRowDao(tx).upsert({ userId: me, dismissedId: userId, atMs: BigInt(Date.now()) });
      await markStale(tx, me);
    });
  }

  /** Rows whose `column` starts with `prefix` (an index range on both engines). */
  private async byPrefix(column: "handle_key" | "name_key", prefix: string, limit: number): Promise<unknown[][]> {
    if (this.db.dialect === "sqlite") {
      return this.db.allValues(
        `SELECT user_id, handle_key, followers FROM discover_users WHERE ${column} >= ? AND ${column} < ? AND suspended = 0 ORDER BY ${column} LIMIT ?`,
        [prefix, `${prefix}\u{10FFFF}`, limit],
      );
    }
    const like = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.db.allValues(
      `SELECT user_id, handle_key, followers FROM discover_users WHERE ${column} LIKE ? AND suspended = 0 ORDER BY ${column} LIMIT ?`,
      [like, limit],
    );
  }

  async searchUsers(viewer: bigint | undefined, query: string, pageSize: number): Promise<User[]> {
    const q = nameKey(query.trim().replace(/^@/, ""), 64);
    if (!q) throw invalid("query: must not be empty");
    const limit = pageSize || DEFAULT_PAGE;
    const want = limit * 2 + 10;
    const [byHandle, byName, blocked] = await Promise.all([
      this.byPrefix("handle_key", q, want),
      this.byPrefix("name_key", q, want),
      this.blockedBy(viewer),
    ]);
    // Exact handle first, then handle prefixes, then display-name prefixes; more followers first within each.
    const rank = new Map<bigint, { tier: number; followers: number }>();
    for (const [rows, tierOf] of [
      [byHandle, (h: string) => (h === q ? 0 : 1)],
      [byName, () => 2],
    ] as const) {
      for (const r of rows) {
        const id = big(r[0]);
        if (blocked.has(id)) continue;
        const tier = tierOf(String(r[1]));
        const prev = rank.get(id);
        if (!prev || tier < prev.tier) rank.set(id, { tier, followers: num(r[2]) });
      }
    }
    const ids = [...rank.entries()]
      .sort(([a, x], [b, y]) => x.tier - y.tier || y.followers - x.followers || (a < b ? -1 : 1))
      .slice(0, limit)
      .map(([id]) => id);
    if (ids.length === 0) return [];
    const users = new Map((await this.users.getUsers({ userIds: ids })).users.map((u) => [u.id, u]));
    return ids.flatMap((id) => (users.has(id) ? [users.get(id)!] : []));
  }

  async searchPosts(
    viewer: bigint | undefined,
    query: string,
    pageSize: number,
    pageToken: string,
  ): Promise<{ posts: Post[]; nextPageToken: string }> {
    const limit = pageSize || DEFAULT_PAGE;
    const [before] = pageToken ? decodeToken(pageToken, "s1", 1) : [0n];
    const want = limit + 1;
    const trimmed = query.trim();
    let ids: bigint[];
    if (trimmed.startsWith("#")) {
      const tag = normalizeTag(trimmed, "query");
      if (!tag) throw invalid("query: a hashtag after '#'");
      ids = (
        await this.db.allValues(
          "SELECT post_id FROM discover_post_tags WHERE tag = ? AND post_id < ? ORDER BY post_id DESC LIMIT ?",
          [tag, before! > 0n ? before! : MAX_ID, want],
        )
      ).map((r) => big(r[0]));
    } else {
      const words = searchWords(trimmed);
      if (words.length === 0) throw invalid("query: give a #hashtag or words of at least 3 letters");
      ids = await searchText(this.db, words, before!, want);
    }
    const hydrated = await this.hydratePosts(ids, viewer);
    const shown = hydrated.slice(0, limit);
    let next = "";
    if (hydrated.length > limit) next = encodeToken("s1", [shown[limit - 1]!.id]);
    else if (ids.length === want) next = encodeToken("s1", [ids[want - 1]!]);
    return { posts: shown, nextPageToken: next };
  }
}
