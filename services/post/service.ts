/**
 * post: posts, likes, comments, hashtags and mentions; post.cleanup deletes a
 * deleted post's likes and comments; post.moderation hides what moderators hid.
 */
import {
  CommentAddedSchema,
  CommentDeletedSchema,
  MentionedSchema,
  PostCreatedSchema,
  PostDeletedSchema,
  PostLikedSchema,
  PostUnlikedSchema,
} from "../../gen/orbit/post/v1/events_pb.js";
import { PostService } from "../../gen/orbit/post/v1/post_pb.js";
import {
  CommentRowTable,
  HashtagRowTable,
  LikeRowTable,
  MentionRowTable,
  PostModeratorRowTable,
  PostRowTable,
} from "../../gen/orbit/post/v1/tables_db.js";
import { defineService } from "../../platform/kernel/service.js";
import { cleanupConsumer } from "./cleanup.js";
import { postHandlers } from "./handlers.js";
import { moderationConsumer } from "./hidden.js";

export const post = defineService({
  name: "post",
  description: "posts with media, likes, comments, hashtags and @mentions",
  deps: ["user", "community", "media"],
  api: [PostService],
  tables: [PostRowTable, LikeRowTable, CommentRowTable, HashtagRowTable, MentionRowTable, PostModeratorRowTable],
  publishes: [
    PostCreatedSchema,
    PostDeletedSchema,
    PostLikedSchema,
    PostUnlikedSchema,
    CommentAddedSchema,
    CommentDeletedSchema,
    MentionedSchema,
  ],
  build: (ctx) => ({ rpc: [postHandlers(ctx)], consumers: [cleanupConsumer(ctx), moderationConsumer] }),
});
