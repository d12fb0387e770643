/**
 * The notification projection: items (one per action, keyed by what the
 * action was, so a redelivered or replayed event finds its row and counts
 * nothing twice) folded into groups the way Mastodon 4.3 folds them: same
 * type and target, and the group's window (from the hour of its first
 * notification, `windowMs` long, 12 h in Mastodon) not over. Mentions are
 * never grouped. Counts are the number of items; the latest actors are kept
 * in the group row, newest first, each once.
 *
 * Every write happens in the caller's transaction (the consumer applies a
 * whole batch in one), and one consumer at a time writes (the event bus's
 * lease), so a group's count is exact however many likes arrive at once.
 */
import { create } from "@bufbuild/protobuf";
import {
  NotificationGroupSchema,
  NotificationType,
  type NotificationGroup,
} from "../../gen/orbit/notify/v1/notify_pb.js";
import {
  NotificationGroupRowDao,
  NotificationGroupRowTable,
  NotificationItemRowDao,
  NotificationItemRowTable,
  NotificationMarkerRowDao,
  NotificationMuteRowDao,
  NotificationPrefRowDao,
} from "../../gen/orbit/notify/v1/tables_db.js";
import type { NotificationGroupRow } from "../../gen/orbit/notify/v1/tables_pb.js";
import type { IdGenerator } from "../../platform/ids.js";
import type { SqlExecutor } from "../../platform/storage/driver.js";
import { toBigInt } from "../../platform/storage/sql/convert.js";
import { quoteIdent } from "../../platform/storage/sql/query.js";

/** Latest actors kept per group. */
export const LATEST_ACTORS = 8;
const HOUR_MS = 3_600_000;

/** One action that notifies `recipientId`. */
export interface Action {
  readonly recipientId: bigint;
  readonly actorId: bigint;
  readonly type: NotificationType;
  /** The post, or 0 (follow). */
  readonly targetId: bigint;
  /** A mention in a comment: the comment. */
  readonly commentId: bigint;
  /** What the action was: "like:<post>:<user>", "comment:<id>", "follow:<user>", "mention:<post>:<comment>". */
  readonly sourceKey: string;
  readonly atMs: bigint;
  readonly eventId: bigint;
}

/** A group that an apply or a removal changed (for delivery). */
export interface Touched {
  readonly recipientId: bigint;
  readonly row: NotificationGroupRow;
  /** The group is gone (its last notification was undone). */
  readonly removed: boolean;
  /** It gained a notification (push to mobile devices). */
  readonly grew: boolean;
}

export function kindKey(a: Pick<Action, "type" | "targetId" | "commentId">): string {
  return a.type === NotificationType.MENTION
    ? `mention:${a.targetId}:${a.commentId}`
    : `${NotificationType[a.type]!.toLowerCase()}:${a.targetId}`;
}

export function toGroup(row: NotificationGroupRow, readUpToMs: bigint): NotificationGroup {
  return create(NotificationGroupSchema, {
    type: row.type as NotificationType,
    targetId: row.targetId,
    count: row.count,
    latestActorIds: row.latestActorIds,
    latestAtMs: row.latestAtMs,
    read: row.latestAtMs <= readUpToMs,
    groupId: row.id,
    firstAtMs: row.firstAtMs,
    commentId: row.commentId,
  });
}

export class NotificationStore {
  constructor(
    private readonly ids: IdGenerator,
    private readonly windowMs: number,
  ) {}

  /**
   * Records `a` unless it is already recorded; returns the group it joined or
   * opened, or undefined when nothing changed (a redelivery or a replay).
   */
  async add(tx: SqlExecutor, a: Action): Promise<Touched | undefined> {
    const items = new NotificationItemRowDao(tx);
    if (await items.get({ recipientId: a.recipientId, sourceKey: a.sourceKey })) return undefined;
    const groups = new NotificationGroupRowDao(tx);
    const kind = kindKey(a);
    const grouped = a.type !== NotificationType.MENTION;
    const last = (
      await groups.listByRecipientIdKindKey({ recipientId: a.recipientId, kindKey: kind }, { limit: 1, order: "desc" })
    ).rows[0];
    let row: NotificationGroupRow;
    if (last && (!grouped || a.atMs < last.bucketStartMs + BigInt(this.windowMs))) {
      row = {
        ...last,
        count: last.count + 1n,
        latestActorIds: [a.actorId, ...last.latestActorIds.filter((x) => x !== a.actorId)].slice(0, LATEST_ACTORS),
        firstAtMs: a.atMs < last.firstAtMs ? a.atMs : last.firstAtMs,
        latestAtMs: a.atMs > last.latestAtMs ? a.atMs : last.latestAtMs,
      };
      await groups.update(
        { recipientId: row.recipientId, id: row.id },
        {
          count: row.count,
          latestActorIds: row.latestActorIds,
          firstAtMs: row.firstAtMs,
          latestAtMs: row.latestAtMs,
        },
      );
    } else {
      row = {
        $typeName: "orbit.notify.v1.NotificationGroupRow",
        recipientId: a.recipientId,
        id: this.ids.next(),
        kindKey: kind,
        bucketStartMs: grouped ? (a.atMs / BigInt(HOUR_MS)) * BigInt(HOUR_MS) : a.atMs,
        type: a.type,
        targetId: a.targetId,
        commentId: a.commentId,
        count: 1n,
        latestActorIds: [a.actorId],
        firstAtMs: a.atMs,
        latestAtMs: a.atMs,
      };
      await groups.insert(row);
    }
    await items.insert({
      recipientId: a.recipientId,
      sourceKey: a.sourceKey,
      groupId: row.id,
      actorId: a.actorId,
      atMs: a.atMs,
      eventId: a.eventId,
    });
    return { recipientId: a.recipientId, row, removed: false, grew: true };
  }

  /** Takes back the notification `sourceKey` of `recipientId`, if there is one. */
  async remove(tx: SqlExecutor, recipientId: bigint, sourceKey: string): Promise<Touched | undefined> {
    const items = new NotificationItemRowDao(tx);
    const item = await items.get({ recipientId, sourceKey });
    if (!item) return undefined;
    await items.delete({ recipientId, sourceKey });
    return this.refresh(tx, recipientId, item.groupId);
  }

  /** Recomputes a group from its items after some were deleted; deletes it when none are left. */
  private async refresh(tx: SqlExecutor, recipientId: bigint, groupId: bigint): Promise<Touched | undefined> {
    const groups = new NotificationGroupRowDao(tx);
    const items = new NotificationItemRowDao(tx);
    const group = await groups.get({ recipientId, id: groupId });
    if (!group) return undefined;
    const count = BigInt(await items.countByRecipientIdGroupId({ recipientId, groupId }));
    if (count === 0n) {
      await groups.delete({ recipientId, id: groupId });
      return { recipientId, row: group, removed: true, grew: false };
    }
    const newest = await items.listByRecipientIdGroupId({ recipientId, groupId }, { limit: 100, order: "desc" });
    const actors: bigint[] = [];
    for (const it of newest.rows) {
      if (!actors.includes(it.actorId)) actors.push(it.actorId);
      if (actors.length === LATEST_ACTORS) break;
    }
    const row: NotificationGroupRow = {
      ...group,
      count,
      latestActorIds: actors,
      latestAtMs: newest.rows[0]!.atMs,
    };
    await groups.update(
      { recipientId, id: groupId },
      { count: row.count, latestActorIds: row.latestActorIds, latestAtMs: row.latestAtMs },
    );
    return { recipientId, row, removed: false, grew: false };
  }

  /** Deletes what `actorId` did to `recipientId` (a block). */
  async removeActor(tx: SqlExecutor, recipientId: bigint, actorId: bigint): Promise<Touched[]> {
    const q = (n: string) => quoteIdent(n, tx.dialect);
    const rows = await tx.allValues(
      `SELECT ${q("source_key")}, ${q("group_id")} FROM ${q(NotificationItemRowTable.name)} WHERE ${q("recipient_id")} = ? AND ${q("actor_id")} = ?`,
      [recipientId, actorId],
    );
    const items = new NotificationItemRowDao(tx);
    const affected = new Set<bigint>();
    for (const r of rows) {
      await items.delete({ recipientId, sourceKey: String(r[0]) });
      affected.add(toBigInt(r[1]));
    }
    const out: Touched[] = [];
    for (const g of affected) {
      const t = await this.refresh(tx, recipientId, g);
      if (t) out.push(t);
    }
    return out;
  }

  /** Deletes every group about post `postId` (comment 0: all of them; else the mentions of that comment). */
  async removeTarget(tx: SqlExecutor, postId: bigint, commentId?: bigint): Promise<Touched[]> {
    const q = (n: string) => quoteIdent(n, tx.dialect);
    const t = q(NotificationGroupRowTable.name);
    const rows =
      commentId === undefined
        ? await tx.allValues(`SELECT ${q("recipient_id")}, ${q("id")} FROM ${t} WHERE ${q("target_id")} = ?`, [postId])
        : await tx.allValues(
            `SELECT ${q("recipient_id")}, ${q("id")} FROM ${t} WHERE ${q("target_id")} = ? AND ${q("comment_id")} = ?`,
            [postId, commentId],
          );
    const groups = new NotificationGroupRowDao(tx);
    const items = new NotificationItemRowDao(tx);
    const out: Touched[] = [];
    for (const r of rows) {
      const recipientId = toBigInt(r[0]);
      const id = toBigInt(r[1]);
      const group = await groups.get({ recipientId, id });
      if (!group) continue;
      if (group.targetId !== postId || group.type === NotificationType.FOLLOW) continue;
      for (;;) {
        const page = await items.listByRecipientIdGroupId({ recipientId, groupId: id }, { limit: 1000 });
        for (const it of page.rows) await items.delete({ recipientId, sourceKey: it.sourceKey });
        if (!page.nextPageToken) break;
      }
      await groups.delete({ recipientId, id });
      out.push({ recipientId, row: group, removed: true, grew: false });
    }
    return out;
  }

  // --- reads ---------------------------------------------------------------

  async marker(db: SqlExecutor, userId: bigint): Promise<bigint> {
    return (await new NotificationMarkerRowDao(db).get({ userId }))?.readUpToMs ?? 0n;
  }

  /** Moves the read marker forward to `upToMs` (never back); returns where it is. */
  async markRead(db: SqlExecutor, userId: bigint, upToMs: bigint): Promise<bigint> {
    const markers = new NotificationMarkerRowDao(db);
    if (!(await markers.insertIfAbsent({ userId, readUpToMs: upToMs }))) {
      const q = (n: string) => quoteIdent(n, db.dialect);
      await db.run(
        `UPDATE ${q("notify_markers")} SET ${q("read_up_to_ms")} = ? WHERE ${q("user_id")} = ? AND ${q("read_up_to_ms")} < ?`,
        [upToMs, userId, upToMs],
      );
    }
    return this.marker(db, userId);
  }

  /** Groups whose latest notification is after the marker (an index range count). */
  async unreadCount(db: SqlExecutor, userId: bigint, marker: bigint): Promise<bigint> {
    const q = (n: string) => quoteIdent(n, db.dialect);
    const r = await db.allValues(
      `SELECT COUNT(*) FROM ${q(NotificationGroupRowTable.name)} WHERE ${q("recipient_id")} = ? AND ${q("latest_at_ms")} > ?`,
      [userId, marker],
    );
    return toBigInt(r[0]![0]);
  }

  async page(
    db: SqlExecutor,
    userId: bigint,
    limit: number,
    pageToken: string,
  ): Promise<{ rows: NotificationGroupRow[]; nextPageToken: string }> {
    return new NotificationGroupRowDao(db).listByRecipientIdOrderByLatestAtMs(
      { recipientId: userId },
      { limit, pageToken, order: "desc" },
    );
  }

  // --- preferences ---------------------------------------------------------

  /** Whether `a` is wanted by its recipient (type enabled, actor not muted), and whether to push it. */
  async wants(db: SqlExecutor, a: Action): Promise<{ keep: boolean; push: boolean }> {
    const pref = await new NotificationPrefRowDao(db).get({ userId: a.recipientId, type: a.type });
    if (pref && !pref.enabled) return { keep: false, push: false };
    if (await new NotificationMuteRowDao(db).get({ userId: a.recipientId, mutedId: a.actorId })) {
      return { keep: false, push: false };
    }
    return { keep: true, push: pref?.push ?? true };
  }
}
