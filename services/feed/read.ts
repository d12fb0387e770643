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
import type { FeedConfig } from "./config.js";
import type { FeedWriter } from "./fanout.js";

const DEFAULT_PAGE = 20;

export function encodeFeedToken(postId: bigint): string {
  return Buffer.from(`f1:${postId}`).toString("base64url");
}

export function decodeFeedToken(token: string): bigint {
  const m = /^f1:(\d{1,19})$/.exec(Buffer.from(token, "base64url").toString("utf8"));
  if (!m) throw new ConnectError("page_token is not valid", Code.InvalidArgument);
  return BigInt(m[1]!);
}

export class FeedReader {
  private readonly graph;
  private readonly posts;
  constructor(
    ctx: ServiceContext,
    private readonly writer: FeedWriter,
    private readonly cfg: FeedConfig,
  ) {
    this.graph = ctx.client(GraphService);
    this.posts = ctx.client(PostService);
  }

  /** Followed accounts above the celebrity threshold. */
  private async celebritiesFollowedBy(userId: bigint): Promise<bigint[]> {
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

  async page(userId: bigint, pageSize: number, pageToken: string): Promise<{ posts: Post[]; nextPageToken: string }> {
    const limit = pageSize || DEFAULT_PAGE;
    const before = pageToken ? decodeFeedToken(pageToken) : undefined;
    // Over-read a little: hydration may drop deleted or hidden posts.
    const want = limit + 1;
    const [own, celebs] = await Promise.all([
      this.writer.feed.scan({ userId }, { limit: want, ...(before !== undefined ? { to: { key: { postId: before }, inclusive: false } } : {}) }),
      this.celebritiesFollowedBy(userId),
    ]);
    const ids = own.rows.map((r) => r.postId);
    for (const celeb of celebs) {
      const r = await this.posts.listUserPosts({ userId: celeb, pageSize: want });
      for (const p of r.posts) if (before === undefined || p.id < before) ids.push(p.id);
    }
    const sorted = [...new Set(ids)].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)).slice(0, want);
    const hydrated = sorted.length ? (await this.posts.batchGetPosts({ postIds: sorted, viewerId: userId })).posts : [];
    // The next page starts after the last post shown, or, when hydration left no more
    // than a page, after the last id looked at (a page may then be short, never overlap).
    const shown = hydrated.slice(0, limit);
    const lastId = hydrated.length > limit ? shown[limit - 1]!.id : sorted.length === want ? sorted[want - 1] : undefined;
    return { posts: shown, nextPageToken: lastId !== undefined ? encodeFeedToken(lastId) : "" };
  }
}
