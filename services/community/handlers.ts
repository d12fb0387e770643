/**
 * The CommunityService handlers. Who may do what (checked on every RPC):
 *
 *   anyone            ListSeries, GetCommunity, GetMembership; ListMembers and
 *                     ListCommunityPosts unless banned from the community
 *   signed in         Join (not when banned), Leave (not the owner)
 *   moderator         Ban/Unban members (not moderators or the owner), ListModLog
 *   owner             everything a moderator may, on anyone but the owner; SetRole
 *                     (making someone owner hands ownership over)
 *   admin (setting)   everything, in every community; CreateSeries
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  CommunityPostSchema,
  type CommunityService,
  MemberSchema,
  type Membership,
  MembershipSchema,
  ModLogEntrySchema,
  PostOrder,
  Role,
} from "../../gen/orbit/community/v1/community_pb.js";
import { MembershipChangedSchema } from "../../gen/orbit/community/v1/events_pb.js";
import type { CommunityRow } from "../../gen/orbit/community/v1/tables_pb.js";
import {
  BanRowDao,
  CommunityPostRowDao,
  CommunityRowDao,
  MemberRowDao,
  ModLogRowDao,
  SeriesRowDao,
} from "../../gen/orbit/community/v1/tables_db.js";
import type { ServiceContext } from "../../platform/kernel/context.js";
import { callScope, requireUser } from "../../platform/rpc/call-scope.js";
import type { SqlTx } from "../../platform/storage/driver.js";
import { type Catalogue, toCommunity, toSeries } from "./catalogue.js";

const DEFAULT_PAGE = 20;

interface Actor {
  readonly userId: bigint;
  readonly community: CommunityRow;
  readonly role: Role;
  readonly banned: boolean;
  readonly admin: boolean;
}

export function communityHandlers(
  ctx: ServiceContext,
  catalogue: Catalogue,
  admins: ReadonlySet<bigint>,
  ready: Promise<unknown>,
): ServiceImpl<typeof CommunityService> {
  const db = ctx.db;
  const communities = new CommunityRowDao(db);
  const members = new MemberRowDao(db);
  const bans = new BanRowDao(db);

  async function community(id: bigint): Promise<CommunityRow> {
    const row = await communities.get({ id });
    if (!row) throw new ConnectError("community not found", Code.NotFound);
    return row;
  }

  async function membership(communityId: bigint, userId: bigint): Promise<{ role: Role; banned: boolean }> {
    const [m, b] = await Promise.all([members.get({ communityId, userId }), bans.get({ communityId, userId })]);
    return { role: (m?.role ?? Role.UNSPECIFIED) as Role, banned: b !== undefined };
  }

  async function actorOf(hctx: HandlerContext, communityId: bigint): Promise<Actor> {
    const userId = BigInt(requireUser(hctx).userId);
    const c = await community(communityId);
    const m = await membership(communityId, userId);
    return { userId, community: c, ...m, admin: admins.has(userId) };
  }

  /** The caller, when banned, may not read the community's members or posts. */
  async function notBanned(hctx: HandlerContext, communityId: bigint): Promise<void> {
    await community(communityId);
    const id = callScope(hctx).identity?.userId;
    if (id && (await bans.get({ communityId, userId: BigInt(id) })))
      throw new ConnectError("you are banned from this community", Code.PermissionDenied);
  }

  function membershipMsg(communityId: bigint, userId: bigint, role: Role, banned: boolean): Membership {
    return create(MembershipSchema, { communityId, userId, role, banned });
  }

  async function log(tx: SqlTx, a: Actor, action: string, target: bigint, detail: string): Promise<void> {
    const now = BigInt(Date.now());
    await new ModLogRowDao(tx).insert({
      id: ctx.ids.next(),
      communityId: a.community.id,
      actorId: a.userId,
      action,
      targetUserId: target,
      detail,
      atMs: now,
    });
  }

  function changed(
    tx: SqlTx,
    communityId: bigint,
    userId: bigint,
    role: Role,
    banned: boolean,
    action: string,
    actorId: bigint,
  ) {
    return ctx.events.publish(tx, MembershipChangedSchema, {
      communityId,
      userId,
      role,
      banned,
      action,
      actorId,
      atMs: BigInt(Date.now()),
    });
  }

  /** May `a` ban or unban `target` (whose role is `targetRole`)? */
  function mayModerate(a: Actor, target: bigint, targetRole: Role): void {
    if (target === a.userId) throw new ConnectError("user_id: you cannot do this to yourself", Code.InvalidArgument);
    if (targetRole === Role.OWNER || a.community.ownerId === target)
      throw new ConnectError("the community's owner cannot be banned", Code.FailedPrecondition);
    if (a.admin || a.role === Role.OWNER) return;
    if (a.role === Role.MODERATOR && targetRole !== Role.MODERATOR) return;
    throw new ConnectError(
      a.role === Role.MODERATOR ? "moderators cannot ban moderators" : "only moderators may do this",
      Code.PermissionDenied,
    );
  }

  return {
    async listSeries(req) {
      await ready;
      const limit = req.pageSize || DEFAULT_PAGE;
      const page = await catalogue.list(req.query, limit, req.pageToken);
      const byseries = await Promise.all(page.rows.map((s) => communities.getBySeriesId({ seriesId: s.id })));
      return {
        series: page.rows.map((s, i) => toSeries(s, byseries[i]?.id ?? 0n)),
        nextPageToken: page.next,
      };
    },

    async getCommunity(req, hctx) {
      await ready;
      let row: CommunityRow | undefined;
      if (req.ref.case === "communityId") row = await communities.get({ id: req.ref.value });
      else if (req.ref.case === "seriesId") row = await communities.getBySeriesId({ seriesId: req.ref.value });
      else throw new ConnectError("community_id or series_id is required", Code.InvalidArgument);
      if (!row) throw new ConnectError("community not found", Code.NotFound);
      const series = await new SeriesRowDao(db).get({ id: row.seriesId });
      const id = callScope(hctx).identity?.userId;
      const me = id
        ? { userId: BigInt(id), ...(await membership(row.id, BigInt(id))) }
        : { userId: 0n, role: Role.UNSPECIFIED, banned: false };
      return { community: toCommunity(row, series), me: membershipMsg(row.id, me.userId, me.role, me.banned) };
    },

    async join(req, hctx) {
      const a = await actorOf(hctx, req.communityId);
      if (a.banned) throw new ConnectError("you are banned from this community", Code.PermissionDenied);
      const now = BigInt(Date.now());
      await db.transaction(async (tx) => {
        const added = await new MemberRowDao(tx).insertIfAbsent({
          communityId: a.community.id,
          userId: a.userId,
          role: Role.MEMBER,
          joinedAtMs: now,
        });
        if (!added) return;
        if (await new BanRowDao(tx).get({ communityId: a.community.id, userId: a.userId }))
          throw new ConnectError("you are banned from this community", Code.PermissionDenied);
        await new CommunityRowDao(tx).incrementMemberCount({ id: a.community.id }, 1);
        await changed(tx, a.community.id, a.userId, Role.MEMBER, false, "join", a.userId);
      });
      const m = await membership(a.community.id, a.userId);
      return {
        membership: membershipMsg(a.community.id, a.userId, m.role, m.banned),
        memberCount: (await community(a.community.id)).memberCount,
      };
    },

    async leave(req, hctx) {
      const a = await actorOf(hctx, req.communityId);
      if (a.role === Role.OWNER)
        throw new ConnectError(
          "the owner must hand ownership to another member first (SetRole)",
          Code.FailedPrecondition,
        );
      await db.transaction(async (tx) => {
        if (!(await new MemberRowDao(tx).delete({ communityId: a.community.id, userId: a.userId }))) return;
        await new CommunityRowDao(tx).incrementMemberCount({ id: a.community.id }, -1);
        await changed(tx, a.community.id, a.userId, Role.UNSPECIFIED, a.banned, "leave", a.userId);
      });
      return {
        membership: membershipMsg(a.community.id, a.userId, Role.UNSPECIFIED, a.banned),
        memberCount: (await community(a.community.id)).memberCount,
      };
    },

    async listMembers(req, hctx) {
      await notBanned(hctx, req.communityId);
      const page = await members.listByCommunityIdOrderByJoinedAtMs(
        { communityId: req.communityId },
        { limit: req.pageSize || DEFAULT_PAGE, pageToken: req.pageToken },
      );
      return {
        members: page.rows.map((m) =>
          create(MemberSchema, { userId: m.userId, role: m.role as Role, joinedAtMs: m.joinedAtMs }),
        ),
        nextPageToken: page.nextPageToken,
      };
    },

    async setRole(req, hctx) {
      if (![Role.MEMBER, Role.MODERATOR, Role.OWNER].includes(req.role))
        throw new ConnectError("role: must be MEMBER, MODERATOR or OWNER", Code.InvalidArgument);
      const a = await actorOf(hctx, req.communityId);
      if (!a.admin && a.role !== Role.OWNER)
        throw new ConnectError("only the community's owner may change roles", Code.PermissionDenied);
      const cid = a.community.id;
      const member = await db.transaction(async (tx) => {
        const dao = new MemberRowDao(tx);
        const target = await dao.get({ communityId: cid, userId: req.userId });
        if (!target) throw new ConnectError("user_id: not a member of this community", Code.FailedPrecondition);
        const c = (await new CommunityRowDao(tx).get({ id: cid }))!;
        if (target.role === Role.OWNER && req.role !== Role.OWNER && !a.admin)
          throw new ConnectError("hand ownership to another member first", Code.FailedPrecondition);
        if (req.role === Role.OWNER && c.ownerId !== req.userId) {
          // Ownership moves: the previous owner stays on as a moderator.
          if (c.ownerId) {
            await dao.update({ communityId: cid, userId: c.ownerId }, { role: Role.MODERATOR });
            await changed(tx, cid, c.ownerId, Role.MODERATOR, false, "set_role", a.userId);
          }
          await new CommunityRowDao(tx).update({ id: cid }, { ownerId: req.userId });
        } else if (target.role === Role.OWNER && req.role !== Role.OWNER) {
          await new CommunityRowDao(tx).update({ id: cid }, { ownerId: 0n });
        }
        await dao.update({ communityId: cid, userId: req.userId }, { role: req.role });
        await log(tx, a, "set_role", req.userId, Role[req.role]!.toLowerCase());
        await changed(tx, cid, req.userId, req.role, false, "set_role", a.userId);
        return { ...target, role: req.role };
      });
      return {
        member: create(MemberSchema, { userId: member.userId, role: member.role, joinedAtMs: member.joinedAtMs }),
      };
    },

    async ban(req, hctx) {
      const a = await actorOf(hctx, req.communityId);
      const cid = a.community.id;
      const target = await membership(cid, req.userId);
      mayModerate(a, req.userId, target.role);
      await db.transaction(async (tx) => {
        const now = BigInt(Date.now());
        const fresh = await new BanRowDao(tx).insertIfAbsent({
          communityId: cid,
          userId: req.userId,
          byUserId: a.userId,
          reason: req.reason,
          atMs: now,
        });
        if (await new MemberRowDao(tx).delete({ communityId: cid, userId: req.userId }))
          await new CommunityRowDao(tx).incrementMemberCount({ id: cid }, -1);
        if (!fresh) return;
        await log(tx, a, "ban", req.userId, req.reason);
        await changed(tx, cid, req.userId, Role.UNSPECIFIED, true, "ban", a.userId);
      });
      return { membership: membershipMsg(cid, req.userId, Role.UNSPECIFIED, true) };
    },

    async unban(req, hctx) {
      const a = await actorOf(hctx, req.communityId);
      const cid = a.community.id;
      mayModerate(a, req.userId, Role.UNSPECIFIED);
      await db.transaction(async (tx) => {
        if (!(await new BanRowDao(tx).delete({ communityId: cid, userId: req.userId }))) return;
        await log(tx, a, "unban", req.userId, "");
        await changed(tx, cid, req.userId, Role.UNSPECIFIED, false, "unban", a.userId);
      });
      return { membership: membershipMsg(cid, req.userId, Role.UNSPECIFIED, false) };
    },

    async listModLog(req, hctx) {
      const a = await actorOf(hctx, req.communityId);
      if (!a.admin && a.role !== Role.OWNER && a.role !== Role.MODERATOR)
        throw new ConnectError("only moderators may read the moderation log", Code.PermissionDenied);
      const page = await new ModLogRowDao(db).listByCommunityId(
        { communityId: a.community.id },
        { limit: req.pageSize || DEFAULT_PAGE, pageToken: req.pageToken, order: "desc" },
      );
      return {
        entries: page.rows.map((r) =>
          create(ModLogEntrySchema, {
            id: r.id,
            communityId: r.communityId,
            actorId: r.actorId,
            action: r.action,
            targetUserId: r.targetUserId,
            detail: r.detail,
            atMs: r.atMs,
          }),
        ),
        nextPageToken: page.nextPageToken,
      };
    },

    async listCommunityPosts(req, hctx) {
      await notBanned(hctx, req.communityId);
      const posts = new CommunityPostRowDao(db);
      const opts = { limit: req.pageSize || DEFAULT_PAGE, pageToken: req.pageToken, order: "desc" as const };
      const page =
        req.order === PostOrder.NEW
          ? await posts.listByCommunityIdOrderByPostId({ communityId: req.communityId }, opts)
          : await posts.listByCommunityId({ communityId: req.communityId }, opts);
      return {
        posts: page.rows.map((r) =>
          create(CommunityPostSchema, {
            postId: r.postId,
            authorId: r.authorId,
            createdAtMs: r.createdAtMs,
            likeCount: r.likeCount,
            commentCount: r.commentCount,
            hotScore: Number(r.hotScore) / 1e6,
          }),
        ),
        nextPageToken: page.nextPageToken,
      };
    },

    async createSeries(req, hctx) {
      await ready;
      const me = BigInt(requireUser(hctx).userId);
      if (!admins.has(me)) throw new ConnectError("only admins may create series", Code.PermissionDenied);
      if (!req.title.trim()) throw new ConnectError("title: must not be blank", Code.InvalidArgument);
      const { series, community: c } = await catalogue.create({
        slug: req.slug,
        title: req.title,
        aliases: req.aliases,
        season: req.season,
        coverMediaId: req.coverMediaId,
        coverUrl: req.coverUrl,
        ownerId: req.ownerId,
      });
      return { series: toSeries(series, c.id), community: toCommunity(c, series) };
    },

    async getMembership(req) {
      await community(req.communityId);
      const m = await membership(req.communityId, req.userId);
      return { membership: membershipMsg(req.communityId, req.userId, m.role, m.banned) };
    },
  };
}
