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
import { ScalarType, create } from "@bufbuild/protobuf";
import {
  NotificationGroupSchema,
  NotificationType,
  type NotificationGroup,
} from "../../gen/orbit/notify/v1/notify_pb.js";
import {
  NotificationGroupRowDao,
  NotificationGroupRowTable,
  NotificationHiddenRowDao,
  NotificationHiddenRowTable,
  NotificationItemRowDao,
  NotificationItemRowTable,
  NotificationMarkerRowDao,
  NotificationMuteRowDao,
  NotificationMuteRowTable,
  NotificationPrefRowDao,
  NotificationPrefRowTable,
} from "../../gen/orbit/notify/v1/tables_db.js";
import type { NotificationGroupRow } from "../../gen/orbit/notify/v1/tables_pb.js";
import type { NotificationHiddenRowInit, NotificationItemRowInit } from "../../gen/orbit/notify/v1/tables_db.js";
import type { IdGenerator } from "../../platform/ids.js";
import type { SqlExecutor } from "../../platform/storage/driver.js";
import { toBigInt, toBool, toBytes, toNumber, toText } from "../../platform/storage/sql/convert.js";
import { decodeRepeated } from "../../platform/storage/sql/repeated.js";
import { inLists, quoteIdent } from "../../platform/storage/sql/query.js";

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

/** Which hide holds a notification out of the list (notify_hidden.hidden, a bit each). */
export const HIDDEN_BY_POST = 1;
export const HIDDEN_BY_COMMENT = 2;
/** The actor's account is suspended (moderation.account_suspended; unsuspending brings them back). */
export const HIDDEN_BY_SUSPENSION = 4;
const HIDDEN_ALL = HIDDEN_BY_POST | HIDDEN_BY_COMMENT | HIDDEN_BY_SUSPENSION;

/** The comment a notification is about: a comment's own, a mention's in a comment; 0 for the rest. */
function aboutComment(sourceKey: string, type: number, commentId: bigint): bigint {
  if (sourceKey.startsWith("comment:")) return BigInt(sourceKey.slice("comment:".length));
  return type === NotificationType.MENTION ? commentId : 0n;
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

/** The columns of notify_groups in the generated row's order, for the hand-written reads below. */
const GROUP_COLUMNS = [
  "recipient_id",
  "id",
  "kind_key",
  "bucket_start_ms",
  "type",
  "target_id",
  "comment_id",
  "count",
  "latest_actor_ids",
  "first_at_ms",
  "latest_at_ms",
] as const;

/** A group row from GROUP_COLUMNS' values (as the generated DAO decodes it; the store test checks both agree). */
export function groupFromValues(r: readonly unknown[]): NotificationGroupRow {
  return {
    $typeName: "orbit.notify.v1.NotificationGroupRow",
    recipientId: toBigInt(r[0]),
    id: toBigInt(r[1]),
    kindKey: toText(r[2]),
    bucketStartMs: toBigInt(r[3]),
    type: toNumber(r[4]),
    targetId: toBigInt(r[5]),
    commentId: toBigInt(r[6]),
    count: toBigInt(r[7]),
    latestActorIds:
      r[8] == null || (r[8] as Uint8Array).length === 0
        ? []
        : decodeRepeated<bigint>(toBytes(r[8]), 9, ScalarType.INT64),
    firstAtMs: toBigInt(r[9]),
    latestAtMs: toBigInt(r[10]),
  };
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
    return (await this.addMany(tx, [a]))[0];
  }

  /**
   * Records many actions in order, as `add` would one by one, in a handful of
   * statements: one read of which are recorded already, one read of the
   * latest group per (recipient, type, target), one multi-row INSERT of the
   * new items, and the groups they changed written once each, in multi-row
   * statements. A like costs about one row written, whatever its group's size.
   */
  async addMany(tx: SqlExecutor, actions: readonly Action[]): Promise<(Touched | undefined)[]> {
    if (actions.length === 0) return [];
    const q = (n: string) => quoteIdent(n, tx.dialect);
    const seen = new Set<string>();
    for (const { list, items } of inLists(
      actions.map((a) => [a.recipientId, a.sourceKey] as const),
      "(?, ?)",
    )) {
      const rows = await tx.allValues(
        `SELECT ${q("recipient_id")}, ${q("source_key")} FROM ${q(NotificationItemRowTable.name)} WHERE (${q("recipient_id")}, ${q("source_key")}) IN ${list}`,
        items.flat(),
      );
      for (const r of rows) seen.add(`${toBigInt(r[0])}:${String(r[1])}`);
    }
    const groups = new NotificationGroupRowDao(tx);
    const latest = await this.latestGroups(
      tx,
      actions.filter((a) => a.type !== NotificationType.MENTION && !seen.has(`${a.recipientId}:${a.sourceKey}`)),
    );
    const dirty = new Map<bigint, { row: NotificationGroupRow; isNew: boolean }>();
    const newItems: NotificationItemRowInit[] = [];
    const out: (Touched | undefined)[] = [];
    for (const a of actions) {
      const itemKey = `${a.recipientId}:${a.sourceKey}`;
      if (seen.has(itemKey)) {
        out.push(undefined);
        continue;
      }
      seen.add(itemKey);
      const kind = kindKey(a);
      const grouped = a.type !== NotificationType.MENTION;
      const cacheKey = `${a.recipientId}:${kind}`;
      const last = grouped ? latest.get(cacheKey) : undefined;
      let row: NotificationGroupRow;
      let isNew = false;
      if (grouped && last && a.atMs < last.bucketStartMs + BigInt(this.windowMs)) {
        row = {
          ...last,
          count: last.count + 1n,
          latestActorIds: [a.actorId, ...last.latestActorIds.filter((x) => x !== a.actorId)].slice(0, LATEST_ACTORS),
          firstAtMs: a.atMs < last.firstAtMs ? a.atMs : last.firstAtMs,
          latestAtMs: a.atMs > last.latestAtMs ? a.atMs : last.latestAtMs,
        };
      } else {
        isNew = true;
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
      }
      latest.set(cacheKey, row);
      dirty.set(row.id, { row, isNew: isNew || (dirty.get(row.id)?.isNew ?? false) });
      newItems.push({
        recipientId: a.recipientId,
        sourceKey: a.sourceKey,
        groupId: row.id,
        actorId: a.actorId,
        atMs: a.atMs,
        eventId: a.eventId,
      });
      out.push({ recipientId: a.recipientId, row, removed: false, grew: true });
    }
    if (newItems.length) await new NotificationItemRowDao(tx).insertMany(newItems);
    const fresh = [...dirty.values()].filter((d) => d.isNew).map((d) => d.row);
    const changed = [...dirty.values()].filter((d) => !d.isNew).map((d) => d.row);
    if (fresh.length) await groups.insertMany(fresh);
    if (changed.length) await groups.upsertMany(changed);
    return out;
  }

  /**
   * The latest group of each (recipient, kind) of `actions` whose window may
   * still be open, keyed "recipient:kind": one query for them all (padded
   * (recipient, kind) lists; a round trip per recipient was most of a batch's
   * time on a busy MariaDB).
   */
  private async latestGroups(
    tx: SqlExecutor,
    actions: readonly Action[],
  ): Promise<Map<string, NotificationGroupRow | undefined>> {
    const out = new Map<string, NotificationGroupRow | undefined>();
    if (actions.length === 0) return out;
    const pairs = new Map<string, readonly [bigint, string]>();
    let minAt = actions[0]!.atMs;
    for (const a of actions) {
      const kind = kindKey(a);
      pairs.set(`${a.recipientId}:${kind}`, [a.recipientId, kind]);
      if (a.atMs < minAt) minAt = a.atMs;
    }
    const q = (n: string) => quoteIdent(n, tx.dialect);
    const head = `SELECT ${GROUP_COLUMNS.map(q).join(", ")} FROM ${q(NotificationGroupRowTable.name)} WHERE ${q("bucket_start_ms")} > ? AND (${q("recipient_id")}, ${q("kind_key")}) IN`;
    for (const { list, items } of inLists([...pairs.values()], "(?, ?)")) {
      for (const v of await tx.allValues(`${head} ${list}`, [minAt - BigInt(this.windowMs), ...items.flat()])) {
        const row = groupFromValues(v);
        const key = `${row.recipientId}:${row.kindKey}`;
        const prev = out.get(key);
        if (!prev || row.bucketStartMs > prev.bucketStartMs) out.set(key, row);
      }
    }
    return out;
  }

  /** Takes back the notification `sourceKey` of `recipientId`, if there is one. */
  async remove(tx: SqlExecutor, recipientId: bigint, sourceKey: string): Promise<Touched | undefined> {
    const items = new NotificationItemRowDao(tx);
    const item = await items.get({ recipientId, sourceKey });
    if (!item) {
      // Undone while a moderator's hide held it out of the list: it does not come back with the unhide.
      await new NotificationHiddenRowDao(tx).delete({ recipientId, sourceKey });
      return undefined;
    }
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
    await tx.run(
      `DELETE FROM ${q(NotificationHiddenRowTable.name)} WHERE ${q("recipient_id")} = ? AND ${q("actor_id")} = ?`,
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

  /**
   * Deletes every group about post `postId` (a deleted post; with `commentId`,
   * the mentions made in that deleted comment), and the notifications about
   * them that a hide holds (they will not come back).
   */
  async removeTarget(tx: SqlExecutor, postId: bigint, commentId?: bigint): Promise<Touched[]> {
    const q = (n: string) => quoteIdent(n, tx.dialect);
    await tx.run(
      `DELETE FROM ${q(NotificationHiddenRowTable.name)} WHERE ${q(commentId === undefined ? "target_id" : "about_comment_id")} = ?`,
      [commentId ?? postId],
    );
    return commentId === undefined
      ? this.removeGroups(tx, "target_id = ?", [postId])
      : this.removeGroups(tx, "target_id = ? AND comment_id = ?", [postId, commentId]);
  }

  /**
   * A moderator hid post `postId`: every group about it leaves the list, its
   * notifications kept in notify_hidden (with those a hidden comment of the
   * post already holds there) until unhide() puts them back.
   */
  async hidePost(tx: SqlExecutor, postId: bigint): Promise<Touched[]> {
    await this.markHidden(tx, "target_id", postId, HIDDEN_BY_POST);
    return this.removeGroups(tx, "target_id = ?", [postId], HIDDEN_BY_POST);
  }

  /** A moderator hid comment `commentId`: its notification and the mentions made in it leave the list, kept as hidePost keeps them. */
  async hideComment(tx: SqlExecutor, commentId: bigint): Promise<Touched[]> {
    await this.markHidden(tx, "about_comment_id", commentId, HIDDEN_BY_COMMENT);
    return [
      ...(await this.removeItemsWhere(tx, "source_key", `comment:${commentId}`, HIDDEN_BY_COMMENT)),
      ...(await this.removeGroups(
        tx,
        "comment_id = ? AND type = ?",
        [commentId, NotificationType.MENTION],
        HIDDEN_BY_COMMENT,
      )),
    ];
  }

  private async markHidden(tx: SqlExecutor, column: string, id: bigint, bit: number): Promise<void> {
    const q = (n: string) => quoteIdent(n, tx.dialect);
    await tx.run(
      `UPDATE ${q(NotificationHiddenRowTable.name)} SET ${q("hidden")} = ${q("hidden")} | ? WHERE ${q(column)} = ?`,
      [bit, id],
    );
  }

  /**
   * A moderator undid the hide of a post or a comment, or the suspension of an
   * account ("actor"): the notifications it held that no other hide holds leave
   * notify_hidden and are returned, to be
   * added again (the caller's addMany, as they were: actors, times, source
   * keys). Nothing held: nothing returned, so a second unhide changes nothing.
   */
  async unhide(tx: SqlExecutor, kind: "post" | "comment" | "actor", id: bigint): Promise<Action[]> {
    const q = (n: string) => quoteIdent(n, tx.dialect);
    const table = q(NotificationHiddenRowTable.name);
    const column = q(kind === "post" ? "target_id" : kind === "comment" ? "about_comment_id" : "actor_id");
    const bit = kind === "post" ? HIDDEN_BY_POST : kind === "comment" ? HIDDEN_BY_COMMENT : HIDDEN_BY_SUSPENSION;
    const keep = HIDDEN_ALL & ~bit;
    await tx.run(`UPDATE ${table} SET ${q("hidden")} = ${q("hidden")} & ? WHERE ${column} = ?`, [keep, id]);
    const rows = await tx.allValues(
      `SELECT ${["recipient_id", "source_key", "actor_id", "type", "target_id", "comment_id", "at_ms", "event_id"].map(q).join(", ")} FROM ${table} WHERE ${column} = ? AND ${q("hidden")} = 0`,
      [id],
    );
    const hidden = new NotificationHiddenRowDao(tx);
    const out: Action[] = [];
    for (const r of rows) {
      const a: Action = {
        recipientId: toBigInt(r[0]),
        sourceKey: toText(r[1]),
        actorId: toBigInt(r[2]),
        type: toNumber(r[3]) as NotificationType,
        targetId: toBigInt(r[4]),
        commentId: toBigInt(r[5]),
        atMs: toBigInt(r[6]),
        eventId: toBigInt(r[7]),
      };
      await hidden.delete({ recipientId: a.recipientId, sourceKey: a.sourceKey });
      out.push(a);
    }
    // In time order, so that they regroup as they were grouped.
    return out.sort((a, b) => (a.atMs < b.atMs ? -1 : a.atMs > b.atMs ? 1 : 0));
  }

  /**
   * Adds back what unhide() returned: as addMany, then each group it joined
   * recomputed from its items (they are older than what the group got since,
   * so its latest actors are reordered by time).
   */
  async restore(tx: SqlExecutor, actions: readonly Action[]): Promise<Touched[]> {
    const touched = await this.addMany(tx, actions);
    const groups = new Map<string, [bigint, bigint]>();
    for (const t of touched) if (t) groups.set(`${t.recipientId}:${t.row.id}`, [t.recipientId, t.row.id]);
    const out: Touched[] = [];
    for (const [recipientId, groupId] of groups.values()) {
      const t = await this.refresh(tx, recipientId, groupId);
      if (t) out.push(t);
    }
    return out;
  }

  /** Keeps what a hide took out of the list (upserts: a hide applied again finds its rows). */
  private async keepHidden(tx: SqlExecutor, rows: readonly NotificationHiddenRowInit[]): Promise<void> {
    if (rows.length) await new NotificationHiddenRowDao(tx).upsertMany(rows);
  }

  private hiddenRow(
    group: NotificationGroupRow,
    item: { sourceKey: string; actorId: bigint; atMs: bigint; eventId: bigint },
    hidden: number,
  ): NotificationHiddenRowInit {
    return {
      recipientId: group.recipientId,
      sourceKey: item.sourceKey,
      actorId: item.actorId,
      type: group.type,
      targetId: group.targetId,
      commentId: group.commentId,
      aboutCommentId: aboutComment(item.sourceKey, group.type, group.commentId),
      atMs: item.atMs,
      eventId: item.eventId,
      hidden,
    };
  }

  /**
   * Deletes the groups matching `where` (columns of notify_groups, `?`
   * parameters) and their items; never follows. With `hide`, the items are
   * kept in notify_hidden, held by that hide.
   */
  private async removeGroups(
    tx: SqlExecutor,
    where: string,
    params: readonly (bigint | number)[],
    hide?: number,
  ): Promise<Touched[]> {
    const q = (n: string) => quoteIdent(n, tx.dialect);
    const cond = where.replace(/[a-z_]+(?= [=<>])/g, (c) => q(c));
    const rows = await tx.allValues(
      `SELECT ${q("recipient_id")}, ${q("id")} FROM ${q(NotificationGroupRowTable.name)} WHERE ${cond}`,
      params,
    );
    const groups = new NotificationGroupRowDao(tx);
    const items = new NotificationItemRowDao(tx);
    const out: Touched[] = [];
    for (const r of rows) {
      const recipientId = toBigInt(r[0]);
      const id = toBigInt(r[1]);
      const group = await groups.get({ recipientId, id });
      if (!group || group.type === NotificationType.FOLLOW) continue;
      for (;;) {
        const page = await items.listByRecipientIdGroupId({ recipientId, groupId: id }, { limit: 1000 });
        if (hide !== undefined)
          await this.keepHidden(
            tx,
            page.rows.map((it) => this.hiddenRow(group, it, hide)),
          );
        for (const it of page.rows) await items.delete({ recipientId, sourceKey: it.sourceKey });
        if (!page.nextPageToken) break;
      }
      await groups.delete({ recipientId, id });
      out.push({ recipientId, row: group, removed: true, grew: false });
    }
    return out;
  }

  /**
   * A suspended account: everything `actorId` did, to anyone, leaves the list, kept in
   * notify_hidden held by the suspension (with what hides already hold of it) until
   * unhide("actor") puts it back on unsuspension.
   */
  async suspendActor(tx: SqlExecutor, actorId: bigint): Promise<Touched[]> {
    await this.markHidden(tx, "actor_id", actorId, HIDDEN_BY_SUSPENSION);
    return this.removeItemsWhere(tx, "actor_id", actorId, HIDDEN_BY_SUSPENSION);
  }

  /** Deletes the items whose `column` is `value`; with `hide`, keeps them in notify_hidden held by that hide. */
  private async removeItemsWhere(
    tx: SqlExecutor,
    column: string,
    value: bigint | string,
    hide?: number,
  ): Promise<Touched[]> {
    const q = (n: string) => quoteIdent(n, tx.dialect);
    const rows = await tx.allValues(
      `SELECT ${q("recipient_id")}, ${q("source_key")}, ${q("group_id")}, ${q("actor_id")}, ${q("at_ms")}, ${q("event_id")} FROM ${q(NotificationItemRowTable.name)} WHERE ${q(column)} = ?`,
      [value],
    );
    const items = new NotificationItemRowDao(tx);
    const groups = new NotificationGroupRowDao(tx);
    const affected = new Map<string, [bigint, bigint]>();
    for (const r of rows) {
      const recipientId = toBigInt(r[0]);
      const sourceKey = toText(r[1]);
      const groupId = toBigInt(r[2]);
      if (hide !== undefined) {
        const group = await groups.get({ recipientId, id: groupId });
        if (group) {
          const item = { sourceKey, actorId: toBigInt(r[3]), atMs: toBigInt(r[4]), eventId: toBigInt(r[5]) };
          await this.keepHidden(tx, [this.hiddenRow(group, item, hide)]);
        }
      }
      await items.delete({ recipientId, sourceKey });
      affected.set(`${recipientId}:${groupId}`, [recipientId, groupId]);
    }
    const out: Touched[] = [];
    for (const [recipientId, groupId] of affected.values()) {
      const t = await this.refresh(tx, recipientId, groupId);
      if (t) out.push(t);
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

  /** Markers and unread counts of many users, in two queries. */
  async states(db: SqlExecutor, userIds: readonly bigint[]): Promise<Map<bigint, { marker: bigint; unread: bigint }>> {
    const q = (n: string) => quoteIdent(n, db.dialect);
    const out = new Map<bigint, { marker: bigint; unread: bigint }>(
      userIds.map((u) => [u, { marker: 0n, unread: 0n }]),
    );
    for (const { list, items } of inLists([...out.keys()])) {
      for (const r of await db.allValues(
        `SELECT ${q("user_id")}, ${q("read_up_to_ms")} FROM ${q("notify_markers")} WHERE ${q("user_id")} IN ${list}`,
        items,
      )) {
        out.get(toBigInt(r[0]))!.marker = toBigInt(r[1]);
      }
      for (const r of await db.allValues(
        `SELECT g.${q("recipient_id")}, COUNT(*) FROM ${q(NotificationGroupRowTable.name)} g LEFT JOIN ${q("notify_markers")} m ON m.${q("user_id")} = g.${q("recipient_id")} WHERE g.${q("recipient_id")} IN ${list} AND g.${q("latest_at_ms")} > COALESCE(m.${q("read_up_to_ms")}, 0) GROUP BY g.${q("recipient_id")}`,
        items,
      )) {
        out.get(toBigInt(r[0]))!.unread = toBigInt(r[1]);
      }
    }
    return out;
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

  /**
   * Whether each action is wanted by its recipient (type enabled, actor not
   * muted) and whether to push it: the recipients' preferences in one query,
   * the (recipient, actor) pairs that are muted in one more.
   */
  async wantsAll(db: SqlExecutor, actions: readonly Action[]): Promise<{ keep: boolean; push: boolean }[]> {
    const q = (n: string) => quoteIdent(n, db.dialect);
    const recipients = [...new Set(actions.map((a) => a.recipientId))];
    const prefs = new Map<string, { enabled: boolean; push: boolean }>();
    for (const { list, items } of inLists(recipients)) {
      const rows = await db.allValues(
        `SELECT ${q("user_id")}, ${q("type")}, ${q("enabled")}, ${q("push")} FROM ${q(NotificationPrefRowTable.name)} WHERE ${q("user_id")} IN ${list}`,
        items,
      );
      for (const r of rows)
        prefs.set(`${toBigInt(r[0])}:${toNumber(r[1])}`, { enabled: toBool(r[2]), push: toBool(r[3]) });
    }
    const pairs = new Map<string, readonly [bigint, bigint]>();
    for (const a of actions) pairs.set(`${a.recipientId}:${a.actorId}`, [a.recipientId, a.actorId]);
    const muted = new Set<string>();
    for (const { list, items } of inLists([...pairs.values()], "(?, ?)")) {
      const rows = await db.allValues(
        `SELECT ${q("user_id")}, ${q("muted_id")} FROM ${q(NotificationMuteRowTable.name)} WHERE (${q("user_id")}, ${q("muted_id")}) IN ${list}`,
        items.flat(),
      );
      for (const r of rows) muted.add(`${toBigInt(r[0])}:${toBigInt(r[1])}`);
    }
    return actions.map((a) => {
      const pref = prefs.get(`${a.recipientId}:${a.type}`);
      if ((pref && !pref.enabled) || muted.has(`${a.recipientId}:${a.actorId}`)) return { keep: false, push: false };
      return { keep: true, push: pref?.push ?? true };
    });
  }
}
