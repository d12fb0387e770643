/** graph: who follows whom, with exact follower/following counts. */
import { GraphService } from "../../gen/orbit/graph/v1/graph_pb.js";
import { FollowedSchema, UnfollowedSchema } from "../../gen/orbit/graph/v1/events_pb.js";
import { FollowCountRowTable, FollowRowTable } from "../../gen/orbit/graph/v1/tables_db.js";
import { UserBlockedSchema } from "../../gen/orbit/user/v1/events_pb.js";
import { defineService, implement } from "../../platform/kernel/service.js";
import { blocksConsumer } from "./blocks.js";
import { graphHandlers } from "./handlers.js";

export const graph = defineService({
  name: "graph",
  description: "the follow graph: follow, unfollow, followers, following, relationships",
  deps: ["user"],
  rpc: [implement(GraphService, (ctx) => graphHandlers(ctx))],
  tables: [FollowRowTable, FollowCountRowTable],
  publishes: [FollowedSchema.typeName, UnfollowedSchema.typeName],
  consumes: [UserBlockedSchema.typeName],
  start: (ctx) => {
    ctx.events.consume(blocksConsumer(ctx));
  },
});
