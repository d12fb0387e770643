/** The ModerationService handlers: reports, the review queue, actions, the modlog. */
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import {
  AccountSuspendedSchema,
  AccountUnsuspendedSchema,
  CommunityBannedSchema,
  ContentHiddenSchema,
  ContentUnhiddenSchema,
} from "../../gen/orbit/moderation/v1/events_pb.js";
import {
  ModerationAction,
  ModlogEntrySchema,
  ReportReason,
  ReportSchema,
  ReportStatus,
  TargetKind,
  type ModerationService,
} from "../../gen/orbit/moderation/v1/moderation_pb.js";
import { ModlogRowDao, ReportRowDao } from "../../gen/orbit/moderation/v1/tables_db.js";
import type { ModlogRow, ReportRow } from "../../gen/orbit/moderation/v1/tables_pb.js";
import { ChatService } from "../../gen/orbit/chat/v1/chat_pb.js";
import { LiveService } from "../../gen/orbit/live/v1/live_pb.js";
import { PostService } from "../../gen/orbit/post/v1/post_pb.js";
import { UserService } from "../../gen/orbit/user/v1/user_pb.js";
import type { ServiceContext } from "../../platform/kernel/context.js";
import { requireUser } from "../../platform/rpc/call-scope.js";
import { requireModerator } from "./roles.js";

const DEFAULT_PAGE = 20;

/** The undo actions and the action each undoes. */
const UNDOES = new Map<ModerationAction, ModerationAction>([
  [ModerationAction.UNHIDE_CONTENT, ModerationAction.HIDE_CONTENT],
  [ModerationAction.UNSUSPEND_ACCOUNT, ModerationAction.SUSPEND_ACCOUNT],
]);

function invalid(msg: string): ConnectError {
  return new ConnectError(msg, Code.InvalidArgument);
}

function toReport(r: ReportRow) {
  return create(ReportSchema, {
    id: r.id,
    reporterId: r.reporterId,
    target: r.target,
    targetId: r.targetId,
    reason: r.reason,
    comment: r.comment,
    status: r.status,
    createdAtMs: r.createdAtMs,
    targetAuthorId: r.targetAuthorId,
    resolvedBy: r.resolvedBy,
    resolvedAtMs: r.resolvedAtMs,
    action: r.action,
    conversationId: r.conversationId,
  });
}

function toEntry(r: ModlogRow) {
  return create(ModlogEntrySchema, {
    id: r.id,
    moderatorId: r.moderatorId,
    action: r.action,
    target: r.target,
    targetId: r.targetId,
    targetAuthorId: r.targetAuthorId,
    reportId: r.reportId,
    communityId: r.communityId,
    note: r.note,
    atMs: r.atMs,
  });
}

export function moderationHandlers(ctx: ServiceContext): ServiceImpl<typeof ModerationService> {
  const db = ctx.db;
  const reports = new ReportRowDao(db);
  const modlog = new ModlogRowDao(db);
  const users = ctx.client(UserService);
  const posts = ctx.client(PostService);
  const chat = ctx.client(ChatService);
  const live = ctx.client(LiveService);

  /**
   * The author of the reported target (the account itself for a user, the
   * owner of a stream), asked of the service that owns it; NotFound if it does
   * not exist. A message is reported by a member of its conversation only
   * (PermissionDenied otherwise, NotFound when the conversation is missing).
   */
  async function authorOf(me: bigint, kind: TargetKind, id: bigint, conversationId: bigint): Promise<bigint> {
    if (kind === TargetKind.USER) {
      if ((await users.getUsers({ userIds: [id] })).users.length === 0)
        throw new ConnectError("user not found", Code.NotFound);
      return id;
    }
    if (kind === TargetKind.POST) {
      const p = (await posts.batchGetPosts({ postIds: [id] })).posts[0];
      if (!p) throw new ConnectError("post not found", Code.NotFound);
      return p.authorId;
    }
    if (kind === TargetKind.COMMENT) {
      const c = (await posts.getComments({ commentIds: [id] })).comments[0];
      if (!c) throw new ConnectError("comment not found", Code.NotFound);
      return c.authorId;
    }
    if (kind === TargetKind.MESSAGE) {
      const m = await chat.lookupMessage({ conversationId, messageId: id, userId: me });
      if (!m.visibleToUser)
        throw new ConnectError("only members of its conversation may report a message", Code.PermissionDenied);
      return m.senderId;
    }
    // A stream (GetStream answers NotFound for a missing one).
    const s = (await live.getStream({ streamId: id })).stream;
    if (!s) throw new ConnectError("stream not found", Code.NotFound);
    return s.ownerId;
  }

  return {
    async report(req, hctx) {
      const me = BigInt(requireUser(hctx).userId);
      if (!(req.target in TargetKind) || req.target === TargetKind.UNSPECIFIED)
        throw invalid("target: one of USER, POST, COMMENT, MESSAGE, STREAM");
      if (!(req.reason in ReportReason) || req.reason === ReportReason.UNSPECIFIED)
        throw invalid("reason: required (SPAM, HARASSMENT, …)");
      if (req.target === TargetKind.USER && req.targetId === me) throw invalid("target_id: you cannot report yourself");
      if (req.target === TargetKind.MESSAGE && req.conversationId === 0n)
        throw invalid("conversation_id: required to report a message");
      const conversationId = req.target === TargetKind.MESSAGE ? req.conversationId : 0n;
      const targetAuthorId = await authorOf(me, req.target, req.targetId, conversationId);
      const openKey = `${req.target}:${req.targetId}`;
      const open = async () =>
        (
          await db.allValues("SELECT id FROM moderation_reports WHERE reporter_id = ? AND open_key = ?", [me, openKey])
        )[0];
      const existing = await open();
      if (existing) return { report: toReport((await reports.get({ id: BigInt(String(existing[0])) }))!) };
      const id = ctx.ids.next();
      await reports.insert({
        id,
        reporterId: me,
        target: req.target,
        targetId: req.targetId,
        reason: req.reason,
        comment: req.comment,
        status: ReportStatus.OPEN,
        createdAtMs: BigInt(Date.now()),
        targetAuthorId,
        resolvedBy: 0n,
        resolvedAtMs: 0n,
        action: ModerationAction.UNSPECIFIED,
        openKey,
        conversationId,
      });
      return { report: toReport((await reports.get({ id }))!) };
    },

    async listReports(req, hctx) {
      await requireModerator(db, hctx);
      const status = req.status === ReportStatus.UNSPECIFIED ? ReportStatus.OPEN : req.status;
      if (!(status in ReportStatus)) throw invalid("status: OPEN or RESOLVED");
      const page = await reports.listByStatus(
        { status },
        {
          limit: req.pageSize || DEFAULT_PAGE,
          pageToken: req.pageToken,
          order: status === ReportStatus.OPEN ? "asc" : "desc",
        },
      );
      return { reports: page.rows.map(toReport), nextPageToken: page.nextPageToken };
    },

    async resolve(req, hctx) {
      const me = await requireModerator(db, hctx);
      if (!(req.action in ModerationAction) || req.action === ModerationAction.UNSPECIFIED)
        throw invalid(
          "action: DISMISS, HIDE_CONTENT, SUSPEND_ACCOUNT, BAN_FROM_COMMUNITY, UNHIDE_CONTENT or UNSUSPEND_ACCOUNT",
        );
      const r = await reports.get({ id: req.reportId });
      if (!r) throw new ConnectError("report not found", Code.NotFound);
      // An undo acts on the resolved report whose action it undoes; every other action on an open report.
      const undoes = UNDOES.get(req.action);
      if (undoes !== undefined) {
        if (r.status !== ReportStatus.RESOLVED || r.action !== undoes)
          throw new ConnectError(
            `this report's action is not ${ModerationAction[undoes]}: nothing to undo`,
            Code.FailedPrecondition,
          );
      } else if (r.status !== ReportStatus.OPEN)
        throw new ConnectError("report already resolved", Code.FailedPrecondition);
      const account = r.target === TargetKind.USER ? r.targetId : r.targetAuthorId;
      if (
        req.action === ModerationAction.UNHIDE_CONTENT &&
        (r.target === TargetKind.MESSAGE || r.target === TargetKind.STREAM)
      )
        throw new ConnectError(
          "a hidden message (a tombstone) or stream (ended) cannot be restored",
          Code.FailedPrecondition,
        );
      if (req.action === ModerationAction.HIDE_CONTENT && r.target === TargetKind.USER)
        throw invalid("action: an account is not hidden but suspended (SUSPEND_ACCOUNT)");
      if (
        (req.action === ModerationAction.SUSPEND_ACCOUNT || req.action === ModerationAction.BAN_FROM_COMMUNITY) &&
        account === 0n
      )
        throw new ConnectError("the author of this content is not known", Code.FailedPrecondition);
      if (req.action === ModerationAction.BAN_FROM_COMMUNITY && req.communityId === 0n)
        throw invalid("community_id: required to ban from a community");
      const now = BigInt(Date.now());
      const entry: ModlogRow = {
        $typeName: "orbit.moderation.v1.ModlogRow",
        id: ctx.ids.next(),
        moderatorId: me,
        action: req.action,
        target: r.target,
        targetId: r.targetId,
        targetAuthorId: r.targetAuthorId,
        reportId: r.id,
        communityId: req.action === ModerationAction.BAN_FROM_COMMUNITY ? req.communityId : 0n,
        note: req.note,
        atMs: now,
      };
      await db.transaction(async (tx) => {
        // Only an open report is resolved (an undo: only while it still has the action undone): two moderators at once, one wins.
        const done =
          undoes === undefined
            ? await tx.run(
                "UPDATE moderation_reports SET status = ?, resolved_by = ?, resolved_at_ms = ?, action = ?, open_key = '' WHERE id = ? AND status = ?",
                [ReportStatus.RESOLVED, me, now, req.action, r.id, ReportStatus.OPEN],
              )
            : await tx.run(
                "UPDATE moderation_reports SET resolved_by = ?, resolved_at_ms = ?, action = ? WHERE id = ? AND status = ? AND action = ?",
                [me, now, req.action, r.id, ReportStatus.RESOLVED, undoes],
              );
        if (done.changes !== 1)
          throw new ConnectError(
            undoes === undefined ? "report already resolved" : "the action was already undone",
            Code.FailedPrecondition,
          );
        await modlog.with(tx).insert(entry);
        const common = { moderatorId: me, reportId: r.id, atMs: now };
        if (req.action === ModerationAction.HIDE_CONTENT)
          await ctx.events.publish(tx, ContentHiddenSchema, {
            kind: r.target,
            targetId: r.targetId,
            authorId: r.targetAuthorId,
            conversationId: r.conversationId,
            ...common,
          });
        else if (req.action === ModerationAction.SUSPEND_ACCOUNT)
          await ctx.events.publish(tx, AccountSuspendedSchema, { userId: account, ...common });
        else if (req.action === ModerationAction.UNHIDE_CONTENT)
          await ctx.events.publish(tx, ContentUnhiddenSchema, {
            kind: r.target,
            targetId: r.targetId,
            authorId: r.targetAuthorId,
            conversationId: r.conversationId,
            ...common,
          });
        else if (req.action === ModerationAction.UNSUSPEND_ACCOUNT)
          await ctx.events.publish(tx, AccountUnsuspendedSchema, { userId: account, ...common });
        else if (req.action === ModerationAction.BAN_FROM_COMMUNITY)
          await ctx.events.publish(tx, CommunityBannedSchema, {
            communityId: req.communityId,
            userId: account,
            ...common,
          });
      });
      return { report: toReport((await reports.get({ id: r.id }))!), entry: toEntry(entry) };
    },

    async listModlog(req, hctx) {
      await requireModerator(db, hctx);
      const page = await modlog.list({ limit: req.pageSize || DEFAULT_PAGE, pageToken: req.pageToken, order: "desc" });
      return { entries: page.rows.map(toEntry), nextPageToken: page.nextPageToken };
    },
  };
}
