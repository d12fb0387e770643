/** The PostService handlers. */
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  CommentRowDao,
  HashtagRowDao,
  LikeRowDao,
  MentionRowDao,
  PostModeratorRowDao,
  PostRowDao,
} from "../../gen/orbit/post/v1/tables_db.js";
import {
  CommentAddedSchema,
  CommentDeletedSchema,
  MentionedSchema,
  PostCreatedSchema,
  PostDeletedSchema,
  PostLikedSchema,
  PostUnlikedSchema,
} from "../../gen/orbit/post/v1/events_pb.js";
import { LikeSchema, type PostService } from "../../gen/orbit/post/v1/post_pb.js";
import type { PostRow } from "../../gen/orbit/post/v1/tables_pb.js";
import { MediaService } from "../../gen/orbit/media/v1/media_pb.js";
import { UserService } from "../../gen/orbit/user/v1/user_pb.js";
import { CommunityService, Role } from "../../gen/orbit/community/v1/community_pb.js";
import { create } from "@bufbuild/protobuf";
import type { ServiceContext } from "../../platform/kernel/context.js";
import { callScope, requireService, requireUser } from "../../platform/rpc/call-scope.js";
import type { SqlTx } from "../../platform/storage/driver.js";
import { toComment, toPost } from "./convert.js";
import { likedAmong } from "./likes.js";
import { parseHashtags, parseMentions } from "./text.js";

const DEFAULT_PAGE = 20;

function notFound(what: string): ConnectError {
  return new ConnectError(`${what} not found`, Code.NotFound);
}

export function postHandlers(ctx: ServiceContext): ServiceImpl<typeof PostService> {
  const db = ctx.db;
  const posts = new PostRowDao(db);
  const likes = new LikeRowDao(db);
  const comments = new CommentRowDao(db);
  const users = ctx.client(UserService);
  const communities = ctx.client(CommunityService);

  /** Only members (not banned) may post into a community. */
  async function mayPostIn(communityId: bigint, userId: bigint): Promise<void> {
    const { membership } = await communities.getMembership({ communityId, userId });
    if (!membership || membership.banned || membership.role === Role.UNSPECIFIED)
      throw new ConnectError("community_id: only members of the community may post in it", Code.PermissionDenied);
  }
  const media = ctx.client(MediaService);

  function viewerOf(hctx: HandlerContext): bigint | undefined {
    const id = callScope(hctx).identity?.userId;
    return id === undefined ? undefined : BigInt(id);
  }

  /** Authors among `authorIds` that the viewer may not see (a block either way). */
  async function hiddenAuthors(viewer: bigint | undefined, authorIds: readonly bigint[]): Promise<Set<bigint>> {
    const others = [...new Set(authorIds)].filter((a) => a !== viewer);
    if (viewer === undefined || others.length === 0) return new Set();
    const r = await users.filterBlocked({ userId: viewer, otherUserIds: others });
    return new Set(r.blockedUserIds);
  }

  /** Whether the user has the moderator role (as post.moderation last heard, hidden.ts). */
  async function isModerator(userId: bigint | undefined): Promise<boolean> {
    return userId !== undefined && (await new PostModeratorRowDao(db).get({ userId })) !== undefined;
  }

  /**
   * The post, if it exists and the viewer may see it; NotFound otherwise. A
   * post a moderator hid is gone for everyone, as a deleted one (hidden.ts),
   * except for moderators where `moderatorsSeeHidden` (GetPost).
   */
  async function visiblePost(
    hctx: HandlerContext,
    postId: bigint,
    o: { moderatorsSeeHidden?: boolean } = {},
  ): Promise<PostRow> {
    const row = await posts.get({ id: postId });
    if (!row) throw notFound("post");
    if (row.hiddenAtMs !== undefined && !(o.moderatorsSeeHidden && (await isModerator(viewerOf(hctx)))))
      throw notFound("post");
    if ((await hiddenAuthors(viewerOf(hctx), [row.authorId])).size > 0) throw notFound("post");
    return row;
  }

  async function likedByMe(viewer: bigint | undefined, postIds: readonly bigint[]): Promise<Set<bigint>> {
    if (viewer === undefined || postIds.length === 0) return new Set();
    return likedAmong(db, viewer, postIds);
  }

  /**
   * The users a text mentions: its @handles that exist, less anyone with a block
   * either way with the author (a blocked user's @ann stays text: no mention row, no event).
   */
  async function resolveMentions(text: string, authorId: bigint): Promise<bigint[]> {
    const handles = parseMentions(text);
    if (handles.length === 0) return [];
    const ids = (await users.getUsers({ handles })).users.map((u) => u.id);
    if (ids.length === 0) return [];
    const blocked = new Set((await users.filterBlocked({ userId: authorId, otherUserIds: ids })).blockedUserIds);
    return ids.filter((id) => !blocked.has(id));
  }

  /** A post.mentioned event for the users a post or comment mentions (none: no event). */
  async function publishMentions(
    tx: SqlTx,
    m: { postId: bigint; commentId: bigint; authorId: bigint; mentionedUserIds: bigint[]; atMs: bigint },
  ) {
    if (m.mentionedUserIds.length) await ctx.events.publish(tx, MentionedSchema, m);
  }

  async function writeIndexes(tx: SqlTx, row: { id: bigint; hashtags: string[]; mentionUserIds: bigint[] }) {
    if (row.hashtags.length)
      await new HashtagRowDao(tx).insertMany(row.hashtags.map((tag) => ({ tag, postId: row.id })));
    if (row.mentionUserIds.length) {
      await new MentionRowDao(tx).insertMany(row.mentionUserIds.map((userId) => ({ userId, postId: row.id })));
    }
  }

  async function dropIndexes(tx: SqlTx, row: PostRow) {
    for (const tag of row.hashtags) await new HashtagRowDao(tx).delete({ tag, postId: row.id });
    for (const userId of row.mentionUserIds) await new MentionRowDao(tx).delete({ userId, postId: row.id });
  }

  async function ownPost(hctx: HandlerContext, postId: bigint): Promise<PostRow> {
    const me = BigInt(requireUser(hctx).userId);
    const row = await posts.get({ id: postId });
    if (!row) throw notFound("post");
    if (row.authorId !== me) throw new ConnectError("this post belongs to another user", Code.PermissionDenied);
    return row;
  }

  /** Media must be the author's and READY (docs/media.md); FailedPrecondition says which are not. */
  async function checkMedia(ownerId: bigint, mediaIds: readonly bigint[], imagesOnly: boolean) {
    if (mediaIds.length === 0) return;
    const { problems } = await media.checkMedia({ ownerId, mediaIds: [...mediaIds], imagesOnly });
    if (problems.length) throw new ConnectError(`media_ids: ${problems.join("; ")}`, Code.FailedPrecondition);
  }

  return {
    async createPost(req, hctx) {
      const authorId = BigInt(requireUser(hctx).userId);
      if (!req.text.trim() && req.mediaIds.length === 0) {
        throw new ConnectError("text, media_ids: a post needs text or media", Code.InvalidArgument);
      }
      if (req.communityId) await mayPostIn(req.communityId, authorId);
      await checkMedia(authorId, req.mediaIds, false);
      const hashtags = parseHashtags(req.text);
      const mentionUserIds = await resolveMentions(req.text, authorId);
      const id = ctx.ids.next();
      const now = BigInt(Date.now());
      const row = {
        id,
        authorId,
        text: req.text,
        mediaIds: req.mediaIds,
        hashtags,
        mentionUserIds,
        createdAtMs: now,
        communityId: req.communityId,
      };
      await db.transaction(async (tx) => {
        await posts.with(tx).insert(row);
        await writeIndexes(tx, row);
        await ctx.events.publish(tx, PostCreatedSchema, {
          postId: id,
          authorId,
          createdAtMs: now,
          mentionUserIds,
          text: req.text,
          hashtags,
          communityId: req.communityId,
        });
        await publishMentions(tx, { postId: id, commentId: 0n, authorId, mentionedUserIds: mentionUserIds, atMs: now });
      });
      return { post: toPost((await posts.get({ id }))!, false) };
    },

    async editPost(req, hctx) {
      const row = await ownPost(hctx, req.postId);
      if (!req.text.trim() && row.mediaIds.length === 0)
        throw new ConnectError("text: a post without media needs text", Code.InvalidArgument);
      const hashtags = parseHashtags(req.text);
      const mentionUserIds = await resolveMentions(req.text, row.authorId);
      await db.transaction(async (tx) => {
        await dropIndexes(tx, row);
        await posts
          .with(tx)
          .update({ id: row.id }, { text: req.text, hashtags, mentionUserIds, editedAtMs: BigInt(Date.now()) });
        await writeIndexes(tx, { id: row.id, hashtags, mentionUserIds });
        const before = new Set(row.mentionUserIds);
        await publishMentions(tx, {
          postId: row.id,
          commentId: 0n,
          authorId: row.authorId,
          mentionedUserIds: mentionUserIds.filter((u) => !before.has(u)),
          atMs: BigInt(Date.now()),
        });
      });
      const viewer = viewerOf(hctx);
      return { post: toPost((await posts.get({ id: row.id }))!, (await likedByMe(viewer, [row.id])).size > 0) };
    },

    async deletePost(req, hctx) {
      const row = await ownPost(hctx, req.postId);
      await db.transaction(async (tx) => {
        await dropIndexes(tx, row);
        await posts.with(tx).delete({ id: row.id });
        await ctx.events.publish(tx, PostDeletedSchema, { postId: row.id, authorId: row.authorId });
      });
      return {};
    },

    async getPost(req, hctx) {
      const row = await visiblePost(hctx, req.postId, { moderatorsSeeHidden: true });
      return { post: toPost(row, (await likedByMe(viewerOf(hctx), [row.id])).size > 0) };
    },

    async batchGetPosts(req, hctx) {
      // viewer_id is for services (the feed hydrates for its caller); from an
      // outside client it would reveal others' likes and blocks, so it is ignored.
      const asked = req.viewerId > 0n && callScope(hctx).fromService ? req.viewerId : undefined;
      const viewer = viewerOf(hctx) ?? asked;
      const withHidden = req.includeHidden && callScope(hctx).fromService;
      const rows = (await posts.getMany(req.postIds.map((id) => ({ id })))).filter(
        (r) => r.hiddenAtMs === undefined || withHidden,
      );
      const [hidden, liked] = await Promise.all([
        hiddenAuthors(
          viewer,
          rows.map((r) => r.authorId),
        ),
        likedByMe(
          viewer,
          rows.map((r) => r.id),
        ),
      ]);
      const visible = rows.filter((r) => !hidden.has(r.authorId));
      const byId = new Map(visible.map((r) => [r.id, r]));
      return {
        posts: [...new Set(req.postIds)].flatMap((id) => {
          const r = byId.get(id);
          return r ? [toPost(r, liked.has(id))] : [];
        }),
      };
    },

    async listUserPosts(req, hctx) {
      const viewer = viewerOf(hctx);
      if ((await hiddenAuthors(viewer, [req.userId])).size > 0) {
        throw new ConnectError("you cannot see this user's posts", Code.PermissionDenied);
      }
      const page = await posts.listByAuthorId(
        { authorId: req.userId },
        { limit: req.pageSize || DEFAULT_PAGE, pageToken: req.pageToken, order: "desc" },
      );
      // An unknown user has no posts: NotFound (asked only for an empty first page).
      if (
        page.rows.length === 0 &&
        !req.pageToken &&
        (await users.getUsers({ userIds: [req.userId] })).users.length === 0
      ) {
        throw notFound("user");
      }
      const liked = await likedByMe(
        viewer,
        page.rows.map((r) => r.id),
      );
      return {
        posts: page.rows.filter((r) => r.hiddenAtMs === undefined).map((r) => toPost(r, liked.has(r.id))),
        nextPageToken: page.nextPageToken,
      };
    },

    async likePost(req, hctx) {
      const userId = BigInt(requireUser(hctx).userId);
      const row = await visiblePost(hctx, req.postId);
      return db.transaction(async (tx) => {
        const inserted = await likes
          .with(tx)
          .insertIfAbsent({ postId: row.id, userId, createdAtMs: BigInt(Date.now()) });
        if (inserted) {
          await posts.with(tx).incrementLikeCount({ id: row.id }, 1);
          await ctx.events.publish(tx, PostLikedSchema, { postId: row.id, userId, authorId: row.authorId });
        }
        const now = await posts.with(tx).get({ id: row.id });
        if (!now) throw notFound("post");
        return { likeCount: now.likeCount };
      });
    },

    async unlikePost(req, hctx) {
      const userId = BigInt(requireUser(hctx).userId);
      const row = await visiblePost(hctx, req.postId);
      return db.transaction(async (tx) => {
        if (await likes.with(tx).delete({ postId: row.id, userId })) {
          await posts.with(tx).incrementLikeCount({ id: row.id }, -1);
          await ctx.events.publish(tx, PostUnlikedSchema, { postId: row.id, userId, authorId: row.authorId });
        }
        const now = await posts.with(tx).get({ id: row.id });
        if (!now) throw notFound("post");
        return { likeCount: now.likeCount };
      });
    },

    async listLikes(req, hctx) {
      await visiblePost(hctx, req.postId);
      const page = await likes.listByPostIdOrderByCreatedAtMs(
        { postId: req.postId },
        { limit: req.pageSize || DEFAULT_PAGE, pageToken: req.pageToken, order: "desc" },
      );
      // Likes by users with a block with the caller are left out, as their comments are.
      const hidden = await hiddenAuthors(
        viewerOf(hctx),
        page.rows.map((l) => l.userId),
      );
      return {
        likes: page.rows
          .filter((l) => !hidden.has(l.userId))
          .map((l) => create(LikeSchema, { userId: l.userId, createdAtMs: l.createdAtMs })),
        nextPageToken: page.nextPageToken,
      };
    },

    async addComment(req, hctx) {
      const authorId = BigInt(requireUser(hctx).userId);
      const post = await visiblePost(hctx, req.postId);
      if (req.replyToCommentId > 0n) {
        const parent = await comments.get({ id: req.replyToCommentId });
        if (!parent || parent.postId !== post.id)
          throw new ConnectError("reply_to_comment_id: not a comment on this post", Code.InvalidArgument);
      }
      if (!req.text.trim()) throw new ConnectError("text: must not be empty or only spaces", Code.InvalidArgument);
      const mentioned = await resolveMentions(req.text, authorId);
      const id = ctx.ids.next();
      const now = BigInt(Date.now());
      await db.transaction(async (tx) => {
        await comments.with(tx).insert({
          id,
          postId: post.id,
          authorId,
          text: req.text,
          replyToCommentId: req.replyToCommentId,
          createdAtMs: now,
        });
        if (!(await posts.with(tx).incrementCommentCount({ id: post.id }, 1))) throw notFound("post");
        await ctx.events.publish(tx, CommentAddedSchema, {
          commentId: id,
          postId: post.id,
          authorId,
          postAuthorId: post.authorId,
        });
        await publishMentions(tx, { postId: post.id, commentId: id, authorId, mentionedUserIds: mentioned, atMs: now });
      });
      return { comment: toComment((await comments.get({ id }))!) };
    },

    async editComment(req, hctx) {
      const me = BigInt(requireUser(hctx).userId);
      const c = await comments.get({ id: req.commentId });
      if (!c) throw notFound("comment");
      if (c.authorId !== me) throw new ConnectError("this comment belongs to another user", Code.PermissionDenied);
      if (!req.text.trim()) throw new ConnectError("text: must not be empty or only spaces", Code.InvalidArgument);
      await comments.update({ id: c.id }, { text: req.text, editedAtMs: BigInt(Date.now()) });
      return { comment: toComment((await comments.get({ id: c.id }))!) };
    },

    async deleteComment(req, hctx) {
      const me = BigInt(requireUser(hctx).userId);
      const c = await comments.get({ id: req.commentId });
      if (!c) throw notFound("comment");
      if (c.authorId !== me) {
        const post = await posts.get({ id: c.postId });
        if (!post || post.authorId !== me)
          throw new ConnectError("you can delete only your comments or comments on your posts", Code.PermissionDenied);
      }
      await db.transaction(async (tx) => {
        const row = await comments.with(tx).get({ id: c.id });
        if (row && (await comments.with(tx).delete({ id: c.id }))) {
          const post = await posts.with(tx).get({ id: c.postId });
          // A hidden comment was already taken out of the count (hidden.ts).
          if (row.hiddenAtMs === undefined) await posts.with(tx).incrementCommentCount({ id: c.postId }, -1);
          await ctx.events.publish(tx, CommentDeletedSchema, {
            commentId: c.id,
            postId: c.postId,
            authorId: c.authorId,
            postAuthorId: post?.authorId ?? 0n,
          });
        }
      });
      return {};
    },

    async listComments(req, hctx) {
      await visiblePost(hctx, req.postId);
      const page = await comments.listByPostId(
        { postId: req.postId },
        { limit: req.pageSize || DEFAULT_PAGE, pageToken: req.pageToken, order: "asc" },
      );
      const viewer = viewerOf(hctx);
      const [hidden, moderator] = await Promise.all([
        hiddenAuthors(
          viewer,
          page.rows.map((c) => c.authorId),
        ),
        page.rows.some((c) => c.hiddenAtMs !== undefined) ? isModerator(viewer) : false,
      ]);
      // Comments a moderator hid: only moderators get them (with `hidden` set).
      return {
        comments: page.rows
          .filter((c) => (c.hiddenAtMs === undefined || moderator) && !hidden.has(c.authorId))
          .map(toComment),
        nextPageToken: page.nextPageToken,
      };
    },

    async getComments(req, hctx) {
      requireService(hctx);
      const rows = await comments.getMany([...new Set(req.commentIds)].map((id) => ({ id })));
      return { comments: rows.map(toComment) };
    },
  };
}
