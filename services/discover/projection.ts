/**
 * discover.index: the discover service's tables are a projection of other
 * services' events, written in the transaction the group's position commits
 * in (commit: "transaction"), so each event takes effect exactly once:
 *
 * - post.created: the post (engagement 0, its hot rank), its hashtags, its text
 *   in the full-text index (unless its author is suspended);
 * - post.liked / post.comment_added: engagement + 1 (post.unliked /
 *   post.comment_deleted: − 1), the hot rank rewritten on the post and its
 *   hashtags' rows; each comment is kept (discover_comments: its post, hidden
 *   or not);
 * - moderation.content_hidden (a comment): the comment leaves its post's
 *   engagement (− 1, once; moderation.content_unhidden: + 1, once), and its
 *   deletion while hidden takes nothing more out;
 * - post.deleted, moderation.content_hidden (a post): the post leaves every
 *   table (hot lists, trends, search);
 * - moderation.account_suspended: the account is marked suspended (out of
 *   search and suggestions) and all its posts leave;
 * - moderation.content_unhidden (a post) / moderation.account_unsuspended: the
 *   account is unmarked, and after commit the post, or every post of the
 *   account, is indexed again as PostService serves it now (restore(): its
 *   current counts; not exactly once — a crash between the commit and the
 *   restore loses it — and a replay counts the likes after it twice);
 * - graph.followed / graph.unfollowed: the follow edges and follower counts
 *   suggestions use; user.blocked / user.unblocked: the block edges; each of
 *   the four also marks both accounts' suggestion lists stale (one keyed
 *   UPDATE, suggestions.ts) and asks for a background rebuild after commit;
 * - user.profile_changed: handle and display name for user search.
 *
 * Every write is an upsert or keyed delete, and a post's counts restart at 0
 * when its post.created is applied again, so replaying the group from the
 * earliest retained event (`orbit events replay discover.index --from
 * earliest`) rebuilds the same ranks and trends over what is there.
 */
import { isMessage, type Message } from "@bufbuild/protobuf";
import {
  BlockEdgeRowDao,
  CommentEntryRowDao,
  FollowEdgeRowDao,
  HotPostRowDao,
  PostTagRowDao,
  UserEntryRowDao,
} from "../../gen/orbit/discover/v1/tables_db.js";
import { FollowedSchema, UnfollowedSchema } from "../../gen/orbit/graph/v1/events_pb.js";
import {
  AccountSuspendedSchema,
  AccountUnsuspendedSchema,
  ContentHiddenSchema,
  ContentUnhiddenSchema,
} from "../../gen/orbit/moderation/v1/events_pb.js";
import { TargetKind } from "../../gen/orbit/moderation/v1/moderation_pb.js";
import {
  CommentAddedSchema,
  CommentDeletedSchema,
  PostCreatedSchema,
  PostDeletedSchema,
  PostLikedSchema,
  PostUnlikedSchema,
} from "../../gen/orbit/post/v1/events_pb.js";
import { ProfileChangedSchema, UserBlockedSchema, UserUnblockedSchema } from "../../gen/orbit/user/v1/events_pb.js";
import type { PostService, Post } from "../../gen/orbit/post/v1/post_pb.js";
import type { Client } from "@connectrpc/connect";
import type { ConsumerOptions } from "../../platform/events/consumer-options.js";
import type { SqlDb, SqlExecutor } from "../../platform/storage/driver.js";
import { hotRank } from "../../platform/hot.js";
import { deleteText, putText, wipeText } from "./search-sql.js";
import { markStale } from "./suggestions.js";

export const INDEX_GROUP = "discover.index";

type PostClient = Client<typeof PostService>;

export const INDEX_EVENTS = [
  PostCreatedSchema,
  PostDeletedSchema,
  PostLikedSchema,
  PostUnlikedSchema,
  CommentAddedSchema,
  CommentDeletedSchema,
  FollowedSchema,
  UnfollowedSchema,
  UserBlockedSchema,
  UserUnblockedSchema,
  ProfileChangedSchema,
  ContentHiddenSchema,
  AccountSuspendedSchema,
  ContentUnhiddenSchema,
  AccountUnsuspendedSchema,
];

/** Lower-cased, NFC: how handles and display names are matched. */
export function nameKey(s: string, max: number): string {
  return [...s.normalize("NFC").toLowerCase()].slice(0, max).join("");
}

async function ensureUser(db: SqlExecutor, userId: bigint): Promise<void> {
  await new UserEntryRowDao(db).insertIfAbsent({ userId, handleKey: "", nameKey: "", followers: 0n, suspended: false });
}

async function addFollowers(db: SqlExecutor, userId: bigint, delta: number): Promise<void> {
  await ensureUser(db, userId);
  await db.run("UPDATE discover_users SET followers = followers + ? WHERE user_id = ?", [delta, userId]);
}

async function removePost(db: SqlExecutor, postId: bigint): Promise<boolean> {
  const posts = new HotPostRowDao(db);
  const row = await posts.get({ postId });
  await deleteText(db, postId);
  if (!row) return false;
  const tags = new PostTagRowDao(db);
  for (const tag of row.hashtags) await tags.delete({ tag, postId });
  await posts.delete({ postId });
  return true;
}

interface Indexed {
  postId: bigint;
  authorId: bigint;
  createdAtMs: bigint;
  hashtags: readonly string[];
  text: string;
  likes: bigint;
  comments: bigint;
}

function fromPost(p: Post): Indexed {
  return { ...p, postId: p.id, likes: p.likeCount, comments: p.commentCount };
}

/** A post into the hot lists, its hashtags' rows and the full-text index. */
async function indexPost(db: SqlExecutor, p: Indexed): Promise<void> {
  const rank = hotRank(p.likes, p.comments, p.createdAtMs);
  const hashtags = [...new Set(p.hashtags)];
  await new HotPostRowDao(db).upsert({
    postId: p.postId,
    authorId: p.authorId,
    createdAtMs: p.createdAtMs,
    likes: p.likes,
    comments: p.comments,
    hotRank: rank,
    hashtags,
  });
  if (hashtags.length) {
    await new PostTagRowDao(db).upsertMany(
      hashtags.map((tag) => ({
        tag,
        postId: p.postId,
        authorId: p.authorId,
        createdAtMs: p.createdAtMs,
        hotRank: rank,
      })),
    );
  }
  await putText(db, p.postId, p.text);
}

async function engage(db: SqlExecutor, postId: bigint, likes: number, comments: number): Promise<void> {
  const posts = new HotPostRowDao(db);
  const row = await posts.get({ postId });
  if (!row) return; // deleted, hidden, or its author is suspended
  const l = row.likes + BigInt(likes) > 0n ? row.likes + BigInt(likes) : 0n;
  const c = row.comments + BigInt(comments) > 0n ? row.comments + BigInt(comments) : 0n;
  const rank = hotRank(l, c, row.createdAtMs);
  await posts.update({ postId }, { likes: l, comments: c, hotRank: rank });
  const tags = new PostTagRowDao(db);
  for (const tag of row.hashtags) await tags.update({ tag, postId }, { hotRank: rank });
}

/**
 * A comment hidden (or unhidden): out of (back into) its post's engagement,
 * once. A comment discover never heard of (deleted already, or older than
 * discover_comments) changes nothing. True when a hot rank went down.
 */
async function hideComment(db: SqlExecutor, commentId: bigint, hidden: boolean): Promise<boolean> {
  const comments = new CommentEntryRowDao(db);
  const row = await comments.get({ commentId });
  if (!row || row.hidden === hidden) return false;
  await comments.update({ commentId }, { hidden });
  await engage(db, row.postId, 0, hidden ? -1 : 1);
  return hidden;
}

/** Content to index again from PostService (one post, or every post of an author). */
export type Restore = { postId: bigint } | { authorId: bigint };

/** What an applied event asks of the reading side once committed. */
export interface Applied {
  /** Content left the lists: read caches may drop what they remember. */
  removed: boolean;
  /** Accounts whose suggestion lists were marked stale. */
  stale: bigint[];
  /** Content to index again once committed (restore()). */
  restore: Restore[];
}

/** Applies one event to the projection through `db` (the consumer's transaction). */
export async function applyEvent(db: SqlExecutor, m: Message): Promise<Applied> {
  const stale: bigint[] = [];
  const restore: Restore[] = [];
  const removed = await apply(db, m, stale, restore);
  if (stale.length) await markStale(db, ...stale);
  return { removed, stale, restore };
}

/**
 * Indexes again, as PostService serves it now (its current counts; posts a
 * moderator hid stay out, except the one just unhidden, which post.moderation
 * may not have cleared yet), a post or every post of an account. Outside the
 * consumer's transaction (a call to post inside it would wait on SQLite's one
 * writer); every write is an upsert, so running it twice is harmless.
 */
export async function restore(db: SqlDb, posts: PostClient, r: Restore): Promise<void> {
  const index = async (list: readonly Post[]) => {
    if (list.length === 0) return;
    await db.transaction(async (tx) => {
      for (const p of list) {
        const author = await new UserEntryRowDao(tx).get({ userId: p.authorId });
        if (!author?.suspended) await indexPost(tx, fromPost(p));
      }
    });
  };
  if ("postId" in r) {
    await index((await posts.batchGetPosts({ postIds: [r.postId], includeHidden: true })).posts);
    return;
  }
  let token = "";
  do {
    const page = await posts.listUserPosts({ userId: r.authorId, pageSize: 100, pageToken: token });
    await index(page.posts);
    token = page.nextPageToken;
  } while (token);
}

async function apply(db: SqlExecutor, m: Message, stale: bigint[], restore: Restore[]): Promise<boolean> {
  if (isMessage(m, PostCreatedSchema)) {
    const author = await new UserEntryRowDao(db).get({ userId: m.authorId });
    if (author?.suspended) return false;
    await indexPost(db, { ...m, likes: 0n, comments: 0n });
    return false;
  }
  if (isMessage(m, ContentUnhiddenSchema)) {
    if (m.kind === TargetKind.POST) restore.push({ postId: m.targetId });
    if (m.kind === TargetKind.COMMENT) await hideComment(db, m.targetId, false);
    return false;
  }
  if (isMessage(m, AccountUnsuspendedSchema)) {
    await ensureUser(db, m.userId);
    await new UserEntryRowDao(db).update({ userId: m.userId }, { suspended: false });
    restore.push({ authorId: m.userId });
    return false;
  }
  if (isMessage(m, PostLikedSchema)) {
    await engage(db, m.postId, 1, 0);
    return false;
  }
  if (isMessage(m, PostUnlikedSchema)) {
    await engage(db, m.postId, -1, 0);
    return false;
  }
  if (isMessage(m, CommentAddedSchema)) {
    await new CommentEntryRowDao(db).upsert({ commentId: m.commentId, postId: m.postId, hidden: false });
    await engage(db, m.postId, 0, 1);
    return false;
  }
  if (isMessage(m, CommentDeletedSchema)) {
    const comments = new CommentEntryRowDao(db);
    const row = await comments.get({ commentId: m.commentId });
    if (row) await comments.delete({ commentId: m.commentId });
    // A hidden comment was taken out when it was hidden.
    if (!row?.hidden) await engage(db, m.postId, 0, -1);
    return false;
  }
  if (isMessage(m, PostDeletedSchema)) {
    const comments = new CommentEntryRowDao(db);
    while ((await comments.deleteByPostId({ postId: m.postId }, { limit: 1000 })) === 1000) {}
    return removePost(db, m.postId);
  }
  if (isMessage(m, ContentHiddenSchema)) {
    if (m.kind === TargetKind.COMMENT) return hideComment(db, m.targetId, true);
    return m.kind === TargetKind.POST ? removePost(db, m.targetId) : false;
  }
  if (isMessage(m, AccountSuspendedSchema)) {
    await ensureUser(db, m.userId);
    await new UserEntryRowDao(db).update({ userId: m.userId }, { suspended: true });
    const ids = await db.allValues("SELECT post_id FROM discover_posts WHERE author_id = ?", [m.userId]);
    for (const [id] of ids) await removePost(db, BigInt(String(id)));
    return true;
  }
  if (isMessage(m, FollowedSchema)) {
    if (m.followerId === m.followeeId) return false;
    stale.push(m.followerId, m.followeeId);
    if (await new FollowEdgeRowDao(db).insertIfAbsent({ followerId: m.followerId, followeeId: m.followeeId }))
      await addFollowers(db, m.followeeId, 1);
    return false;
  }
  if (isMessage(m, UnfollowedSchema)) {
    stale.push(m.followerId, m.followeeId);
    if (await new FollowEdgeRowDao(db).delete({ followerId: m.followerId, followeeId: m.followeeId }))
      await addFollowers(db, m.followeeId, -1);
    return false;
  }
  if (isMessage(m, UserBlockedSchema)) {
    stale.push(m.blockerId, m.blockedId);
    await new BlockEdgeRowDao(db).insertIfAbsent({ blockerId: m.blockerId, blockedId: m.blockedId });
    return false;
  }
  if (isMessage(m, UserUnblockedSchema)) {
    stale.push(m.blockerId, m.blockedId);
    await new BlockEdgeRowDao(db).delete({ blockerId: m.blockerId, blockedId: m.blockedId });
    return false;
  }
  if (isMessage(m, ProfileChangedSchema)) {
    const users = new UserEntryRowDao(db);
    const keys = { handleKey: nameKey(m.handle, 32), nameKey: nameKey(m.displayName, 64) };
    if (!(await users.insertIfAbsent({ userId: m.userId, ...keys, followers: 0n, suspended: false })))
      await users.update({ userId: m.userId }, keys);
    return false;
  }
  return false;
}

/** Empties the projection (before a replay from the earliest event). */
export async function wipeProjection(db: SqlExecutor): Promise<void> {
  for (const t of [
    "discover_posts",
    "discover_post_tags",
    "discover_comments",
    "discover_follows",
    "discover_users",
    "discover_blocks",
    "discover_suggestions",
  ])
    await db.run(`DELETE FROM ${t}`);
  await wipeText(db);
}

/** The discover.index consumer; told after commit when content left the lists and which suggestion lists went stale. */
export function indexConsumer(after: {
  removed(): void;
  stale(ids: bigint[]): void;
  restore(r: Restore[]): void;
}): ConsumerOptions {
  return {
    group: INDEX_GROUP,
    events: INDEX_EVENTS,
    commit: "transaction",
    async handle(event, { tx }) {
      const { removed, stale, restore } = await applyEvent(tx, event.message);
      if (removed) tx.afterCommit(() => after.removed());
      if (stale.length) tx.afterCommit(() => after.stale(stale));
      if (restore.length) tx.afterCommit(() => after.restore(restore));
    },
  };
}
