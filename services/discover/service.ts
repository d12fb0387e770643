/**
 * discover: hot posts (global and per hashtag), trending hashtags, follow
 * suggestions and search, all served from its own projection of post, graph,
 * user and moderation events (the discover.index consumer). docs/discover.md.
 */
import type { HandlerContext } from "@connectrpc/connect";
import { DiscoverService } from "../../gen/orbit/discover/v1/discover_pb.js";
import { PostService } from "../../gen/orbit/post/v1/post_pb.js";
import {
  BlockEdgeRowTable,
  CommentEntryRowTable,
  DismissedRowTable,
  FollowEdgeRowTable,
  SuggestionListRowTable,
  HotPostRowTable,
  PostTagRowTable,
  UserEntryRowTable,
} from "../../gen/orbit/discover/v1/tables_db.js";
import { defineService } from "../../platform/kernel/service.js";
import { callerKey } from "../../platform/limits/limits.js";
import { callScope, requireUser } from "../../platform/rpc/call-scope.js";
import { indexConsumer, restore } from "./projection.js";
import { DiscoverReader } from "./read.js";
import { ensureSearchTables } from "./search-sql.js";
import { discoverSettings } from "./settings.js";

function viewerOf(hctx: HandlerContext): bigint | undefined {
  const id = callScope(hctx).identity?.userId;
  return id === undefined ? undefined : BigInt(id);
}

export const discover = defineService({
  name: "discover",
  description: "hot posts, trending hashtags, follow suggestions, user and post search",
  deps: ["user", "post"],
  api: [DiscoverService],
  settings: discoverSettings,
  tables: [
    HotPostRowTable,
    PostTagRowTable,
    FollowEdgeRowTable,
    UserEntryRowTable,
    BlockEdgeRowTable,
    DismissedRowTable,
    SuggestionListRowTable,
    CommentEntryRowTable,
  ],
  async build(ctx) {
    // The full-text table is engine-specific DDL the migrator does not manage (search-sql.ts).
    await ensureSearchTables(ctx.db);
    const reader = new DiscoverReader(ctx, ctx.settings);
    const posts = ctx.client(PostService);
    // Full-text queries are the expensive reads: limited per caller (ctx.limits, shared with --redis).
    const searches = ctx.limits.bucket("searches_per_caller", {
      capacity: ctx.settings.searchesPerMinute,
      periodMs: 60_000,
      refused: "too many searches",
    });
    return {
      rpc: [
        {
          async getHotPosts(req, hctx) {
            return reader.hotPosts(viewerOf(hctx), req.hashtag, req.pageSize, req.pageToken);
          },
          async getTrendingHashtags(req, hctx) {
            return { hashtags: await reader.trending(viewerOf(hctx), req.window, req.limit) };
          },
          async getSuggestions(req, hctx) {
            const me = BigInt(requireUser(hctx).userId);
            return { users: await reader.suggestions(me, req.limit) };
          },
          async dismissSuggestion(req, hctx) {
            const me = BigInt(requireUser(hctx).userId);
            await reader.dismiss(me, req.userId);
            return {};
          },
          async searchUsers(req, hctx) {
            await searches.take(hctx, callerKey(hctx));
            return { users: await reader.searchUsers(viewerOf(hctx), req.query, req.pageSize) };
          },
          async searchPosts(req, hctx) {
            await searches.take(hctx, callerKey(hctx));
            return reader.searchPosts(viewerOf(hctx), req.query, req.pageSize, req.pageToken);
          },
        },
      ],
      consumers: [
        indexConsumer({
          removed: () => reader.forgetTrends(),
          restore: (list) => {
            void (async () => {
              for (const r of list) await restore(ctx.db, posts, r);
              reader.forgetTrends();
            })().catch((err) => ctx.log.warn({ err: String(err) }, "discover: restoring unhidden content failed"));
          },
          stale: (ids) => {
            reader.lists.refreshSoon(ids);
            reader.forgetViewers(ids);
          },
        }),
      ],
      stop: async () => reader.lists.stop(),
    };
  },
});
