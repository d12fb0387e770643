/** graph: who follows whom, with exact follower/following counts. */
import { FollowedSchema, UnfollowedSchema } from "../../gen/orbit/graph/v1/events_pb.js";
import { GraphService } from "../../gen/orbit/graph/v1/graph_pb.js";
import { FollowCountRowTable, FollowRowTable } from "../../gen/orbit/graph/v1/tables_db.js";
import { defineService } from "../../platform/kernel/service.js";
import { blocksConsumer } from "./blocks.js";
import { graphHandlers } from "./handlers.js";

export const graph = defineService({
  name: "graph",
  description: "the follow graph: follow, unfollow, followers, following, relationships",
  deps: ["user"],
  api: [GraphService],
  tables: [FollowRowTable, FollowCountRowTable],
  publishes: [FollowedSchema, UnfollowedSchema],
  build: (ctx) => ({ rpc: [graphHandlers(ctx)], consumers: [blocksConsumer(ctx)] }),
});
