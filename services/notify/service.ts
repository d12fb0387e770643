/**
 * notify: grouped notifications (Mastodon 4.3's grouping) built from the
 * post, graph and user events; the read marker shared by a user's devices;
 * per-type preferences and mutes; updates to connected devices and mobile push.
 * See docs/notify.md.
 */
import { NotificationService } from "../../gen/orbit/notify/v1/notify_pb.js";
import {
  NotificationDeviceRowTable,
  NotificationGroupRowTable,
  NotificationHiddenRowTable,
  NotificationItemRowTable,
  NotificationMarkerRowTable,
  NotificationMuteRowTable,
  NotificationPrefRowTable,
} from "../../gen/orbit/notify/v1/tables_db.js";
import { UserService } from "../../gen/orbit/user/v1/user_pb.js";
import { defineService } from "../../platform/kernel/service.js";
import { faninConsumer } from "./consumer.js";
import { Delivery, type DeviceUpdates } from "./delivery.js";
import { notifyHandlers } from "./handlers.js";
import { loggingProvider, noMobilePush, type PushProvider } from "./mobile.js";
import { notifySettings } from "./settings.js";
import { NotificationStore } from "./store.js";

export interface NotifyOptions {
  /** A mobile push provider (FCM/APNs sender, or the tests' RecordingProvider); else --notify-mobile-push decides. */
  readonly provider?: PushProvider;
  /** Where updates for connected devices go; default: the push gateway (ctx.push, Update field 21). */
  readonly devices?: DeviceUpdates;
}

/** The notify service, with a provider and a device channel of the caller's choice (tests, other deployments). */
export function notifyService(opts: NotifyOptions = {}) {
  return defineService({
    name: "notify",
    description: "grouped notifications from likes, comments, follows and mentions; read marker, preferences, push",
    deps: ["user"],
    api: [NotificationService],
    settings: notifySettings,
    tables: [
      NotificationItemRowTable,
      NotificationGroupRowTable,
      NotificationMarkerRowTable,
      NotificationPrefRowTable,
      NotificationMuteRowTable,
      NotificationDeviceRowTable,
      NotificationHiddenRowTable,
    ],
    build(ctx) {
      const users = ctx.client(UserService);
      const store = new NotificationStore(ctx.ids, ctx.settings.groupWindow * 3_600_000);
      const provider = opts.provider ?? (ctx.settings.mobilePush === "log" ? loggingProvider(ctx.log) : noMobilePush);
      const delivery = new Delivery({
        db: ctx.db,
        store,
        devices: opts.devices ?? {
          toUser: (tx, userId, update) => ctx.push.toUser(tx, userId, { case: "notification", value: update }),
          toUsersMany: (tx, updates) =>
            ctx.push.toUsersMany(
              tx,
              updates.map((u) => ({ userIds: [u.userId], payload: { case: "notification", value: u.update } })),
            ),
        },
        provider,
        log: ctx.log,
        async handles(userIds) {
          if (userIds.length === 0) return new Map();
          const r = await users.getUsers({ userIds: [...userIds] });
          return new Map(r.users.map((u) => [u.id, u.handle]));
        },
      });
      return {
        rpc: [notifyHandlers(ctx.db, store, delivery)],
        consumers: [
          faninConsumer({
            db: ctx.db,
            store,
            delivery,
            pushMaxAgeMs: ctx.settings.pushMaxAge * 1000,
            blockCache: new Map(),
            async blockedAmong(userId, others) {
              if (others.length === 0) return new Set();
              const r = await users.filterBlocked({ userId, otherUserIds: [...others] });
              return new Set(r.blockedUserIds);
            },
          }),
        ],
        stop: () => delivery.settle(),
      };
    },
  });
}

export const notify = notifyService();
