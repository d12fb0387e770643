/**
 * notify.fanin: the consumer that turns events into notifications.
 *
 *   post.liked / post.unliked           like of a post → its author; an unlike takes it back
 *   post.comment_added / _deleted       comment on a post → its author; a deletion takes it back
 *   post.mentioned                      @mention in a post or comment → each mentioned user
 *   post.deleted                        every notification about the post goes
 *   graph.followed / graph.unfollowed   follow → the followee; an unfollow takes it back
 *   user.blocked                        what each did to the other goes (both ways)
 *   moderation.content_hidden           a hidden post: its notifications go; a hidden comment: its own and
 *                                       its mentions go (both kept aside in notify_hidden)
 *   moderation.content_unhidden         what the hide kept aside comes back, unless another hide still
 *                                       holds it (a hidden comment of an unhidden post stays out)
 *   moderation.account_suspended        everything the account did, to anyone, goes (kept in notify_hidden)
 *   moderation.account_unsuspended      it comes back, unless a hide still holds it (or it was undone meanwhile)
 *
 * Never notified: the actor themself, a user with a block either way with the
 * actor (asked of the user service, once per recipient per batch), a muted
 * actor, a type the recipient turned off.
 *
 * A batch is applied in one transaction; every notification is keyed by its
 * action, so a batch delivered again (commit "after": at least once) or a
 * replay (`orbit events replay notify.fanin`) changes nothing that is already
 * there. To rebuild from the log: wipe notify_items and notify_groups, replay
 * from earliest. The groups a batch changed are sent to the recipients'
 * connected devices in the same transaction (one update per group per batch,
 * with the new unread count), and the ones that grew to their mobile devices
 * after it commits. Events older than `pushMaxAge` (a replay, a long outage)
 * only update the list.
 */
import { isMessage } from "@bufbuild/protobuf";
import { FollowedSchema, UnfollowedSchema } from "../../gen/orbit/graph/v1/events_pb.js";
import {
  AccountSuspendedSchema,
  AccountUnsuspendedSchema,
  ContentHiddenSchema,
  ContentUnhiddenSchema,
} from "../../gen/orbit/moderation/v1/events_pb.js";
import { TargetKind } from "../../gen/orbit/moderation/v1/moderation_pb.js";
import { NotificationType } from "../../gen/orbit/notify/v1/notify_pb.js";
import {
  CommentAddedSchema,
  CommentDeletedSchema,
  MentionedSchema,
  PostDeletedSchema,
  PostLikedSchema,
  PostUnlikedSchema,
} from "../../gen/orbit/post/v1/events_pb.js";
import { UserBlockedSchema } from "../../gen/orbit/user/v1/events_pb.js";
import type { ConsumerOptions, Delivered } from "../../platform/events/consumer-options.js";
import type { SqlDb } from "../../platform/storage/driver.js";
import type { Delivery } from "./delivery.js";
import type { Action, NotificationStore, Touched } from "./store.js";

export const FANIN_GROUP = "notify.fanin";
/** How long the answer to "is there a block between these two" is remembered (a user.blocked event forgets it). */
export const BLOCK_CACHE_MS = 5000;
const BLOCK_CACHE_MAX = 100_000;
const BATCH = 500;

type Op =
  | { readonly kind: "add"; readonly action: Action }
  | { readonly kind: "remove"; readonly recipientId: bigint; readonly sourceKey: string }
  | { readonly kind: "block"; readonly a: bigint; readonly b: bigint }
  | { readonly kind: "target"; readonly postId: bigint; readonly commentId?: bigint }
  | { readonly kind: "hidden"; readonly what: "post" | "comment"; readonly id: bigint }
  | { readonly kind: "unhidden"; readonly what: "post" | "comment"; readonly id: bigint }
  | { readonly kind: "suspended"; readonly userId: bigint }
  | { readonly kind: "unsuspended"; readonly userId: bigint };

/** What an event means for notifications (nothing for an event of no interest). */
export function opsOf(e: Delivered): Op[] {
  const m = e.message;
  const at = BigInt(e.publishedAtMs);
  const add = (a: Omit<Action, "atMs" | "eventId" | "commentId"> & { commentId?: bigint }): Op => ({
    kind: "add",
    action: { commentId: 0n, ...a, atMs: at, eventId: e.id },
  });
  if (isMessage(m, PostLikedSchema)) {
    return [
      add({
        recipientId: m.authorId,
        actorId: m.userId,
        type: NotificationType.LIKE,
        targetId: m.postId,
        sourceKey: `like:${m.postId}:${m.userId}`,
      }),
    ];
  }
  if (isMessage(m, PostUnlikedSchema)) {
    return [{ kind: "remove", recipientId: m.authorId, sourceKey: `like:${m.postId}:${m.userId}` }];
  }
  if (isMessage(m, CommentAddedSchema)) {
    return [
      add({
        recipientId: m.postAuthorId,
        actorId: m.authorId,
        type: NotificationType.COMMENT,
        targetId: m.postId,
        sourceKey: `comment:${m.commentId}`,
      }),
    ];
  }
  if (isMessage(m, CommentDeletedSchema)) {
    return [
      { kind: "remove", recipientId: m.postAuthorId, sourceKey: `comment:${m.commentId}` },
      { kind: "target", postId: m.postId, commentId: m.commentId },
    ];
  }
  if (isMessage(m, MentionedSchema)) {
    return [...new Set(m.mentionedUserIds)].map((u) =>
      add({
        recipientId: u,
        actorId: m.authorId,
        type: NotificationType.MENTION,
        targetId: m.postId,
        commentId: m.commentId,
        sourceKey: `mention:${m.postId}:${m.commentId}`,
      }),
    );
  }
  if (isMessage(m, PostDeletedSchema)) return [{ kind: "target", postId: m.postId }];
  if (isMessage(m, FollowedSchema)) {
    return [
      add({
        recipientId: m.followeeId,
        actorId: m.followerId,
        type: NotificationType.FOLLOW,
        targetId: 0n,
        sourceKey: `follow:${m.followerId}`,
      }),
    ];
  }
  if (isMessage(m, UnfollowedSchema)) {
    return [{ kind: "remove", recipientId: m.followeeId, sourceKey: `follow:${m.followerId}` }];
  }
  if (isMessage(m, UserBlockedSchema)) return [{ kind: "block", a: m.blockerId, b: m.blockedId }];
  if (isMessage(m, ContentHiddenSchema) || isMessage(m, ContentUnhiddenSchema)) {
    const kind = isMessage(m, ContentHiddenSchema) ? "hidden" : "unhidden";
    if (m.kind === TargetKind.POST) return [{ kind, what: "post", id: m.targetId }];
    if (m.kind === TargetKind.COMMENT) return [{ kind, what: "comment", id: m.targetId }];
    return []; // messages and streams notify nobody (yet)
  }
  if (isMessage(m, AccountSuspendedSchema)) return [{ kind: "suspended", userId: m.userId }];
  if (isMessage(m, AccountUnsuspendedSchema)) return [{ kind: "unsuspended", userId: m.userId }];
  return [];
}

export interface FaninDeps {
  readonly db: SqlDb;
  readonly store: NotificationStore;
  readonly delivery: Delivery;
  /** Of `others`, those with a block either way with `userId`. */
  readonly blockedAmong: (userId: bigint, others: readonly bigint[]) => Promise<Set<bigint>>;
  /** Remembered block answers (see BLOCK_CACHE_MS); none: ask every batch. */
  readonly blockCache?: Map<string, { blocked: boolean; until: number }>;
  /** Events older than this (ms) when handled are not pushed. */
  readonly pushMaxAgeMs: number;
}

export function faninConsumer(deps: FaninDeps): ConsumerOptions {
  return {
    group: FANIN_GROUP,
    events: [
      PostLikedSchema,
      PostUnlikedSchema,
      CommentAddedSchema,
      CommentDeletedSchema,
      MentionedSchema,
      PostDeletedSchema,
      FollowedSchema,
      UnfollowedSchema,
      UserBlockedSchema,
      ContentHiddenSchema,
      ContentUnhiddenSchema,
      AccountSuspendedSchema,
      AccountUnsuspendedSchema,
    ],
    commit: "after",
    batchSize: BATCH,
    handleBatch: (events) => applyBatch(deps, events),
  };
}

/** Applies a batch of events; exported for the tests and the bench. */
export async function applyBatch(deps: FaninDeps, events: readonly Delivered[]): Promise<void> {
  const now = Date.now();
  const ops: { op: Op; live: boolean }[] = [];
  for (const e of events) {
    const live = now - e.publishedAtMs <= deps.pushMaxAgeMs;
    for (const op of opsOf(e)) {
      // Self-actions never notify.
      if (op.kind === "add" && (op.action.recipientId === op.action.actorId || op.action.recipientId === 0n)) continue;
      ops.push({ op, live });
    }
  }
  if (ops.length === 0) return;

  // Blocks, either way, asked once per recipient for all of the batch's actors.
  const actorsOf = new Map<bigint, Set<bigint>>();
  for (const { op } of ops) {
    if (op.kind !== "add") continue;
    const set = actorsOf.get(op.action.recipientId) ?? new Set();
    set.add(op.action.actorId);
    actorsOf.set(op.action.recipientId, set);
  }
  // Answers are remembered for BLOCK_CACHE_MS; a batch with a block forgets them all first.
  const cache = deps.blockCache;
  if (cache && ops.some(({ op }) => op.kind === "block")) cache.clear();
  const blocked = new Map<bigint, Set<bigint>>();
  // The recipients' preferences and mutes, read while the blocks are asked (outside the batch's
  // transaction, on another connection: two round trips fewer inside it).
  const adds = ops.flatMap(({ op }) => (op.kind === "add" ? [op.action] : []));
  const wants = new Map<Action, { keep: boolean; push: boolean }>();
  const wantsRead = deps.store.wantsAll(deps.db, adds).then((w) => adds.forEach((a, i) => wants.set(a, w[i]!)));
  await Promise.all([
    wantsRead,
    ...[...actorsOf].map(async ([recipient, actors]) => {
      const out = new Set<bigint>();
      const ask: bigint[] = [];
      for (const a of actors) {
        const hit = cache?.get(`${recipient}:${a}`);
        if (hit && hit.until > now) {
          if (hit.blocked) out.add(a);
        } else ask.push(a);
      }
      if (ask.length) {
        const found = await deps.blockedAmong(recipient, ask);
        for (const a of ask) {
          if (found.has(a)) out.add(a);
          cache?.set(`${recipient}:${a}`, { blocked: found.has(a), until: now + BLOCK_CACHE_MS });
        }
        if (cache && cache.size > BLOCK_CACHE_MAX) cache.clear();
      }
      blocked.set(recipient, out);
    }),
  ]);

  const changed = new Map<string, { t: Touched; live: boolean; push: boolean }>();
  const note = (t: Touched | undefined, live: boolean, push = false) => {
    if (!t) return;
    const key = `${t.recipientId}:${t.row.id}`;
    const prev = changed.get(key);
    changed.set(key, {
      t: { ...t, grew: t.grew || (prev?.t.grew ?? false) },
      live: live || (prev?.live ?? false),
      push: push || (prev?.push ?? false),
    });
  };
  await deps.db.transaction(async (tx) => {
    // Runs of adds are written together (store.addMany); anything else writes the run first.
    let run: { action: Action; live: boolean }[] = [];
    const flushRun = async () => {
      if (run.length === 0) return;
      const wanted = run.map((r) => wants.get(r.action)!);
      const kept = run.filter((_, i) => wanted[i]!.keep);
      const push = wanted.filter((w) => w.keep).map((w) => w.push);
      const touched = await deps.store.addMany(
        tx,
        kept.map((r) => r.action),
      );
      touched.forEach((t, i) => note(t, kept[i]!.live, push[i]));
      run = [];
    };
    for (const { op, live } of ops) {
      if (op.kind === "add") {
        if (!blocked.get(op.action.recipientId)?.has(op.action.actorId)) run.push({ action: op.action, live });
        continue;
      }
      await flushRun();
      switch (op.kind) {
        case "remove":
          note(await deps.store.remove(tx, op.recipientId, op.sourceKey), live);
          break;
        case "block":
          for (const t of await deps.store.removeActor(tx, op.a, op.b)) note(t, live);
          for (const t of await deps.store.removeActor(tx, op.b, op.a)) note(t, live);
          break;
        case "target":
          for (const t of await deps.store.removeTarget(tx, op.postId, op.commentId)) note(t, live);
          break;
        case "hidden":
          for (const t of op.what === "post"
            ? await deps.store.hidePost(tx, op.id)
            : await deps.store.hideComment(tx, op.id))
            note(t, live);
          break;
        case "unhidden":
        case "unsuspended": {
          // Back as they were (preferences and mutes as they are now); to connected devices, never to mobile ones.
          const back =
            op.kind === "unhidden"
              ? await deps.store.unhide(tx, op.what, op.id)
              : await deps.store.unhide(tx, "actor", op.userId);
          const wanted = await deps.store.wantsAll(tx, back);
          for (const t of await deps.store.restore(
            tx,
            back.filter((_, i) => wanted[i]!.keep),
          ))
            note(t, live);
          break;
        }
        case "suspended":
          for (const t of await deps.store.suspendActor(tx, op.userId)) note(t, live);
          break;
      }
    }
    await flushRun();
    const live = [...changed.values()].filter((c) => c.live);
    if (live.length) await deps.delivery.groupsChanged(tx, live);
  });
}
