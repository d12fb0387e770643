/** The UserService handlers. */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  BlockRowDao,
  HandleSkeletonRowDao,
  ProfileCounterRowDao,
  SessionRowDao,
  UserRowDao,
} from "../../gen/orbit/user/v1/tables_db.js";
import { MediaService } from "../../gen/orbit/media/v1/media_pb.js";
import {
  ProfileChangedSchema,
  SessionEndReason,
  UserBlockedSchema,
  UserUnblockedSchema,
} from "../../gen/orbit/user/v1/events_pb.js";
import { ProfileSchema, SessionSchema, type UserService } from "../../gen/orbit/user/v1/user_pb.js";
import type { ServiceContext } from "../../platform/kernel/context.js";
import { callScope, requireService, requireUser } from "../../platform/rpc/call-scope.js";
import { isDuplicateKey } from "../../platform/storage/driver.js";
import { toUser } from "./convert.js";
import { decoyHash, hashPassword, verifyPassword } from "./passwords.js";
import { LoginThrottle } from "./rate-limit.js";
import { endSession, openSession, verifyToken } from "./sessions.js";
import type { userSettings } from "./settings.js";
import { CLIENT_ADDRESS_HEADER } from "../../platform/http/client-address.js";
import { handleSkeleton } from "../../platform/text.js";

const DEFAULT_PAGE = 20;

function handleKey(handle: string): string {
  return handle.toLowerCase();
}

/**
 * The caller's address for rate limits, as the kernel stamped it on a network
 * request (the socket's peer, or X-Forwarded-For behind `--trust-proxy`
 * proxies; platform/http/client-address.ts). Unknown for in-process calls:
 * then only the per-handle limit applies.
 */
function clientAddress(hctx: HandlerContext): string | undefined {
  return hctx.requestHeader.get(CLIENT_ADDRESS_HEADER) ?? undefined;
}

/** LogIn of an account a moderator suspended (after the right password only). */
function suspended(): ConnectError {
  return new ConnectError("this account is suspended by a moderator", Code.PermissionDenied);
}

function notFound(what: string): ConnectError {
  return new ConnectError(`${what} not found`, Code.NotFound);
}

export function userHandlers(ctx: ServiceContext<typeof userSettings>): ServiceImpl<typeof UserService> {
  const { scryptLogN } = ctx.settings;
  const throttle = new LoginThrottle(ctx.limits, {
    signUpPerHour: ctx.settings.signUpPerAddress,
    logInPerMinute: ctx.settings.logInPerAddress,
    freeFailures: ctx.settings.loginFreeFailures,
    maxDelayMs: ctx.settings.loginMaxDelayS * 1000,
    failuresPerAddress: ctx.settings.loginFailuresPerAddress,
    handleCap: ctx.settings.loginHandleCap,
  });
  const db = ctx.db;
  const users = new UserRowDao(db);
  const sessions = new SessionRowDao(db);
  const blocks = new BlockRowDao(db);
  const counters = new ProfileCounterRowDao(db);
  const skeletons = new HandleSkeletonRowDao(db);

  /**
   * Why `handle` cannot be taken, or undefined when it is free: the same handle in another case
   * (handle_key), or a look-alike of an existing one (the UTS #39 skeleton, platform/text.ts).
   */
  async function handleConflict(handle: string): Promise<string | undefined> {
    const same = await users.getByHandleKey({ handleKey: handleKey(handle) });
    if (same) return `handle "${handle}" is taken`;
    const alike = await skeletons.get({ skeleton: handleSkeleton(handle) });
    if (alike) {
      const other = await users.get({ id: alike.userId });
      return `handle "${handle}" is too much like the existing handle "${other?.handle ?? "?"}" (look-alike characters such as I/l/1 or 0/O count as one)`;
    }
    return undefined;
  }

  async function me(hctx: HandlerContext) {
    const id = BigInt(requireUser(hctx).userId);
    const row = await users.get({ id });
    if (!row) throw new ConnectError("the signed-in account no longer exists", Code.Unauthenticated);
    return row;
  }

  /** The session of the caller's bearer token (the verifier put it in the identity). */
  function currentSessionId(hctx: HandlerContext): bigint | undefined {
    const id = callScope(hctx).identity?.sessionId;
    return id === undefined ? undefined : BigInt(id);
  }

  return {
    async signUp(req, hctx) {
      // Before anything touches the store or hashes a password.
      const address = clientAddress(hctx);
      await throttle.signUp(hctx, address);
      const key = handleKey(req.handle);
      const conflict = await handleConflict(req.handle);
      if (conflict) throw new ConnectError(conflict, Code.AlreadyExists);
      const now = BigInt(Date.now());
      const passwordHash = await hashPassword(req.password, scryptLogN);
      const id = ctx.ids.next();
      try {
        const out = await db.transaction(async (tx) => {
          await users.with(tx).insert({
            id,
            handle: req.handle,
            handleKey: key,
            displayName: req.displayName || req.handle,
            passwordHash,
            createdAtMs: now,
          });
          await skeletons.with(tx).insert({ skeleton: handleSkeleton(req.handle), userId: id });
          await counters.with(tx).insertIfAbsent({ userId: id });
          await ctx.events.publish(tx, ProfileChangedSchema, {
            userId: id,
            handle: req.handle,
            displayName: req.displayName || req.handle,
            createdAtMs: now,
          });
          const { token } = await openSession(tx, ctx.ids, ctx.events, { id, createdAtMs: now }, req.deviceName);
          const row = await users.with(tx).get({ id });
          return { user: toUser(row!), token };
        });
        await throttle.signedUp(key, address);
        return out;
      } catch (err) {
        // A sign-up that raced another for the same (or a look-alike) handle.
        if (isDuplicateKey(err)) {
          throw new ConnectError(
            (await handleConflict(req.handle)) ?? `handle "${req.handle}" is taken`,
            Code.AlreadyExists,
          );
        }
        throw err;
      }
    },

    async logIn(req, hctx) {
      const key = handleKey(req.handle);
      const address = clientAddress(hctx);
      const attempt = await throttle.begin(hctx, key, address);
      const row = await users.getByHandleKey({ handleKey: key });
      const ok = await verifyPassword(req.password, row?.passwordHash ?? (await decoyHash(scryptLogN)));
      if (!row || !ok) {
        await attempt.failed();
        throw new ConnectError("wrong handle or password", Code.Unauthenticated);
      }
      await attempt.succeeded();
      const { token } = await db.transaction(async (tx) => {
        // The row is written (an identical value) before it is read again: on MySQL/MariaDB
        // that waits for a suspension committing now (suspensions.ts writes the row first), so
        // no session is opened after the suspension ended the others.
        await users.with(tx).update({ id: row.id }, { createdAtMs: row.createdAtMs });
        if ((await users.with(tx).get({ id: row.id }))?.suspendedAtMs !== undefined) throw suspended();
        return openSession(tx, ctx.ids, ctx.events, row, req.deviceName);
      });
      return { user: toUser(row), token };
    },

    async logOut(_req, hctx) {
      const userId = BigInt(requireUser(hctx).userId);
      const session = currentSessionId(hctx);
      // The session's open push connections close when the gateway sees user.session_ended.
      if (session !== undefined) {
        await db.transaction((tx) => endSession(tx, ctx.events, userId, session, SessionEndReason.LOGGED_OUT));
      }
      return {};
    },

    async getMe(_req, hctx) {
      return { user: toUser(await me(hctx)) };
    },

    async getProfile(req, hctx) {
      let row;
      if (req.who.case === "userId") row = await users.get({ id: req.who.value });
      else if (req.who.case === "handle") row = await users.getByHandleKey({ handleKey: handleKey(req.who.value) });
      else throw new ConnectError("user_id, handle: give one of them", Code.InvalidArgument);
      if (!row) throw notFound("user");
      const viewer = callScope(hctx).identity;
      const c = await counters.get({ userId: row.id });
      const blockedByMe = viewer
        ? (await blocks.get({ blockerId: BigInt(viewer.userId), blockedId: row.id })) !== undefined
        : false;
      return {
        profile: create(ProfileSchema, {
          user: toUser(row),
          followerCount: c?.followers ?? 0n,
          followingCount: c?.following ?? 0n,
          postCount: c?.posts ?? 0n,
          blockedByMe,
        }),
      };
    },

    async updateProfile(req, hctx) {
      const row = await me(hctx);
      if (req.avatarMediaId !== undefined && req.avatarMediaId !== 0n && req.avatarMediaId !== row.avatarMediaId) {
        const { problems } = await ctx
          .client(MediaService)
          .checkMedia({ ownerId: row.id, mediaIds: [req.avatarMediaId], imagesOnly: true });
        if (problems.length) {
          throw new ConnectError(`avatar_media_id: ${problems.join("; ")}`, Code.FailedPrecondition);
        }
      }
      const patch = {
        ...(req.displayName !== undefined ? { displayName: req.displayName } : {}),
        ...(req.bio !== undefined ? { bio: req.bio } : {}),
        ...(req.avatarMediaId !== undefined ? { avatarMediaId: req.avatarMediaId } : {}),
      };
      if (req.displayName !== undefined && req.displayName !== row.displayName) {
        // Search indexes display names: the change is published with the write.
        await db.transaction(async (tx) => {
          await users.with(tx).update({ id: row.id }, patch);
          await ctx.events.publish(tx, ProfileChangedSchema, {
            userId: row.id,
            handle: row.handle,
            displayName: req.displayName!,
            createdAtMs: row.createdAtMs,
          });
        });
      } else {
        await users.update({ id: row.id }, patch);
      }
      return { user: toUser((await users.get({ id: row.id }))!) };
    },

    async checkHandle(req) {
      if (!/^[A-Za-z0-9_]{3,30}$/.test(req.handle)) return { available: false };
      return { available: (await handleConflict(req.handle)) === undefined };
    },

    async block(req, hctx) {
      const blockerId = BigInt(requireUser(hctx).userId);
      if (req.userId === blockerId) throw new ConnectError("user_id: you cannot block yourself", Code.InvalidArgument);
      if (!(await users.get({ id: req.userId }))) throw notFound("user");
      await db.transaction(async (tx) => {
        const inserted = await blocks
          .with(tx)
          .insertIfAbsent({ blockerId, blockedId: req.userId, createdAtMs: BigInt(Date.now()) });
        if (inserted) await ctx.events.publish(tx, UserBlockedSchema, { blockerId, blockedId: req.userId });
      });
      return {};
    },

    async unblock(req, hctx) {
      const blockerId = BigInt(requireUser(hctx).userId);
      await db.transaction(async (tx) => {
        const existed = await blocks.with(tx).delete({ blockerId, blockedId: req.userId });
        if (existed) await ctx.events.publish(tx, UserUnblockedSchema, { blockerId, blockedId: req.userId });
      });
      return {};
    },

    async listBlocked(req, hctx) {
      const blockerId = BigInt(requireUser(hctx).userId);
      const page = await blocks.listByBlockerId(
        { blockerId },
        { limit: req.pageSize || DEFAULT_PAGE, pageToken: req.pageToken, order: "desc" },
      );
      const found = await users.getMany(page.rows.map((b) => ({ id: b.blockedId })));
      const byId = new Map(found.map((u) => [u.id, u]));
      return {
        users: page.rows.flatMap((b) => {
          const u = byId.get(b.blockedId);
          return u ? [toUser(u)] : [];
        }),
        nextPageToken: page.nextPageToken,
      };
    },

    async listSessions(_req, hctx) {
      const userId = BigInt(requireUser(hctx).userId);
      const current = currentSessionId(hctx);
      const out = [];
      let token = "";
      do {
        const page = await sessions.listByUserId({ userId }, { limit: 100, pageToken: token, order: "desc" });
        for (const s of page.rows) {
          out.push(
            create(SessionSchema, {
              id: s.id,
              deviceName: s.deviceName,
              createdAtMs: s.createdAtMs,
              lastSeenAtMs: s.lastSeenAtMs,
              current: s.id === current,
            }),
          );
        }
        token = page.nextPageToken;
      } while (token && out.length < 1000);
      return { sessions: out };
    },

    async revokeSession(req, hctx) {
      const userId = BigInt(requireUser(hctx).userId);
      const s = await sessions.get({ id: req.sessionId });
      if (!s || s.userId !== userId) throw notFound("session");
      await db.transaction((tx) => endSession(tx, ctx.events, userId, s.id, SessionEndReason.REVOKED));
      return {};
    },

    async getUsers(req) {
      const byIds = await users.getMany(req.userIds.map((id) => ({ id })));
      const byHandles = await Promise.all(req.handles.map((h) => users.getByHandleKey({ handleKey: handleKey(h) })));
      const seen = new Set<bigint>();
      const out = [];
      const byId = new Map(byIds.map((r) => [r.id, r]));
      for (const r of [...req.userIds.map((id) => byId.get(id)), ...byHandles]) {
        if (r && !seen.has(r.id)) {
          seen.add(r.id);
          out.push(toUser(r));
        }
      }
      return { users: out };
    },

    // Blocks are private: only services may ask about any pair of users.
    async filterBlocked(req, hctx) {
      requireService(hctx);
      if (req.otherUserIds.length === 0) return { blockedUserIds: [] };
      const related = new Set<bigint>();
      for (const [list, pick] of [
        [
          (t: string) => blocks.listByBlockerId({ blockerId: req.userId }, { limit: 1000, pageToken: t }),
          (b: { blockedId: bigint }) => b.blockedId,
        ],
        [
          (t: string) => blocks.listByBlockedId({ blockedId: req.userId }, { limit: 1000, pageToken: t }),
          (b: { blockerId: bigint }) => b.blockerId,
        ],
      ] as const) {
        let token = "";
        do {
          const page = await list(token);
          for (const b of page.rows) related.add((pick as (b: unknown) => bigint)(b));
          token = page.nextPageToken;
        } while (token);
      }
      return { blockedUserIds: [...new Set(req.otherUserIds)].filter((id) => related.has(id)) };
    },

    async checkBlock(req, hctx) {
      requireService(hctx);
      const [ab, ba] = await Promise.all([
        blocks.get({ blockerId: req.userA, blockedId: req.userB }),
        blocks.get({ blockerId: req.userB, blockedId: req.userA }),
      ]);
      return { blocked: ab !== undefined || ba !== undefined };
    },

    // CheckBlock for many pairs: one statement per 250 pairs (both directions of each).
    async checkBlocks(req, hctx) {
      requireService(hctx);
      const key = (a: bigint, b: bigint) => `${a}/${b}`;
      const found = new Set<string>();
      for (let i = 0; i < req.pairs.length; i += 250) {
        const chunk = req.pairs.slice(i, i + 250);
        const params: bigint[] = [];
        for (const p of chunk) params.push(p.userA, p.userB, p.userB, p.userA);
        const where = new Array<string>(chunk.length * 2).fill("(blocker_id = ? AND blocked_id = ?)").join(" OR ");
        for (const [a, b] of await db.allValues(
          `SELECT blocker_id, blocked_id FROM user_blocks WHERE ${where}`,
          params,
        )) {
          found.add(key(BigInt(a as number | bigint), BigInt(b as number | bigint)));
        }
      }
      return { blocked: req.pairs.map((p) => found.has(key(p.userA, p.userB)) || found.has(key(p.userB, p.userA))) };
    },

    async verifyToken(req) {
      const s = await verifyToken(db, req.token);
      if (!s) throw new ConnectError("token is not valid", Code.Unauthenticated);
      return { userId: s.userId, sessionId: s.sessionId };
    },
  };
}
