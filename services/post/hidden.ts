/**
 * post.moderation: a post or comment a moderator hid
 * (moderation.content_hidden) is marked (hidden_at_ms) in the group's
 * transaction. A hidden post answers NotFound to GetPost, likes, comments and
 * ListLikes, as a deleted one does, and is left out of BatchGetPosts and
 * ListUserPosts (so of every feed that hydrates through them); a hidden
 * comment is left out of ListComments (moderators get it, with `hidden` set)
 * and of its post's comment_count. The rows stay (the modlog points at them);
 * moderation.content_unhidden clears the mark (and counts the comment again). Feed, discover and notify consume the same event for their own
 * projections.
 *
 * Moderators still get a hidden post from GetPost (with `hidden` set): the
 * group also keeps post_moderators from moderation.moderator_changed, since
 * post cannot ask moderation (moderation depends on post).
 */
import { isMessage } from "@bufbuild/protobuf";
import {
  ContentHiddenSchema,
  ContentUnhiddenSchema,
  ModeratorChangedSchema,
} from "../../gen/orbit/moderation/v1/events_pb.js";
import { TargetKind } from "../../gen/orbit/moderation/v1/moderation_pb.js";
import { CommentRowDao, PostModeratorRowDao, PostRowDao } from "../../gen/orbit/post/v1/tables_db.js";
import type { ConsumerOptions } from "../../platform/events/consumer-options.js";

export const MODERATION_GROUP = "post.moderation";

export const moderationConsumer: ConsumerOptions = {
  group: MODERATION_GROUP,
  events: [ContentHiddenSchema, ContentUnhiddenSchema, ModeratorChangedSchema],
  async handle(event, { tx }) {
    const m = event.message;
    if (isMessage(m, ModeratorChangedSchema)) {
      const moderators = new PostModeratorRowDao(tx);
      if (m.moderator) await moderators.insertIfAbsent({ userId: m.userId });
      else await moderators.delete({ userId: m.userId });
      return;
    }
    if (isMessage(m, ContentUnhiddenSchema)) {
      if (m.kind === TargetKind.POST) {
        const posts = new PostRowDao(tx);
        const row = await posts.get({ id: m.targetId });
        if (row && row.hiddenAtMs !== undefined) await posts.update({ id: row.id }, { hiddenAtMs: null });
      } else if (m.kind === TargetKind.COMMENT) {
        const comments = new CommentRowDao(tx);
        const row = await comments.get({ id: m.targetId });
        if (row && row.hiddenAtMs !== undefined) {
          await comments.update({ id: row.id }, { hiddenAtMs: null });
          await new PostRowDao(tx).incrementCommentCount({ id: row.postId }, 1);
        }
      }
      return;
    }
    if (!isMessage(m, ContentHiddenSchema)) return;
    const at = m.atMs > 0n ? m.atMs : BigInt(event.publishedAtMs);
    if (m.kind === TargetKind.POST) {
      const posts = new PostRowDao(tx);
      const row = await posts.get({ id: m.targetId });
      if (row && row.hiddenAtMs === undefined) await posts.update({ id: row.id }, { hiddenAtMs: at });
    } else if (m.kind === TargetKind.COMMENT) {
      const comments = new CommentRowDao(tx);
      const row = await comments.get({ id: m.targetId });
      if (row && row.hiddenAtMs === undefined) {
        await comments.update({ id: row.id }, { hiddenAtMs: at });
        // A hidden comment does not count in its post's comment_count (back on unhide).
        await new PostRowDao(tx).incrementCommentCount({ id: row.postId }, -1);
      }
    }
  },
};
