/**
 * GetHomeFeed: the caller's fanned-out feed (newest first), merged with the
 * recent posts of followed celebrities (not fanned out), hydrated through the
 * post service (which drops deleted posts and blocked authors, and fills in
 * counts and liked_by_me). The page token is the last post id shown.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { GraphService } from "../../gen/orbit/graph/v1/graph_pb.js";
import { PostService, type Post } from "../../gen/orbit/post/v1/post_pb.js";
import type { ServiceContext } from "../../platform/kernel/context.js";
import { detached } from "../../platform/rpc/call-scope.js";
import type { FeedConfig } from "./settings.js";
import type { FeedWriter } from "./fanout.js";
import { TtlCache } from "./ttl-cache.js";

const DEFAULT_PAGE = 20;
/** How long a reader's list of followed celebrities is reused (follow events in this process forget it sooner). */
const FOLLOWEES_TTL_MS = 10_000;
/** How long a celebrity's newest post ids are shared by all readers. */
const CELEB_POSTS_TTL_MS = 1_000;
/** Newest posts of each followed celebrity merged in (ListUserPosts's largest page). */
const CELEB_POSTS = 100;

export function encodeFeedToken(postId: bigint): string {
  return Buffer.from(`f1:${postId}`).toString("base64url");
}

export function decodeFeedToken(token: string): bigint {
  const m = /^f1:(\d{1,19})$/.exec(Buffer.from(token, "base64url").toString("utf8"));
  if (!m) throw new ConnectError("page_token: not valid", Code.InvalidArgument);
  return BigInt(m[1]!);
}

export class FeedReader {
  private readonly graph;
  private readonly posts;
  private readonly celebFollowees = new TtlCache<bigint, bigint[]>(FOLLOWEES_TTL_MS, 100_000);
  private readonly celebPosts = new TtlCache<bigint, bigint[]>(CELEB_POSTS_TTL_MS, 10_000);
  constructor(
    ctx: ServiceContext,
    private readonly writer: FeedWriter,
    private readonly cfg: FeedConfig,
  ) {
    this.graph = ctx.client(GraphService);
    this.posts = ctx.client(PostService);
  }

  /** Followed accounts above the celebrity threshold (remembered for FOLLOWEES_TTL_MS). */
  celebritiesFollowedBy(userId: bigint): Promise<bigint[]> {
    return this.celebFollowees.get(userId, () => this.loadCelebritiesFollowedBy(userId));
  }

  /** Forgets what `userId` follows (they followed, unfollowed or blocked someone). */
  forgetFollows(userId: bigint): void {
    this.celebFollowees.delete(userId);
  }

  private async loadCelebritiesFollowedBy(userId: bigint): Promise<bigint[]> {
    const ids: bigint[] = [];
    let token = "";
    do {
      const page = await this.graph.listFollowingIds({ userId, pageSize: 1000, pageToken: token });
      ids.push(...page.userIds);
      token = page.nextPageToken;
    } while (token && ids.length < 5000);
    if (ids.length === 0) return [];
    const out: bigint[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const r = await this.graph.getFollowCounts({ userIds: ids.slice(i, i + 500) });
      for (const c of r.counts) if (c.followers > BigInt(this.cfg.celebrityThreshold)) out.push(c.userId);
    }
    return out;
  }

  /**
   * A celebrity's newest post ids, shared by every reader for CELEB_POSTS_TTL_MS.
   * Read without the caller's identity (so the same for everyone): hydration
   * then applies the reader's blocks and likes.
   */
  private celebrityPosts(celeb: bigint): Promise<bigint[]> {
    return this.celebPosts.get(celeb, () =>
      detached(() => this.posts.listUserPosts({ userId: celeb, pageSize: CELEB_POSTS })).then((r) =>
        r.posts.map((p) => p.id),
      ),
    );
  }

  async page(userId: bigint, pageSize: number, pageToken: string): Promise<{ posts: Post[]; nextPageToken: string }> {
    const limit = pageSize || DEFAULT_PAGE;
    const before = pageToken ? decodeFeedToken(pageToken) : undefined;
    // Over-read a little: hydration may drop deleted or hidden posts.
    const want = limit + 1;
    const [own, celebs] = await Promise.all([
      this.writer.feed.scan(
        { userId },
        { limit: want, ...(before !== undefined ? { to: { key: { postId: before }, inclusive: false } } : {}) },
      ),
      this.celebritiesFollowedBy(userId),
    ]);
    const ids = own.rows.map((r) => r.postId);
    for (const posts of await Promise.all(celebs.map((c) => this.celebrityPosts(c)))) {
      for (const id of posts) if (before === undefined || id < before) ids.push(id);
    }
    const sorted = [...new Set(ids)].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)).slice(0, want);
    const hydrated = sorted.length ? (await this.posts.batchGetPosts({ postIds: sorted, viewerId: userId })).posts : [];
    // The next page starts after the last post shown, or, when hydration left no more
    // than a page, after the last id looked at (a page may then be short, never overlap).
    const shown = hydrated.slice(0, limit);
    const lastId =
      hydrated.length > limit ? shown[limit - 1]!.id : sorted.length === want ? sorted[want - 1] : undefined;
    return { posts: shown, nextPageToken: lastId !== undefined ? encodeFeedToken(lastId) : "" };
  }
}
