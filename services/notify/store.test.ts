/**
 * The notification projection on both engines: Mastodon's windows (a group
 * takes notifications for 12 h from the hour of its first), mentions never
 * grouped, the same action twice counted once, undo recomputing the latest
 * actors, and the unread count against the marker.
 */
import { afterEach, describe, expect, it } from "vitest";
import { NotificationType } from "../../gen/orbit/notify/v1/notify_pb.js";
import {
  NotificationGroupRowDao,
  NotificationGroupRowTable,
  NotificationHiddenRowTable,
  NotificationItemRowTable,
  NotificationMarkerRowTable,
  NotificationMuteRowTable,
  NotificationPrefRowTable,
} from "../../gen/orbit/notify/v1/tables_db.js";
import { IdGenerator } from "../../platform/ids.js";
import { runMigrations } from "../../platform/kernel/migrate.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { type Action, groupFromValues, NotificationStore } from "./store.js";

const H = 3_600_000n;
const T0 = 1_780_000_000_000n - (1_780_000_000_000n % H); // an hour boundary

function like(recipientId: bigint, postId: bigint, actorId: bigint, atMs: bigint): Action {
  return {
    recipientId,
    actorId,
    type: NotificationType.LIKE,
    targetId: postId,
    commentId: 0n,
    sourceKey: `like:${postId}:${actorId}`,
    atMs,
    eventId: atMs,
  };
}

describe.each(ENGINES)("notification store on $name", ({ open }) => {
  let store: TestStore;
  afterEach(async () => store?.dispose());

  async function setup(): Promise<NotificationStore> {
    store = await open();
    await runMigrations(
      store.db,
      [NotificationItemRowTable, NotificationGroupRowTable, NotificationMarkerRowTable, NotificationHiddenRowTable],
      {},
    );
    return new NotificationStore(new IdGenerator(1), 12 * Number(H));
  }

  it("groups by type and target within a 12 h window from the first notification's hour", async () => {
    const s = await setup();
    const db = store.db;
    const a = await s.add(db, like(1n, 100n, 2n, T0 + H / 2n)); // 00:30 → window 00:00–12:00
    const b = await s.add(db, like(1n, 100n, 3n, T0 + 11n * H + H / 2n)); // 11:30: same group
    const c = await s.add(db, like(1n, 100n, 4n, T0 + 12n * H + 1n)); // 12:00: a new group
    const d = await s.add(db, like(1n, 200n, 5n, T0 + H)); // another post: its own group
    expect(b!.row.id).toBe(a!.row.id);
    expect(b!.row).toMatchObject({ count: 2n, latestActorIds: [3n, 2n], firstAtMs: T0 + H / 2n });
    expect(c!.row.id).not.toBe(a!.row.id);
    expect(c!.row.bucketStartMs).toBe(T0 + 12n * H);
    expect(d!.row.id).not.toBe(a!.row.id);
    // The same action again (a redelivery, a replay): nothing changes.
    expect(await s.add(db, like(1n, 100n, 3n, T0 + 11n * H + H / 2n))).toBeUndefined();
    // The hand-written decoder reads rows as the generated DAO does.
    const raw = await db.allValues(
      db.dialect === "mysql"
        ? "SELECT recipient_id, id, kind_key, bucket_start_ms, type, target_id, comment_id, count, latest_actor_ids, first_at_ms, latest_at_ms FROM notify_groups WHERE id = ?"
        : 'SELECT "recipient_id", "id", "kind_key", "bucket_start_ms", "type", "target_id", "comment_id", "count", "latest_actor_ids", "first_at_ms", "latest_at_ms" FROM "notify_groups" WHERE "id" = ?',
      [a!.row.id],
    );
    expect(groupFromValues(raw[0]!)).toEqual(
      await new NotificationGroupRowDao(db).get({ recipientId: 1n, id: a!.row.id }),
    );
    const page = await s.page(db, 1n, 10, "");
    expect(page.rows.map((r) => [r.targetId, r.count])).toEqual([
      [100n, 1n],
      [100n, 2n],
      [200n, 1n],
    ]);
  });

  it("never groups mentions, and undo recomputes count, actors and time", async () => {
    const s = await setup();
    const db = store.db;
    const mention = (post: bigint, comment: bigint, actor: bigint, at: bigint): Action => ({
      recipientId: 1n,
      actorId: actor,
      type: NotificationType.MENTION,
      targetId: post,
      commentId: comment,
      sourceKey: `mention:${post}:${comment}`,
      atMs: at,
      eventId: at,
    });
    const m1 = await s.add(db, mention(100n, 0n, 2n, T0));
    const m2 = await s.add(db, mention(100n, 7n, 2n, T0 + 1n));
    expect(m1!.row.id).not.toBe(m2!.row.id);

    for (let i = 0; i < 10; i++) await s.add(db, like(1n, 300n, BigInt(10 + i), T0 + 100n + BigInt(i)));
    const g = (await s.page(db, 1n, 1, "")).rows[0]!;
    expect(g).toMatchObject({ count: 10n, latestActorIds: [19n, 18n, 17n, 16n, 15n, 14n, 13n, 12n] });
    const t = await s.remove(db, 1n, "like:300:19");
    expect(t!.row).toMatchObject({ count: 9n, latestActorIds: [18n, 17n, 16n, 15n, 14n, 13n, 12n, 11n] });
    expect(t!.row.latestAtMs).toBe(T0 + 108n);
    expect(await s.remove(db, 1n, "like:300:19")).toBeUndefined(); // twice: nothing
    for (let i = 0; i < 9; i++) await s.remove(db, 1n, `like:300:${10 + i}`);
    expect((await s.page(db, 1n, 10, "")).rows.map((r) => r.type)).toEqual([
      NotificationType.MENTION,
      NotificationType.MENTION,
    ]);
  });

  it("counts unread groups against a marker that only moves forward", async () => {
    const s = await setup();
    const db = store.db;
    for (let i = 0; i < 5; i++) await s.add(db, like(1n, BigInt(100 + i), 2n, T0 + BigInt(i) * 10n));
    expect(await s.unreadCount(db, 1n, await s.marker(db, 1n))).toBe(5n);
    expect(await s.markRead(db, 1n, T0 + 20n)).toBe(T0 + 20n);
    expect(await s.unreadCount(db, 1n, T0 + 20n)).toBe(2n);
    expect(await s.markRead(db, 1n, T0)).toBe(T0 + 20n);
    await s.add(db, like(1n, 100n, 3n, T0 + 50n)); // the first post's group is unread again
    expect(await s.unreadCount(db, 1n, await s.marker(db, 1n))).toBe(3n);
    await s.add(db, like(9n, 100n, 3n, T0));
    expect(await s.states(db, [1n, 9n, 10n])).toEqual(
      new Map([
        [1n, { marker: T0 + 20n, unread: 3n }],
        [9n, { marker: 0n, unread: 1n }],
        [10n, { marker: 0n, unread: 0n }],
      ]),
    );
  });
});
