/** The GraphService handlers. */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { FollowCountRowDao, FollowRowDao } from "../../gen/orbit/graph/v1/tables_db.js";
import {
  FollowCountsSchema,
  FollowEntrySchema,
  RelationshipSchema,
  type GraphService,
} from "../../gen/orbit/graph/v1/graph_pb.js";
import { UserService } from "../../gen/orbit/user/v1/user_pb.js";
import type { ServiceContext } from "../../platform/kernel/context.js";
import { requireUser } from "../../platform/rpc/call-scope.js";
import { follow, unfollow } from "./follows.js";

const DEFAULT_PAGE = 20;

export function graphHandlers(ctx: ServiceContext): ServiceImpl<typeof GraphService> {
  const follows = new FollowRowDao(ctx.db);
  const counts = new FollowCountRowDao(ctx.db);
  const users = ctx.client(UserService);

  /** NotFound unless the user exists (asked only when a list comes back empty, so it costs nothing otherwise). */
  async function mustExist(userId: bigint): Promise<void> {
    const found = await users.getUsers({ userIds: [userId] });
    if (found.users.length === 0) throw new ConnectError("user not found", Code.NotFound);
  }

  async function relationship(me: bigint, other: bigint) {
    const [a, b] = await Promise.all([
      follows.get({ followerId: me, followeeId: other }),
      follows.get({ followerId: other, followeeId: me }),
    ]);
    return create(RelationshipSchema, { userId: other, following: a !== undefined, followedBy: b !== undefined });
  }

  return {
    async follow(req, hctx) {
      const me = BigInt(requireUser(hctx).userId);
      if (req.userId === me) throw new ConnectError("user_id: you cannot follow yourself", Code.InvalidArgument);
      const [found, block] = await Promise.all([
        users.getUsers({ userIds: [req.userId] }),
        users.checkBlock({ userA: me, userB: req.userId }),
      ]);
      if (found.users.length === 0) throw new ConnectError("user not found", Code.NotFound);
      if (block.blocked) throw new ConnectError("you cannot follow this user", Code.PermissionDenied);
      if (await follow(ctx, me, req.userId)) {
        // A block that committed after the check above but before the
        // follow may have had its consumer run already (finding no follow
        // to remove): look again now that the follow is visible, and undo
        // it. A block committing after this look is handled by its consumer.
        if ((await users.checkBlock({ userA: me, userB: req.userId })).blocked) {
          await unfollow(ctx, me, req.userId);
          throw new ConnectError("you cannot follow this user", Code.PermissionDenied);
        }
      }
      return { relationship: await relationship(me, req.userId) };
    },

    async unfollow(req, hctx) {
      const me = BigInt(requireUser(hctx).userId);
      await unfollow(ctx, me, req.userId);
      return { relationship: await relationship(me, req.userId) };
    },

    // Both lists are newest first by follow time (created_at_ms, then the
    // other user's id to break ties), read from the (followee_id,
    // created_at_ms) and (follower_id, created_at_ms) indexes; page tokens
    // are keyset cursors on those columns.
    async listFollowers(req) {
      const page = await follows.listByFolloweeId(
        { followeeId: req.userId },
        { limit: req.pageSize || DEFAULT_PAGE, pageToken: req.pageToken, order: "desc" },
      );
      if (page.rows.length === 0 && !req.pageToken) await mustExist(req.userId);
      return {
        followers: page.rows.map((r) => create(FollowEntrySchema, { userId: r.followerId, sinceMs: r.createdAtMs })),
        nextPageToken: page.nextPageToken,
      };
    },

    async listFollowing(req) {
      const page = await follows.listByFollowerIdOrderByCreatedAtMs(
        { followerId: req.userId },
        { limit: req.pageSize || DEFAULT_PAGE, pageToken: req.pageToken, order: "desc" },
      );
      if (page.rows.length === 0 && !req.pageToken) await mustExist(req.userId);
      return {
        following: page.rows.map((r) => create(FollowEntrySchema, { userId: r.followeeId, sinceMs: r.createdAtMs })),
        nextPageToken: page.nextPageToken,
      };
    },

    async getRelationship(req, hctx) {
      const me = BigInt(requireUser(hctx).userId);
      const r = await relationship(me, req.userId);
      if (!r.following && !r.followedBy) await mustExist(req.userId);
      return { relationship: r };
    },

    async listFollowerIds(req) {
      const page = await follows.listByFolloweeId(
        { followeeId: req.userId },
        { limit: req.pageSize || 500, pageToken: req.pageToken, order: "desc" },
      );
      return { userIds: page.rows.map((r) => r.followerId), nextPageToken: page.nextPageToken };
    },

    // The id lists (for the feed) need no order: the primary key serves the
    // followees of a user, the (followee_id, created_at_ms) index its followers.
    async listFollowingIds(req) {
      const page = await follows.listByFollowerId(
        { followerId: req.userId },
        { limit: req.pageSize || 500, pageToken: req.pageToken, order: "desc" },
      );
      return { userIds: page.rows.map((r) => r.followeeId), nextPageToken: page.nextPageToken };
    },

    async getFollowCounts(req) {
      const rows = await counts.getMany(req.userIds.map((userId) => ({ userId })));
      const byId = new Map(rows.map((r) => [r.userId, r]));
      return {
        counts: req.userIds.map((userId) =>
          create(FollowCountsSchema, {
            userId,
            followers: byId.get(userId)?.followers ?? 0n,
            following: byId.get(userId)?.following ?? 0n,
          }),
        ),
      };
    },
  };
}
