/** feed: the home feed — fan-out on write into a wide table, hybrid with read-time merge for celebrities. */
import { FeedService } from "../../gen/orbit/feed/v1/feed_pb.js";
import { HomeFeedRowTable } from "../../gen/orbit/feed/v1/tables_wide.js";
import { defineService } from "../../platform/kernel/service.js";
import { requireUser } from "../../platform/rpc/call-scope.js";
import { FeedWriter, fanoutConsumer } from "./fanout.js";
import { FeedReader } from "./read.js";
import { feedSettings } from "./settings.js";

export const feed = defineService({
  name: "feed",
  description: "home feed: fan-out on write (hybrid for celebrities), backfill on follow",
  deps: ["graph", "post"],
  api: [FeedService],
  settings: feedSettings,
  tables: [HomeFeedRowTable],
  build(ctx) {
    // One writer and one reader, shared by the handler and the consumer.
    const writer = new FeedWriter(ctx, ctx.settings);
    const reader = new FeedReader(ctx, writer, ctx.settings);
    return {
      rpc: [
        {
          async getHomeFeed(req, hctx) {
            const me = BigInt(requireUser(hctx).userId);
            return reader.page(me, req.pageSize, req.pageToken);
          },
        },
      ],
      consumers: [fanoutConsumer(writer, (userId) => reader.forgetFollows(userId))],
    };
  },
});
