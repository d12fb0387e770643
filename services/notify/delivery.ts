/**
 * Where a change goes once it is written: the recipient's connected devices
 * (a `NotificationUpdate` through the push gateway, written in the same
 * transaction as the change) and, for a group that grew, their mobile
 * devices (FCM/APNs through a `PushProvider`, after the commit, never holding
 * the consumer up).
 */
import { create } from "@bufbuild/protobuf";
import {
  NotificationType,
  NotificationUpdateSchema,
  type NotificationUpdate,
} from "../../gen/orbit/notify/v1/notify_pb.js";
import { NotificationDeviceRowDao } from "../../gen/orbit/notify/v1/tables_db.js";
import type { Logger } from "../../platform/log.js";
import type { SqlDb, SqlExecutor, SqlTx } from "../../platform/storage/driver.js";
import type { MobilePush, PushProvider } from "./mobile.js";
import { type NotificationStore, type Touched, toGroup } from "./store.js";

/** Sends an update to every connected device of a user (the push gateway: ctx.push). */
export interface DeviceUpdates {
  /** Called inside the transaction of the change: the update is delivered if and only if it commits. */
  toUser(tx: SqlTx, userId: bigint, update: NotificationUpdate): Promise<void>;
  /** Many updates at once, in order, as toUser would one by one (a few statements whatever their number); else toUser each. */
  toUsersMany?(tx: SqlTx, updates: readonly { userId: bigint; update: NotificationUpdate }[]): Promise<void>;
}

const VERB: Record<number, string> = {
  [NotificationType.LIKE]: "liked your post",
  [NotificationType.COMMENT]: "commented on your post",
  [NotificationType.FOLLOW]: "followed you",
  [NotificationType.MENTION]: "mentioned you",
};

/** "ann", "ann and bob", "ann and 12 others" + verb. */
export function summary(names: readonly string[], count: bigint, type: NotificationType): string {
  const first = names[0] ?? "someone";
  const who =
    count <= 1n ? first : count === 2n && names[1] ? `${first} and ${names[1]}` : `${first} and ${count - 1n} others`;
  return `${who} ${VERB[type] ?? "did something"}`;
}

export interface DeliveryDeps {
  readonly db: SqlDb;
  readonly store: NotificationStore;
  readonly devices: DeviceUpdates;
  readonly provider: PushProvider;
  /** Handles of users, for the text of mobile pushes. */
  readonly handles: (userIds: readonly bigint[]) => Promise<Map<bigint, string>>;
  readonly log: Logger;
}

export class Delivery {
  /** Mobile sends in flight (stop waits for them). */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: DeliveryDeps) {}

  /** The update of one user's state: a group (or none: the marker moved), with the unread count. */
  async update(db: SqlExecutor, userId: bigint, t?: Touched): Promise<NotificationUpdate> {
    const marker = await this.deps.store.marker(db, userId);
    return create(NotificationUpdateSchema, {
      group: t ? toGroup(t.row, marker) : undefined,
      removed: t?.removed ?? false,
      unreadCount: await this.deps.store.unreadCount(db, userId, marker),
      readUpToMs: marker,
    });
  }

  /** The read marker moved (MarkRead on one device): every device of the user gets the new marker and count. */
  async markerMoved(tx: SqlTx, userId: bigint, update: NotificationUpdate): Promise<void> {
    await this.deps.devices.toUser(tx, userId, update);
  }

  /** Groups a consumer batch changed: to connected devices in `tx`, and after it commits to mobile devices. */
  async groupsChanged(tx: SqlTx, changed: readonly { t: Touched; push: boolean }[]): Promise<void> {
    // Every recipient's marker and unread count, in two queries.
    const state = await this.deps.store.states(tx, [...new Set(changed.map((c) => c.t.recipientId))]);
    const updates = changed.map(({ t }) => {
      const s = state.get(t.recipientId)!;
      return {
        userId: t.recipientId,
        update: create(NotificationUpdateSchema, {
          group: toGroup(t.row, s.marker),
          removed: t.removed,
          unreadCount: s.unread,
          readUpToMs: s.marker,
        }),
      };
    });
    // One append for the whole batch (a round trip per group was most of a batch's time on a busy MariaDB).
    if (this.deps.devices.toUsersMany) await this.deps.devices.toUsersMany(tx, updates);
    else for (const u of updates) await this.deps.devices.toUser(tx, u.userId, u.update);
    const grown = changed.filter((c) => c.push && c.t.grew && !c.t.removed).map((c) => c.t);
    if (grown.length && this.deps.provider !== undefined && this.deps.provider.name !== "off") {
      tx.afterCommit(() => this.track(this.mobile(grown)));
    }
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Sends the grown groups to their recipients' mobile devices; failures are logged, never thrown. */
  private async mobile(grown: readonly Touched[]): Promise<void> {
    try {
      const devices = new NotificationDeviceRowDao(this.deps.db);
      const byUser = new Map<bigint, Awaited<ReturnType<typeof devices.listByUserId>>["rows"]>();
      for (const t of grown) {
        if (byUser.has(t.recipientId)) continue;
        byUser.set(t.recipientId, (await devices.listByUserId({ userId: t.recipientId }, { limit: 100 })).rows);
      }
      const withDevices = grown.filter((t) => byUser.get(t.recipientId)?.length);
      if (withDevices.length === 0) return;
      const names = await this.deps.handles([...new Set(withDevices.flatMap((t) => t.row.latestActorIds.slice(0, 2)))]);
      const messages: MobilePush[] = [];
      for (const t of withDevices) {
        const r = t.row;
        const body = summary(
          r.latestActorIds.slice(0, 2).map((id) => names.get(id) ?? "someone"),
          r.count,
          r.type as NotificationType,
        );
        for (const d of byUser.get(t.recipientId)!) {
          messages.push({
            platform: d.platform,
            token: d.token,
            userId: t.recipientId,
            title: "Orbit",
            body,
            collapseKey: `g${r.id}`,
            data: {
              group_id: String(r.id),
              type: NotificationType[r.type] ?? String(r.type),
              target_id: String(r.targetId),
              count: String(r.count),
            },
            idempotencyKey: `${r.id}:${r.count}:${r.latestAtMs}`,
          });
        }
      }
      const res = await this.deps.provider.send(messages);
      if (res.invalidTokens.length) {
        const invalid = new Set(res.invalidTokens);
        for (const [, rows] of byUser) {
          for (const d of rows) if (invalid.has(d.token)) await devices.delete({ tokenHash: d.tokenHash });
        }
      }
    } catch (err) {
      this.deps.log.warn({ err }, "mobile push failed");
    }
  }

  /** Waits for mobile sends in flight. */
  async settle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }
}
