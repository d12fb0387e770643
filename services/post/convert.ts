/** Storage rows → API messages of the post service. */
import { create } from "@bufbuild/protobuf";
import { CommentSchema, PostSchema, type Comment, type Post } from "../../gen/orbit/post/v1/post_pb.js";
import type { CommentRow, PostRow } from "../../gen/orbit/post/v1/tables_pb.js";

export function toPost(row: PostRow, likedByMe: boolean): Post {
  return create(PostSchema, {
    id: row.id,
    authorId: row.authorId,
    text: row.text,
    mediaIds: row.mediaIds,
    hashtags: row.hashtags,
    mentionUserIds: row.mentionUserIds,
    likeCount: row.likeCount,
    commentCount: row.commentCount,
    likedByMe,
    createdAtMs: row.createdAtMs,
    editedAtMs: row.editedAtMs ?? 0n,
    communityId: row.communityId,
    hidden: row.hiddenAtMs !== undefined,
  });
}

export function toComment(row: CommentRow): Comment {
  return create(CommentSchema, {
    id: row.id,
    postId: row.postId,
    authorId: row.authorId,
    text: row.text,
    replyToCommentId: row.replyToCommentId,
    createdAtMs: row.createdAtMs,
    editedAtMs: row.editedAtMs ?? 0n,
    hidden: row.hiddenAtMs !== undefined,
  });
}
