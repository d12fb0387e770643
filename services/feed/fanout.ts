/**
 * The home feed is a projection of post and graph events into the wide table
 * home_feed (partition: user, clustering: post id descending):
 * - post.created: the post goes into the author's feed and every follower's
 *   (unless the author is above the celebrity threshold: read-time merge);
 * - post.deleted: it is taken out of those feeds;
 * - graph.followed: the followee's recent posts are backfilled;
 * - graph.unfollowed, user.blocked: the other user's posts are removed.
 * Puts and deletes are idempotent, so at-least-once delivery is enough;
 * `orbit events replay feed.fanout` rebuilds the feed.
 */
import { isMessage } from "@bufbuild/protobuf";
import { HomeFeedRowDao } from "../../gen/orbit/feed/v1/tables_wide.js";
import { FollowedSchema, UnfollowedSchema } from "../../gen/orbit/graph/v1/events_pb.js";
import { GraphService } from "../../gen/orbit/graph/v1/graph_pb.js";
import { PostCreatedSchema, PostDeletedSchema } from "../../gen/orbit/post/v1/events_pb.js";
import { PostService } from "../../gen/orbit/post/v1/post_pb.js";
import { UserBlockedSchema } from "../../gen/orbit/user/v1/events_pb.js";
import type { ConsumerOptions, Delivered } from "../../platform/events/consumer-options.js";
import type { ServiceContext } from "../../platform/kernel/context.js";
import type { FeedConfig } from "./config.js";

export const FANOUT_GROUP = "feed.fanout";

export class FeedWriter {
  readonly feed: HomeFeedRowDao;
  private readonly graph;
  private readonly posts;
  constructor(
    ctx: ServiceContext,
    private readonly cfg: FeedConfig,
  ) {
    this.feed = new HomeFeedRowDao(ctx.wide);
    this.graph = ctx.client(GraphService);
    this.posts = ctx.client(PostService);
  }

  /** Every follower of `userId`, page by page. */
  async *followers(userId: bigint): AsyncGenerator<bigint[]> {
    let token = "";
    do {
      const page = await this.graph.listFollowerIds({ userId, pageSize: 1000, pageToken: token });
      if (page.userIds.length) yield page.userIds;
      token = page.nextPageToken;
    } while (token);
  }

  async isCelebrity(userId: bigint): Promise<boolean> {
    const r = await this.graph.getFollowCounts({ userIds: [userId] });
    return (r.counts[0]?.followers ?? 0n) > BigInt(this.cfg.celebrityThreshold);
  }

  async postCreated(postId: bigint, authorId: bigint): Promise<number> {
    await this.feed.put({ userId: authorId, postId, authorId });
    let n = 1;
    if (await this.isCelebrity(authorId)) return n;
    for await (const ids of this.followers(authorId)) {
      await this.feed.putMany(ids.map((userId) => ({ userId, postId, authorId })));
      n += ids.length;
      for (const userId of ids) if ((postId ^ userId) % 64n === 0n) await this.trim(userId);
    }
    if (postId % 64n === 0n) await this.trim(authorId);
    return n;
  }

  async postDeleted(postId: bigint, authorId: bigint): Promise<void> {
    await this.feed.delete({ userId: authorId, postId });
    for await (const ids of this.followers(authorId)) {
      for (const userId of ids) await this.feed.delete({ userId, postId });
    }
  }

  async followed(followerId: bigint, followeeId: bigint): Promise<void> {
    if (await this.isCelebrity(followeeId)) return; // merged at read time
    const r = await this.posts.listUserPosts({ userId: followeeId, pageSize: this.cfg.backfill });
    if (r.posts.length) {
      await this.feed.putMany(r.posts.map((p) => ({ userId: followerId, postId: p.id, authorId: p.authorId })));
      await this.trim(followerId);
    }
  }

  /** Removes `authorId`'s posts from `userId`'s feed. */
  async removeAuthor(userId: bigint, authorId: bigint): Promise<void> {
    let token = "";
    do {
      const page = await this.feed.scan({ userId }, { limit: 1000, pageToken: token });
      for (const row of page.rows) if (row.authorId === authorId) await this.feed.delete({ userId, postId: row.postId });
      token = page.nextPageToken;
    } while (token);
  }

  /** Keeps the newest `cap` items of a feed. */
  async trim(userId: bigint): Promise<void> {
    const head = await this.feed.scan({ userId }, { limit: this.cfg.cap });
    let token = head.nextPageToken;
    while (token) {
      const page = await this.feed.scan({ userId }, { limit: 1000, pageToken: token });
      for (const row of page.rows) await this.feed.delete({ userId, postId: row.postId });
      token = page.nextPageToken;
    }
  }
}

export function fanoutConsumer(writer: FeedWriter): ConsumerOptions {
  return {
    group: FANOUT_GROUP,
    events: [PostCreatedSchema, PostDeletedSchema, FollowedSchema, UnfollowedSchema, UserBlockedSchema],
    commit: "after",
    async handle(event: Delivered) {
      const m = event.message;
      if (isMessage(m, PostCreatedSchema)) await writer.postCreated(m.postId, m.authorId);
      else if (isMessage(m, PostDeletedSchema)) await writer.postDeleted(m.postId, m.authorId);
      else if (isMessage(m, FollowedSchema)) await writer.followed(m.followerId, m.followeeId);
      else if (isMessage(m, UnfollowedSchema)) await writer.removeAuthor(m.followerId, m.followeeId);
      else if (isMessage(m, UserBlockedSchema)) {
        await writer.removeAuthor(m.blockerId, m.blockedId);
        await writer.removeAuthor(m.blockedId, m.blockerId);
      }
    },
  };
}
