/**
 * The home feed is a projection of post and graph events into the wide table
 * home_feed (partition: user, clustering: post id descending):
 * - post.created: the post goes into the author's feed and every follower's
 *   (unless the author is above the celebrity threshold: read-time merge);
 * - post.deleted: it is taken out of those feeds;
 * - graph.followed: the followee's recent posts are backfilled;
 * - graph.unfollowed, user.blocked: the other user's posts are removed;
 * - moderation.content_hidden (a post): taken out like a deleted post;
 * - moderation.account_suspended: the account's posts leave its followers' feeds.
 * Puts and deletes are idempotent, so at-least-once delivery is enough;
 * `orbit events replay feed.fanout` rebuilds the feed.
 */
import { forEachLimit } from "../../platform/concurrency.js";
import { isMessage } from "@bufbuild/protobuf";
import { HomeFeedRowDao, type HomeFeedRowInit } from "../../gen/orbit/feed/v1/tables_wide.js";
import { FollowedSchema, UnfollowedSchema } from "../../gen/orbit/graph/v1/events_pb.js";
import { GraphService } from "../../gen/orbit/graph/v1/graph_pb.js";
import {
  AccountSuspendedSchema,
  AccountUnsuspendedSchema,
  ContentHiddenSchema,
  ContentUnhiddenSchema,
} from "../../gen/orbit/moderation/v1/events_pb.js";
import { TargetKind } from "../../gen/orbit/moderation/v1/moderation_pb.js";
import { PostCreatedSchema, PostDeletedSchema } from "../../gen/orbit/post/v1/events_pb.js";
import { PostService } from "../../gen/orbit/post/v1/post_pb.js";
import { UserBlockedSchema } from "../../gen/orbit/user/v1/events_pb.js";
import type { ConsumerOptions, Delivered } from "../../platform/events/consumer-options.js";
import type { ServiceContext } from "../../platform/kernel/context.js";
import type { FeedConfig } from "./settings.js";

export const FANOUT_GROUP = "feed.fanout";
/**
 * Events per consumer batch. Larger batches put more rows of each feed in
 * one sorted write (each feed's index pages are touched once per batch).
 */
export const FANOUT_BATCH = 2000;
/** Feed rows per putMany (one transaction: bounds how long SQLite's write lock is held). */
const PUT_BATCH = 4096;
/** Follower lists fetched at once. */
const FOLLOWER_LOOKUPS = 8;

/** About one in 64 rows added to a feed triggers its trim (cheap, stateless, spread out). */
function trimDue(postId: bigint, userId: bigint): boolean {
  return ((postId ^ userId) & 63n) === 0n;
}

function byFeedKey(a: HomeFeedRowInit, b: HomeFeedRowInit): number {
  return a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : a.postId > b.postId ? -1 : a.postId < b.postId ? 1 : 0;
}

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
    return (await this.celebrities([userId])).has(userId);
  }

  /** The accounts among `userIds` above the celebrity threshold (one call per 500). */
  async celebrities(userIds: readonly bigint[]): Promise<Set<bigint>> {
    const out = new Set<bigint>();
    const threshold = BigInt(this.cfg.celebrityThreshold);
    for (let i = 0; i < userIds.length; i += 500) {
      const r = await this.graph.getFollowCounts({ userIds: userIds.slice(i, i + 500) });
      for (const c of r.counts) if (c.followers > threshold) out.add(c.userId);
    }
    return out;
  }

  async postCreated(postId: bigint, authorId: bigint): Promise<number> {
    return this.postsCreated([{ postId, authorId }]);
  }

  /**
   * Fans out several posts at once: one follow-count lookup for all their
   * authors, each author's followers once (a few authors at a time), then
   * every feed row in key order through multi-row puts, and the feeds due
   * for a trim trimmed once. Returns the number of feed rows written.
   */
  async postsCreated(posts: readonly { postId: bigint; authorId: bigint }[]): Promise<number> {
    const authors = [...new Set(posts.map((p) => p.authorId))];
    const celebs = await this.celebrities(authors);
    const followersOf = new Map<bigint, bigint[]>();
    await forEachLimit(
      authors.filter((a) => !celebs.has(a)),
      FOLLOWER_LOOKUPS,
      async (a) => {
        const all: bigint[] = [];
        for await (const ids of this.followers(a)) for (const id of ids) all.push(id);
        followersOf.set(a, all);
      },
    );
    const rows: HomeFeedRowInit[] = [];
    const due = new Set<bigint>();
    for (const { postId, authorId } of posts) {
      rows.push({ userId: authorId, postId, authorId });
      if (trimDue(postId, authorId)) due.add(authorId);
      for (const userId of followersOf.get(authorId) ?? []) {
        rows.push({ userId, postId, authorId });
        if (trimDue(postId, userId)) due.add(userId);
      }
    }
    // Key order: each feed's rows land together (fewer pages touched per write).
    rows.sort(byFeedKey);
    for (let i = 0; i < rows.length; i += PUT_BATCH) await this.feed.putMany(rows.slice(i, i + PUT_BATCH));
    await this.trim(due);
    return rows.length;
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
      await this.trim([followerId]);
    }
  }

  /** Removes `authorId`'s posts from `userId`'s feed. */
  async removeAuthor(userId: bigint, authorId: bigint): Promise<void> {
    let token = "";
    do {
      const page = await this.feed.scan({ userId }, { limit: 1000, pageToken: token });
      for (const row of page.rows)
        if (row.authorId === authorId) await this.feed.delete({ userId, postId: row.postId });
      token = page.nextPageToken;
    } while (token);
  }

  /** Removes `authorId`'s posts from their own feed and every follower's (a suspended account). */
  async removeAuthorEverywhere(authorId: bigint): Promise<void> {
    await this.removeAuthor(authorId, authorId);
    for await (const ids of this.followers(authorId)) {
      for (const userId of ids) await this.removeAuthor(userId, authorId);
    }
  }

  /** Puts `authorId`'s latest posts back into their own feed and every follower's (an unsuspended account), as a follow does. */
  async restoreAuthorEverywhere(authorId: bigint): Promise<void> {
    await this.followed(authorId, authorId);
    for await (const ids of this.followers(authorId)) {
      for (const userId of ids) await this.followed(userId, authorId);
    }
  }

  /** Keeps the newest `cap` items of each feed (the store finds and deletes the rest, in one transaction). */
  async trim(userIds: Iterable<bigint>): Promise<void> {
    const partitions = [...userIds].map((userId) => ({ userId }));
    if (partitions.length) await this.feed.table.trim(partitions, this.cfg.cap);
  }
}

/**
 * The feed.fanout consumer. `followsChanged(userId)` is told about every
 * follow, unfollow and block it handles (the reader forgets what it
 * remembered of that user's followed celebrities).
 */
export function fanoutConsumer(
  writer: FeedWriter,
  followsChanged: (userId: bigint) => void = () => {},
): ConsumerOptions {
  return {
    group: FANOUT_GROUP,
    events: [
      PostCreatedSchema,
      PostDeletedSchema,
      FollowedSchema,
      UnfollowedSchema,
      UserBlockedSchema,
      ContentHiddenSchema,
      AccountSuspendedSchema,
      ContentUnhiddenSchema,
      AccountUnsuspendedSchema,
    ],
    commit: "after",
    batchSize: FANOUT_BATCH,
    // Runs of consecutive post.created events are fanned out together; any
    // other event is handled on its own, in order.
    async handleBatch(events: readonly Delivered[]) {
      let run: { postId: bigint; authorId: bigint }[] = [];
      for (const event of events) {
        const m = event.message;
        if (isMessage(m, PostCreatedSchema)) {
          run.push({ postId: m.postId, authorId: m.authorId });
          continue;
        }
        if (run.length) await writer.postsCreated(run);
        run = [];
        if (isMessage(m, PostDeletedSchema)) await writer.postDeleted(m.postId, m.authorId);
        else if (isMessage(m, FollowedSchema)) {
          followsChanged(m.followerId);
          await writer.followed(m.followerId, m.followeeId);
        } else if (isMessage(m, UnfollowedSchema)) {
          followsChanged(m.followerId);
          await writer.removeAuthor(m.followerId, m.followeeId);
        } else if (isMessage(m, UserBlockedSchema)) {
          followsChanged(m.blockerId);
          followsChanged(m.blockedId);
          await writer.removeAuthor(m.blockerId, m.blockedId);
          await writer.removeAuthor(m.blockedId, m.blockerId);
        } else if (isMessage(m, ContentHiddenSchema)) {
          if (m.kind === TargetKind.POST && m.authorId > 0n) await writer.postDeleted(m.targetId, m.authorId);
        } else if (isMessage(m, AccountSuspendedSchema)) {
          await writer.removeAuthorEverywhere(m.userId);
        } else if (isMessage(m, ContentUnhiddenSchema)) {
          // Back in every home feed, as when it was created.
          if (m.kind === TargetKind.POST && m.authorId > 0n)
            await writer.postsCreated([{ postId: m.targetId, authorId: m.authorId }]);
        } else if (isMessage(m, AccountUnsuspendedSchema)) {
          await writer.restoreAuthorEverywhere(m.userId);
        }
      }
      if (run.length) await writer.postsCreated(run);
    },
  };
}
