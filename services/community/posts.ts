/**
 * community.posts: the community feed's projection. A post tagged to a
 * community (post.created with community_id) gets a row; each like, unlike,
 * comment and deleted comment moves its counts and recomputes its hot score
 * in the same transaction as the group's position (exactly once); a deleted
 * post leaves.
 */
import { isMessage } from "@bufbuild/protobuf";
import {
  CommentAddedSchema,
  CommentDeletedSchema,
  PostCreatedSchema,
  PostDeletedSchema,
  PostLikedSchema,
  PostUnlikedSchema,
} from "../../gen/orbit/post/v1/events_pb.js";
import { CommunityPostRowDao } from "../../gen/orbit/community/v1/tables_db.js";
import type { ConsumerOptions } from "../../platform/events/consumer-options.js";
import { hotRank } from "../../platform/hot.js";

export const POSTS_GROUP = "community.posts";

/**
 * The epoch community ranks were first stored with (2024-01-01); the formula
 * is platform/hot.ts's. Ranks of one table must share an epoch: moving to the
 * default needs a replay of community.posts.
 */
const COMMUNITY_HOT_EPOCH_S = 1_704_067_200;
const hotScoreKey = (likes: bigint, comments: bigint, createdAtMs: bigint) =>
  hotRank(likes, comments, createdAtMs, COMMUNITY_HOT_EPOCH_S);

export function postsConsumer(): ConsumerOptions {
  return {
    group: POSTS_GROUP,
    events: [
      PostCreatedSchema,
      PostLikedSchema,
      PostUnlikedSchema,
      CommentAddedSchema,
      CommentDeletedSchema,
      PostDeletedSchema,
    ],
    async handle(event, { tx }) {
      const posts = new CommunityPostRowDao(tx);
      const m = event.message;
      if (isMessage(m, PostCreatedSchema)) {
        if (!m.communityId) return;
        await posts.insertIfAbsent({
          postId: m.postId,
          communityId: m.communityId,
          authorId: m.authorId,
          createdAtMs: m.createdAtMs,
          likeCount: 0n,
          commentCount: 0n,
          hotScore: hotScoreKey(0n, 0n, m.createdAtMs),
        });
        return;
      }
      if (isMessage(m, PostDeletedSchema)) {
        await posts.delete({ postId: m.postId });
        return;
      }
      let likes = 0n;
      let comments = 0n;
      if (isMessage(m, PostLikedSchema)) likes = 1n;
      else if (isMessage(m, PostUnlikedSchema)) likes = -1n;
      else if (isMessage(m, CommentAddedSchema)) comments = 1n;
      else if (isMessage(m, CommentDeletedSchema)) comments = -1n;
      else return;
      const row = await posts.get({ postId: m.postId });
      if (!row) return; // not a community post
      const likeCount = row.likeCount + likes > 0n ? row.likeCount + likes : 0n;
      const commentCount = row.commentCount + comments > 0n ? row.commentCount + comments : 0n;
      await posts.update(
        { postId: row.postId },
        { likeCount, commentCount, hotScore: hotScoreKey(likeCount, commentCount, row.createdAtMs) },
      );
    },
  };
}
