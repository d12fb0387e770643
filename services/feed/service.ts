/** feed: the home feed — fan-out on write into a wide table, hybrid with read-time merge for celebrities. */
import { FeedService } from "../../gen/orbit/feed/v1/feed_pb.js";
import { HomeFeedRowTable } from "../../gen/orbit/feed/v1/tables_wide.js";
import { FollowedSchema, UnfollowedSchema } from "../../gen/orbit/graph/v1/events_pb.js";
import { PostCreatedSchema, PostDeletedSchema } from "../../gen/orbit/post/v1/events_pb.js";
import { UserBlockedSchema } from "../../gen/orbit/user/v1/events_pb.js";
import type { ServiceContext } from "../../platform/kernel/context.js";
import { defineService, implement } from "../../platform/kernel/service.js";
import { requireUser } from "../../platform/rpc/call-scope.js";
import { feedConfig } from "./config.js";
import { FeedWriter, fanoutConsumer } from "./fanout.js";
import { FeedReader } from "./read.js";

/** One writer and reader per service instance, shared by the handlers and the consumer. */
const parts = new WeakMap<ServiceContext, { writer: FeedWriter; reader: FeedReader }>();
function feedOf(ctx: ServiceContext): { writer: FeedWriter; reader: FeedReader } {
  let p = parts.get(ctx);
  if (!p) {
    const cfg = feedConfig(ctx.config);
    const writer = new FeedWriter(ctx, cfg);
    p = { writer, reader: new FeedReader(ctx, writer, cfg) };
    parts.set(ctx, p);
  }
  return p;
}

export const feed = defineService({
  name: "feed",
  description: "home feed: fan-out on write (hybrid for celebrities), backfill on follow",
  deps: ["graph", "post"],
  rpc: [
    implement(FeedService, (ctx) => {
      const { reader } = feedOf(ctx);
      return {
        async getHomeFeed(req, hctx) {
          const me = BigInt(requireUser(hctx).userId);
          return reader.page(me, req.pageSize, req.pageToken);
        },
      };
    }),
  ],
  tables: [HomeFeedRowTable],
  consumes: [
    PostCreatedSchema.typeName,
    PostDeletedSchema.typeName,
    FollowedSchema.typeName,
    UnfollowedSchema.typeName,
    UserBlockedSchema.typeName,
  ],
  start: (ctx) => {
    const { writer, reader } = feedOf(ctx);
    ctx.events.consume(fanoutConsumer(writer, (userId) => reader.forgetFollows(userId)));
  },
});
