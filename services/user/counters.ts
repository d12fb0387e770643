/**
 * Profile counts (followers, following, posts) are a projection of the graph
 * and post services' events, kept in the user service's own table. The
 * consumer writes through the group's transaction, so each event counts
 * exactly once; `orbit events replay user.counters` rebuilds it.
 */
import { isMessage } from "@bufbuild/protobuf";
import { FollowedSchema, UnfollowedSchema } from "../../gen/orbit/graph/v1/events_pb.js";
import { PostCreatedSchema, PostDeletedSchema } from "../../gen/orbit/post/v1/events_pb.js";
import { ProfileCounterRowDao } from "../../gen/orbit/user/v1/tables_db.js";
import type { ConsumerOptions } from "../../platform/events/consumer-options.js";
import type { SqlExecutor } from "../../platform/storage/driver.js";

export const COUNTERS_GROUP = "user.counters";

async function bump(
  tx: SqlExecutor,
  userId: bigint,
  field: "followers" | "following" | "posts",
  delta: number,
): Promise<void> {
  const dao = new ProfileCounterRowDao(tx);
  await dao.insertIfAbsent({ userId });
  if (field === "followers") await dao.incrementFollowers({ userId }, delta);
  else if (field === "following") await dao.incrementFollowing({ userId }, delta);
  else await dao.incrementPosts({ userId }, delta);
}

export const countersConsumer: ConsumerOptions = {
  group: COUNTERS_GROUP,
  events: [FollowedSchema, UnfollowedSchema, PostCreatedSchema, PostDeletedSchema],
  async handle(event, { tx }) {
    const m = event.message;
    if (isMessage(m, FollowedSchema)) {
      await bump(tx, m.followeeId, "followers", 1);
      await bump(tx, m.followerId, "following", 1);
    } else if (isMessage(m, UnfollowedSchema)) {
      await bump(tx, m.followeeId, "followers", -1);
      await bump(tx, m.followerId, "following", -1);
    } else if (isMessage(m, PostCreatedSchema)) {
      await bump(tx, m.authorId, "posts", 1);
    } else if (isMessage(m, PostDeletedSchema)) {
      await bump(tx, m.authorId, "posts", -1);
    }
  },
};
