/**
 * A block removes the follows between the two users, both ways (consumer of
 * user.blocked; writes through the group's transaction, so exactly once).
 */
import { isMessage } from "@bufbuild/protobuf";
import { UserBlockedSchema } from "../../gen/orbit/user/v1/events_pb.js";
import type { ConsumerOptions } from "../../platform/events/consumer-options.js";
import type { ServiceContext } from "../../platform/kernel/context.js";
import { unfollow } from "./follows.js";

export function blocksConsumer(ctx: ServiceContext): ConsumerOptions {
  return {
    group: "graph.blocks",
    events: [UserBlockedSchema],
    async handle(event, { tx }) {
      if (!isMessage(event.message, UserBlockedSchema)) return;
      const { blockerId, blockedId } = event.message;
      await unfollow(ctx, blockerId, blockedId, tx);
      await unfollow(ctx, blockedId, blockerId, tx);
    },
  };
}
