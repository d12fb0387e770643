/**
 * Follow and unfollow: the follow row, both users' counts and the event are
 * written in one transaction, so counts stay exact under retries and races
 * (a second Follow of the same pair inserts nothing and counts nothing).
 */
import { FollowCountRowDao, FollowRowDao } from "../../gen/orbit/graph/v1/tables_db.js";
import { FollowedSchema, UnfollowedSchema } from "../../gen/orbit/graph/v1/events_pb.js";
import type { ServiceContext } from "../../platform/kernel/context.js";
import type { SqlTx } from "../../platform/storage/driver.js";

async function bump(tx: SqlTx, userId: bigint, followers: number, following: number): Promise<void> {
  const counts = new FollowCountRowDao(tx);
  await counts.insertIfAbsent({ userId });
  if (followers) await counts.incrementFollowers({ userId }, followers);
  if (following) await counts.incrementFollowing({ userId }, following);
}

export async function follow(ctx: ServiceContext, followerId: bigint, followeeId: bigint): Promise<boolean> {
  const now = BigInt(Date.now());
  return ctx.db.transaction(async (tx) => {
    const inserted = await new FollowRowDao(tx).insertIfAbsent({ followerId, followeeId, createdAtMs: now });
    if (!inserted) return false;
    await bump(tx, followeeId, 1, 0);
    await bump(tx, followerId, 0, 1);
    await ctx.events.publish(tx, FollowedSchema, { followerId, followeeId, atMs: now });
    return true;
  });
}

export async function unfollow(
  ctx: ServiceContext,
  followerId: bigint,
  followeeId: bigint,
  tx?: SqlTx,
): Promise<boolean> {
  const run = async (t: SqlTx) => {
    const existed = await new FollowRowDao(t).delete({ followerId, followeeId });
    if (!existed) return false;
    await bump(t, followeeId, -1, 0);
    await bump(t, followerId, 0, -1);
    await ctx.events.publish(t, UnfollowedSchema, { followerId, followeeId, atMs: BigInt(Date.now()) });
    return true;
  };
  return tx ? run(tx) : ctx.db.transaction(run);
}
