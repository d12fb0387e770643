/** The NotificationService handlers: every method acts for the signed-in caller. */
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  NotificationType,
  PreferencesSchema,
  PushPlatform,
  TypePreferenceSchema,
  type NotificationService,
  type Preferences,
} from "../../gen/orbit/notify/v1/notify_pb.js";
import {
  NotificationDeviceRowDao,
  NotificationMuteRowDao,
  NotificationPrefRowDao,
} from "../../gen/orbit/notify/v1/tables_db.js";
import { requireUser } from "../../platform/rpc/call-scope.js";
import type { SqlDb, SqlExecutor } from "../../platform/storage/driver.js";
import type { Delivery } from "./delivery.js";
import { type NotificationStore, toGroup } from "./store.js";

const DEFAULT_PAGE = 20;
/** Push tokens kept per user (the oldest goes beyond). */
export const MAX_DEVICES = 20;
/** Muted users per user. */
export const MAX_MUTES = 10_000;

function invalid(msg: string): ConnectError {
  return new ConnectError(msg, Code.InvalidArgument);
}

function knownType(t: NotificationType): boolean {
  return t !== NotificationType.UNSPECIFIED && NotificationType[t] !== undefined;
}

async function preferencesOf(db: SqlExecutor, userId: bigint): Promise<Preferences> {
  const prefs = await new NotificationPrefRowDao(db).listByUserId({ userId }, { limit: 100 });
  const mutes: bigint[] = [];
  let token = "";
  do {
    const page = await new NotificationMuteRowDao(db).listByUserId({ userId }, { limit: 1000, pageToken: token });
    for (const m of page.rows) mutes.push(m.mutedId);
    token = page.nextPageToken;
  } while (token);
  return create(PreferencesSchema, {
    types: prefs.rows.map((p) =>
      create(TypePreferenceSchema, { type: p.type as NotificationType, enabled: p.enabled, push: p.push }),
    ),
    mutedUserIds: mutes,
  });
}

export function notifyHandlers(
  db: SqlDb,
  store: NotificationStore,
  delivery: Delivery,
): ServiceImpl<typeof NotificationService> {
  const me = (hctx: Parameters<typeof requireUser>[0]) => BigInt(requireUser(hctx).userId);

  return {
    async listNotifications(req, hctx) {
      const userId = me(hctx);
      const page = await store.page(db, userId, req.pageSize || DEFAULT_PAGE, req.pageToken);
      const marker = await store.marker(db, userId);
      return {
        groups: page.rows.map((r) => toGroup(r, marker)),
        unreadCount: await store.unreadCount(db, userId, marker),
        nextPageToken: page.nextPageToken,
        readUpToMs: marker,
      };
    },

    async markRead(req, hctx) {
      const userId = me(hctx);
      // 0 is "now"; a time in the future is "now" too (it would mark notifications read before they happen).
      const now = BigInt(Date.now());
      const upTo = req.upToMs === 0n || req.upToMs > now ? now : req.upToMs;
      return db.transaction(async (tx) => {
        const before = await store.marker(tx, userId);
        const marker = await store.markRead(tx, userId, upTo);
        const update = await delivery.update(tx, userId);
        // Every device of the user learns the new marker (the list reads the same everywhere).
        if (marker !== before) await delivery.markerMoved(tx, userId, update);
        return { readUpToMs: marker, unreadCount: update.unreadCount };
      });
    },

    async getUnreadCount(_req, hctx) {
      const userId = me(hctx);
      const marker = await store.marker(db, userId);
      return { unreadCount: await store.unreadCount(db, userId, marker), readUpToMs: marker };
    },

    async setPreferences(req, hctx) {
      const userId = me(hctx);
      const seen = new Set<NotificationType>();
      for (const p of req.types) {
        if (!knownType(p.type)) throw invalid(`types: unknown notification type ${p.type}`);
        if (seen.has(p.type)) throw invalid(`types: ${NotificationType[p.type]} is given twice`);
        seen.add(p.type);
      }
      for (const id of [...req.muteUserIds, ...req.unmuteUserIds]) {
        if (id <= 0n) throw invalid("mute_user_ids, unmute_user_ids: user ids are positive");
      }
      const unmute = new Set(req.unmuteUserIds);
      if (req.muteUserIds.some((id) => unmute.has(id)))
        throw invalid("mute_user_ids, unmute_user_ids: a user is both muted and unmuted");
      if (req.muteUserIds.includes(userId)) throw invalid("mute_user_ids: you cannot mute yourself");
      const preferences = await db.transaction(async (tx) => {
        const prefs = new NotificationPrefRowDao(tx);
        const mutes = new NotificationMuteRowDao(tx);
        for (const p of req.types) await prefs.upsert({ userId, type: p.type, enabled: p.enabled, push: p.push });
        const now = BigInt(Date.now());
        for (const mutedId of req.muteUserIds) await mutes.insertIfAbsent({ userId, mutedId, createdAtMs: now });
        for (const mutedId of req.unmuteUserIds) await mutes.delete({ userId, mutedId });
        if ((await mutes.countByUserId({ userId })) > MAX_MUTES) {
          throw new ConnectError(`mute_user_ids: at most ${MAX_MUTES} muted users`, Code.ResourceExhausted);
        }
        return preferencesOf(tx, userId);
      });
      return { preferences };
    },

    async getPreferences(_req, hctx) {
      return { preferences: await preferencesOf(db, me(hctx)) };
    },

    async registerDevice(req, hctx) {
      const userId = me(hctx);
      if (req.platform !== PushPlatform.FCM && req.platform !== PushPlatform.APNS)
        throw invalid(`platform: must be FCM or APNS, not ${req.platform}`);
      const token = req.token.trim();
      if (!token || /\s/.test(token)) throw invalid("token: must not be empty or contain spaces");
      const tokenHash = createHash("sha256").update(token).digest("hex");
      await db.transaction(async (tx) => {
        const devices = new NotificationDeviceRowDao(tx);
        // A token belongs to one user: a device that signs in as someone else moves it.
        await devices.upsert({ tokenHash, userId, platform: req.platform, token, createdAtMs: BigInt(Date.now()) });
        const mine = (await devices.listByUserId({ userId }, { limit: 1000 })).rows;
        if (mine.length > MAX_DEVICES) {
          const oldest = [...mine].sort((a, b) => (a.createdAtMs < b.createdAtMs ? -1 : 1));
          for (const d of oldest.slice(0, mine.length - MAX_DEVICES)) await devices.delete({ tokenHash: d.tokenHash });
        }
      });
      return {};
    },

    async unregisterDevice(req, hctx) {
      const userId = me(hctx);
      const tokenHash = createHash("sha256").update(req.token.trim()).digest("hex");
      const devices = new NotificationDeviceRowDao(db);
      const d = await devices.get({ tokenHash });
      // Someone else's token (or none): nothing to do, and nothing said about it.
      if (d && d.userId === userId) await devices.delete({ tokenHash });
      return {};
    },
  };
}
