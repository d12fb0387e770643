/**
 * The chat service's logic. Every change to a conversation runs in one SQL
 * transaction that holds the conversation row's lock: it takes the
 * conversation's next change `seq`, writes its rows (the message into the
 * wide table, the conversation, the members), appends the ChatUpdate to the
 * conversation's change log (chat_changes) and hands it to the push gateway,
 * all committing together. A device therefore sees each conversation's
 * changes in seq order with no gaps, whether pushed or fetched by GetChanges.
 */
import { create, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  ChatUpdateSchema,
  ConversationChangedSchema,
  ConversationKind,
  ReactionSchema,
  ReceiptSchema,
  Role,
  type ChatUpdate,
  type Conversation,
  type Message,
} from "../../gen/orbit/chat/v1/chat_pb.js";
import {
  ChatChangeRowDao,
  ChatConversationRowDao,
  ChatDirectRowDao,
  ChatMemberRowDao,
  ChatSendRowDao,
} from "../../gen/orbit/chat/v1/tables_db.js";
import type { ChatConversationRow, ChatMemberRow, ChatMessageRow } from "../../gen/orbit/chat/v1/tables_pb.js";
import { MediaService } from "../../gen/orbit/media/v1/media_pb.js";
import { UserService } from "../../gen/orbit/user/v1/user_pb.js";
import type { ServiceContext } from "../../platform/kernel/context.js";
import type { SqlTx } from "../../platform/storage/driver.js";
import { toConversation, toMessage, unreadOf } from "./convert.js";
import { decodeCursor, decodeToken, encodeCursor, encodeToken } from "./cursor.js";
import { MessageStore } from "./messages.js";
import type { ChatPush } from "./push.js";
import { RoomChatLimits } from "./room-limits.js";
import { SenderCache, type Sendable } from "./senders.js";
import { SendBatcher } from "./sends.js";
import type { chatSettings } from "./settings.js";

/** Distinct emoji a message may carry. */
export const MAX_REACTIONS = 20;
/** Bytes of one emoji (UTF-8): a flag or a family sequence fits. */
export const MAX_EMOJI_BYTES = 32;

const err = (code: Code, msg: string) => new ConnectError(msg, code);
const notFound = (what = "conversation") => err(Code.NotFound, `${what} not found`);

type ChangeCase = NonNullable<ChatUpdate["change"]["case"]>;
type ChangeValue<C extends ChangeCase> = Extract<ChatUpdate["change"], { case: C }>["value"];

/** What a change runs with: its transaction, the locked conversation, and `emit`. */
interface ChangeScope {
  readonly tx: SqlTx;
  readonly conv: ChatConversationRow;
  readonly me: bigint;
  /** The caller's membership, checked active unless the change allows otherwise. */
  readonly member: ChatMemberRow;
  /**
   * Appends a change: the next seq, the change log, the push. `to`: who gets
   * it (default: the active members); `onlyUser`: a change only that user sees.
   */
  emit<C extends ChangeCase>(
    kind: C,
    value: ChangeValue<C>,
    opts?: { to?: readonly bigint[]; onlyUser?: bigint },
  ): Promise<ChatUpdate>;
  activeMembers(): Promise<bigint[]>;
}

export class Chat {
  readonly convs: ChatConversationRowDao;
  readonly members: ChatMemberRowDao;
  readonly directs: ChatDirectRowDao;
  readonly sends: ChatSendRowDao;
  readonly changes: ChatChangeRowDao;
  readonly messages: MessageStore;
  readonly sender: SendBatcher;
  /** Who may send where, remembered (senders.ts). */
  readonly senders = new SenderCache();
  private readonly roomLimits: RoomChatLimits;
  private readonly users;
  private readonly media;
  private readonly db;

  constructor(
    private readonly ctx: ServiceContext<typeof chatSettings>,
    private readonly push: ChatPush,
  ) {
    this.db = ctx.db;
    this.convs = new ChatConversationRowDao(ctx.db);
    this.members = new ChatMemberRowDao(ctx.db);
    this.directs = new ChatDirectRowDao(ctx.db);
    this.sends = new ChatSendRowDao(ctx.db);
    this.changes = new ChatChangeRowDao(ctx.db);
    this.messages = new MessageStore(ctx.wide, ctx.db);
    this.users = ctx.client(UserService);
    this.media = ctx.client(MediaService);
    this.roomLimits = new RoomChatLimits(ctx.limits, {
      messages: ctx.settings.roomRateMessages,
      windowMs: ctx.settings.roomRateWindowSeconds * 1000,
    });
    this.sender = new SendBatcher(
      {
        db: ctx.db,
        ids: ctx.ids,
        convs: this.convs,
        sends: this.sends,
        changes: this.changes,
        messages: this.messages,
        push,
        checkBlocks: async (pairs) =>
          (await this.users.checkBlocks({ pairs: pairs.map(([userA, userB]) => ({ userA, userB })) })).blocked,
      },
      ctx.db.dialect === "mysql" ? ctx.settings.sendWriters : 1,
      ctx.settings.sendGatherMs,
    );
  }

  /**
   * Media must be the caller's own and READY (the media service's CheckMedia;
   * `imagesOnly` for avatars): FailedPrecondition names the ones that are not.
   */
  private async requireReadyMedia(ownerId: bigint, mediaIds: readonly bigint[], imagesOnly: boolean): Promise<void> {
    if (mediaIds.length === 0) return;
    const { problems } = await this.media.checkMedia({ ownerId, mediaIds: [...mediaIds], imagesOnly });
    if (problems.length) {
      const field = imagesOnly ? "avatar_media_id" : "media_ids";
      throw err(Code.FailedPrecondition, `${field}: ${problems.join("; ")}`);
    }
  }

  // ── membership ────────────────────────────────────────────────────────────

  /** Active member ids of a conversation. */
  async activeMembers(conversationId: bigint, tx?: SqlTx): Promise<bigint[]> {
    const rows = await (tx ?? this.db).allValues(
      "SELECT user_id FROM chat_members WHERE conversation_id = ? AND active = 1",
      [conversationId],
    );
    return rows.map((r) => BigInt(r[0] as number | bigint | string));
  }

  /** Whether a user may join channel "conv:<id>" (typing): an active member. */
  async mayJoin(userId: bigint, channelId: string): Promise<boolean> {
    const id = /^(?:conv:)?(\d{1,19})$/.exec(channelId)?.[1];
    if (!id) return false;
    const m = await this.members.get({ conversationId: BigInt(id), userId });
    return m?.active === true;
  }

  /**
   * The conversation and the caller's membership, for reading: NotFound if
   * the caller never was a member (its existence is not revealed).
   */
  async readable(conversationId: bigint, me: bigint): Promise<{ conv: ChatConversationRow; member: ChatMemberRow }> {
    const member = await this.members.get({ conversationId, userId: me });
    if (!member) throw notFound();
    const conv = await this.convs.get({ id: conversationId });
    if (!conv) throw notFound();
    return { conv, member };
  }

  /**
   * Runs `fn` as one change of a conversation (see the file comment). The
   * caller must be an active member unless `allowFormer`.
   */
  async change<T>(
    conversationId: bigint,
    me: bigint,
    fn: (s: ChangeScope) => Promise<T>,
    opts: { allowFormer?: boolean; system?: boolean; joining?: boolean } = {},
  ): Promise<T> {
    return this.db.transaction(async (tx) => {
      // The conversation's lock: its changes take seqs one at a time, in commit order.
      // (SQLite's write transaction is already exclusive.)
      if (tx.dialect === "mysql") {
        await tx.get("SELECT id FROM chat_conversations WHERE id = ? FOR UPDATE", [conversationId]);
      }
      // A system change (a moderator's, from an event) has an actor but no membership.
      // `joining` (a room's chat): the user may not be a member yet; `fn` writes its row.
      const member = opts.system
        ? undefined
        : ((await this.members.with(tx).get({ conversationId, userId: me })) ??
          (opts.joining ? memberRow(conversationId, me, Role.MEMBER, BigInt(Date.now()), 0n) : undefined));
      if (!member && !opts.system) throw notFound();
      if (member && !member.active && !opts.allowFormer && !opts.joining) {
        throw err(Code.PermissionDenied, "you are no longer a member of this conversation");
      }
      const conv = await this.convs.with(tx).get({ id: conversationId });
      if (!conv) throw notFound();
      const startSeq = conv.seq;
      let members: bigint[] | undefined;
      const activeMembers = async () => (members ??= await this.activeMembers(conversationId, tx));
      const scope: ChangeScope = {
        tx,
        conv,
        me,
        get member(): ChatMemberRow {
          if (!member) throw new Error("a system change has no membership");
          return member;
        },
        activeMembers,
        emit: async (kind, value, o = {}) => {
          conv.seq += 1n;
          const update = create(ChatUpdateSchema, {
            conversationId,
            seq: BigInt(conv.seq),
            atMs: BigInt(Date.now()),
            actorId: me,
            change: { case: kind, value } as ChatUpdate["change"],
          });
          await this.changes.with(tx).insert({
            conversationId,
            seq: conv.seq,
            onlyUserId: o.onlyUser ?? 0n,
            payload: update,
            atMs: update.atMs,
          });
          const to = o.onlyUser !== undefined ? [o.onlyUser] : (o.to ?? (await activeMembers()));
          if (to.length) await this.push.toUsers(tx, to, update);
          return update;
        },
      };
      const out = await fn(scope);
      if (conv.seq !== startSeq) {
        await this.convs.with(tx).update(
          { id: conversationId },
          {
            seq: conv.seq,
            messageSeq: conv.messageSeq,
            activityId: conv.activityId,
            lastMessage: conv.lastMessage ?? null,
            title: conv.title,
            avatarMediaId: conv.avatarMediaId,
            memberCount: conv.memberCount,
          },
        );
      }
      return out;
    });
  }

  // ── conversations ─────────────────────────────────────────────────────────

  private async requireUsers(ids: readonly bigint[]): Promise<void> {
    const found = new Set<bigint>();
    for (let i = 0; i < ids.length; i += 500) {
      const r = await this.users.getUsers({ userIds: ids.slice(i, i + 500) });
      for (const u of r.users) found.add(u.id);
    }
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length) throw err(Code.NotFound, `users not found: ${missing.slice(0, 10).join(", ")}`);
  }

  private async refuseBlocked(me: bigint, ids: readonly bigint[]): Promise<void> {
    const blocked: bigint[] = [];
    for (let i = 0; i < ids.length; i += 1000) {
      const r = await this.users.filterBlocked({ userId: me, otherUserIds: ids.slice(i, i + 1000) });
      blocked.push(...r.blockedUserIds);
    }
    if (blocked.length) {
      throw err(
        Code.PermissionDenied,
        `you cannot add these users (a block between you): ${blocked.slice(0, 10).join(", ")}`,
      );
    }
  }

  private async refuseBlockedDirect(me: bigint, other: bigint): Promise<void> {
    if ((await this.users.checkBlock({ userA: me, userB: other })).blocked) {
      throw err(Code.PermissionDenied, "you cannot message this user");
    }
  }

  async openDirect(me: bigint, other: bigint): Promise<Conversation> {
    if (other === me) throw err(Code.InvalidArgument, "user_id: a direct conversation needs another user");
    if (other <= 0n) throw err(Code.InvalidArgument, "user_id: must be positive");
    await this.requireUsers([other]);
    await this.refuseBlockedDirect(me, other);
    const [userLo, userHi] = me < other ? [me, other] : [other, me];
    const existing = await this.directs.get({ userLo, userHi });
    if (!existing) {
      const id = this.ctx.ids.next();
      const now = BigInt(Date.now());
      const created = await this.db.transaction(async (tx) => {
        if (!(await this.directs.with(tx).insertIfAbsent({ userLo, userHi, conversationId: id }))) return false;
        const conv: ChatConversationRow = {
          $typeName: "orbit.chat.v1.ChatConversationRow",
          id,
          kind: ConversationKind.DIRECT,
          title: "",
          avatarMediaId: 0n,
          createdBy: me,
          createdAtMs: now,
          memberCount: 2,
          seq: 1n,
          messageSeq: 0n,
          activityId: id,
          userLo,
          userHi,
          slowModeMs: 0,
        };
        await this.convs.with(tx).insert(conv);
        await this.members
          .with(tx)
          .insertMany([userLo, userHi].map((userId) => memberRow(id, userId, Role.MEMBER, now, 0n)));
        await this.firstChange(tx, conv, me, [userLo, userHi]);
        return true;
      });
      if (!created) return this.openDirect(me, other); // the other one won the race
    }
    const conversationId = existing?.conversationId ?? (await this.directs.get({ userLo, userHi }))!.conversationId;
    const { conv, member } = await this.readable(conversationId, me);
    return toConversation(conv, member);
  }

  /** Change 1 of a new conversation ("created"), to its members. */
  private async firstChange(tx: SqlTx, conv: ChatConversationRow, me: bigint, memberIds: bigint[]): Promise<void> {
    const update = create(ChatUpdateSchema, {
      conversationId: conv.id,
      seq: 1n,
      atMs: conv.createdAtMs,
      actorId: me,
      change: {
        case: "conversationChanged",
        value: create(ConversationChangedSchema, {
          what: "created",
          conversation: toConversation(conv),
          userIds: memberIds,
        }),
      },
    });
    await this.changes
      .with(tx)
      .insert({ conversationId: conv.id, seq: 1n, onlyUserId: 0n, payload: update, atMs: conv.createdAtMs });
    await this.push.toUsers(tx, memberIds, update);
  }

  async createGroup(
    me: bigint,
    title: string,
    memberIds: readonly bigint[],
    avatarMediaId: bigint,
  ): Promise<Conversation> {
    const t = title.trim();
    if (!t) throw err(Code.InvalidArgument, "title: must not be blank");
    if (avatarMediaId < 0n) throw err(Code.InvalidArgument, "avatar_media_id: must not be negative");
    const others = [...new Set(memberIds)].filter((id) => id !== me);
    if (others.some((id) => id <= 0n)) throw err(Code.InvalidArgument, "member_ids: must be positive");
    const max = this.ctx.settings.maxMembers;
    if (others.length + 1 > max) throw err(Code.ResourceExhausted, `a group holds at most ${max} members`);
    await this.requireUsers(others);
    await this.refuseBlocked(me, others);
    if (avatarMediaId > 0n) await this.requireReadyMedia(me, [avatarMediaId], true);
    const id = this.ctx.ids.next();
    const now = BigInt(Date.now());
    const conv: ChatConversationRow = {
      $typeName: "orbit.chat.v1.ChatConversationRow",
      id,
      kind: ConversationKind.GROUP,
      title: t,
      avatarMediaId,
      createdBy: me,
      createdAtMs: now,
      memberCount: others.length + 1,
      seq: 1n,
      messageSeq: 0n,
      activityId: id,
      userLo: 0n,
      userHi: 0n,
      slowModeMs: 0,
    };
    const all = [me, ...others];
    await this.db.transaction(async (tx) => {
      await this.convs.with(tx).insert(conv);
      await this.members
        .with(tx)
        .insertMany(all.map((userId) => memberRow(id, userId, userId === me ? Role.OWNER : Role.MEMBER, now, 0n)));
      await this.firstChange(tx, conv, me, all);
    });
    const { conv: c, member } = await this.readable(id, me);
    return toConversation(c, member);
  }

  private requireGroup(conv: ChatConversationRow): void {
    if (conv.kind === ConversationKind.DIRECT)
      throw err(Code.FailedPrecondition, "this is a direct conversation, not a group");
    if (conv.kind !== ConversationKind.GROUP)
      throw err(Code.FailedPrecondition, "this is a room's chat: its members follow the room");
  }

  // ── room chats (the live service's watch-together rooms) ──────────────────

  /**
   * The conversation of a watch-together room: kind ROOM, owned by the room's
   * host, with slow mode. Members join with the room (`joinRoom`); the group
   * calls (AddMembers, LeaveGroup, …) do not apply to it. No user or block
   * checks: the live service asks, for a user who joined the room.
   */
  async createRoomChat(ownerId: bigint, title: string, slowModeMs: number): Promise<bigint> {
    const id = this.ctx.ids.next();
    const now = BigInt(Date.now());
    const conv: ChatConversationRow = {
      $typeName: "orbit.chat.v1.ChatConversationRow",
      id,
      kind: ConversationKind.ROOM,
      title: title.trim().slice(0, 100),
      avatarMediaId: 0n,
      createdBy: ownerId,
      createdAtMs: now,
      memberCount: 1,
      seq: 1n,
      messageSeq: 0n,
      activityId: id,
      userLo: 0n,
      userHi: 0n,
      slowModeMs,
    };
    await this.db.transaction(async (tx) => {
      await this.convs.with(tx).insert(conv);
      await this.members.with(tx).insert(memberRow(id, ownerId, Role.OWNER, now, 0n));
      await this.firstChange(tx, conv, ownerId, [ownerId]);
    });
    return id;
  }

  /** Makes `userId` an active member of a room's chat (idempotent; history visible, as in groups). */
  async joinRoom(conversationId: bigint, userId: bigint): Promise<void> {
    const m = await this.members.get({ conversationId, userId });
    if (m?.active) return;
    await this.change(
      conversationId,
      userId,
      async (s) => {
        if (s.conv.kind !== ConversationKind.ROOM) throw err(Code.FailedPrecondition, "not a room's chat");
        const before = await this.members.with(s.tx).get({ conversationId, userId });
        if (before?.active) return;
        const row = memberRow(conversationId, userId, Role.MEMBER, BigInt(Date.now()), s.conv.seq);
        if (before) {
          row.role = before.role;
          row.readSeq = before.readSeq;
          row.readMessageId = before.readMessageId;
          row.deliveredSeq = before.deliveredSeq;
          row.muted = before.muted;
        }
        await this.members.with(s.tx).upsert(row);
        s.conv.memberCount += 1;
        await s.emit("conversationChanged", this.conversationChanged("members_added", s.conv, [userId]));
      },
      { joining: true },
    );
  }

  /**
   * `userId` left the room: a former member of its chat (idempotent), as one who leaves a group —
   * history up to then stays readable; the owner's role passes to the oldest member.
   */
  async leaveRoom(conversationId: bigint, userId: bigint): Promise<void> {
    const m = await this.members.get({ conversationId, userId });
    if (!m?.active) return;
    await this.change(
      conversationId,
      userId,
      async (s) => {
        if (s.conv.kind !== ConversationKind.ROOM) throw err(Code.FailedPrecondition, "not a room's chat");
        await this.depart(s, userId, "member_left");
      },
      { allowFormer: true },
    );
  }

  private requireAdmin(member: ChatMemberRow): void {
    if (member.role !== Role.OWNER && member.role !== Role.ADMIN) {
      throw err(Code.PermissionDenied, "only the group's owner and admins may do this");
    }
  }

  private conversationChanged(
    what: string,
    conv: ChatConversationRow,
    userIds: bigint[] = [],
    role = Role.UNSPECIFIED,
  ) {
    return create(ConversationChangedSchema, { what, conversation: toConversation(conv), userIds, role });
  }

  async addMembers(me: bigint, conversationId: bigint, userIds: readonly bigint[]): Promise<Conversation> {
    const ids = [...new Set(userIds)].filter((id) => id !== me);
    if (ids.some((id) => id <= 0n)) throw err(Code.InvalidArgument, "user_ids: must be positive");
    await this.requireUsers(ids);
    await this.refuseBlocked(me, ids);
    const max = this.ctx.settings.maxMembers;
    await this.change(conversationId, me, async (s) => {
      this.requireGroup(s.conv);
      this.requireAdmin(s.member);
      const dao = this.members.with(s.tx);
      const existing = new Map<bigint, ChatMemberRow>();
      for (const id of ids) {
        const m = await dao.get({ conversationId, userId: id });
        if (m) existing.set(id, m);
      }
      const added = ids.filter((id) => !existing.get(id)?.active);
      if (!added.length) return;
      if (s.conv.memberCount + added.length > max) {
        throw err(Code.ResourceExhausted, `a group holds at most ${max} members (it has ${s.conv.memberCount})`);
      }
      const now = BigInt(Date.now());
      // They see changes from the one that adds them (seq + 1) on.
      const joinedSeq = s.conv.seq;
      for (const id of added) {
        const before = existing.get(id);
        const row = memberRow(conversationId, id, Role.MEMBER, now, joinedSeq);
        // A returning member keeps its read pointer (history is visible to members).
        if (before) {
          row.readSeq = before.readSeq;
          row.readMessageId = before.readMessageId;
          row.deliveredSeq = before.deliveredSeq;
          row.muted = before.muted;
        }
        await dao.upsert(row);
      }
      s.conv.memberCount += added.length;
      await s.emit("conversationChanged", this.conversationChanged("members_added", s.conv, added));
    });
    return this.view(conversationId, me);
  }

  /** The conversation with the caller's unread count and the last message (as a list line). */
  async entry(me: bigint, conversationId: bigint) {
    const { conv, member } = await this.readable(conversationId, me);
    const last = conv.lastMessage;
    const visible = last && (member.active || last.seq <= member.leftMessageSeq);
    return {
      conversation: toConversation(conv, member),
      unreadCount: unreadOf(conv, member),
      lastMessage: visible ? last : undefined,
    };
  }

  async view(conversationId: bigint, me: bigint): Promise<Conversation> {
    const { conv, member } = await this.readable(conversationId, me);
    return toConversation(conv, member);
  }

  /** Marks a member gone (removed or left) in change scope `s`, handing ownership on if needed. */
  private async depart(s: ChangeScope, userId: bigint, what: "member_removed" | "member_left"): Promise<void> {
    const dao = this.members.with(s.tx);
    const target = await dao.get({ conversationId: s.conv.id, userId });
    if (!target?.active) return;
    const recipients = await s.activeMembers(); // the departing user learns it too
    await dao.update(
      { conversationId: s.conv.id, userId },
      { active: false, leftSeq: s.conv.seq + 1n, leftMessageSeq: s.conv.messageSeq, role: Role.MEMBER },
    );
    s.conv.memberCount -= 1;
    this.senders.forget(s.conv.id, userId);
    await s.emit("conversationChanged", this.conversationChanged(what, s.conv, [userId]), { to: recipients });
    if (target.role === Role.OWNER) {
      // The oldest admin, else the oldest member, owns it now.
      const rows = await s.tx.allValues(
        "SELECT user_id, role FROM chat_members WHERE conversation_id = ? AND active = 1 ORDER BY joined_at_ms, user_id",
        [s.conv.id],
      );
      const next = rows.find((r) => Number(r[1]) === Role.ADMIN) ?? rows[0];
      if (next) {
        const heir = BigInt(next[0] as number);
        await dao.update({ conversationId: s.conv.id, userId: heir }, { role: Role.OWNER });
        this.senders.forget(s.conv.id, heir);
        await s.emit("conversationChanged", this.conversationChanged("role_changed", s.conv, [heir], Role.OWNER), {
          to: recipients.filter((id) => id !== userId),
        });
      }
    }
  }

  async removeMember(me: bigint, conversationId: bigint, userId: bigint): Promise<Conversation> {
    if (userId === me) throw err(Code.InvalidArgument, "user_id: use LeaveGroup to leave");
    await this.change(conversationId, me, async (s) => {
      this.requireGroup(s.conv);
      this.requireAdmin(s.member);
      const target = await this.members.with(s.tx).get({ conversationId, userId });
      if (!target?.active) throw err(Code.NotFound, "member not found");
      if (target.role === Role.OWNER || (target.role === Role.ADMIN && s.member.role !== Role.OWNER)) {
        throw err(Code.PermissionDenied, "admins may remove members only; the owner may remove admins");
      }
      await this.depart(s, userId, "member_removed");
    });
    return this.view(conversationId, me);
  }

  async leaveGroup(me: bigint, conversationId: bigint): Promise<void> {
    await this.change(
      conversationId,
      me,
      async (s) => {
        this.requireGroup(s.conv);
        await this.depart(s, me, "member_left");
      },
      { allowFormer: true }, // leaving twice is fine
    );
  }

  async updateGroup(
    me: bigint,
    conversationId: bigint,
    title: string | undefined,
    avatarMediaId: bigint | undefined,
  ): Promise<Conversation> {
    if (title !== undefined && !title.trim()) throw err(Code.InvalidArgument, "title: must not be blank");
    if (avatarMediaId !== undefined && avatarMediaId < 0n) {
      throw err(Code.InvalidArgument, "avatar_media_id: must not be negative");
    }
    if (avatarMediaId) {
      // Checked for those who may change it (the rest get their own error in the change).
      const { conv, member } = await this.readable(conversationId, me);
      const admin = member.role === Role.OWNER || member.role === Role.ADMIN;
      if (member.active && admin && conv.kind === ConversationKind.GROUP) {
        await this.requireReadyMedia(me, [avatarMediaId], true);
      }
    }
    await this.change(conversationId, me, async (s) => {
      this.requireGroup(s.conv);
      this.requireAdmin(s.member);
      const t = title?.trim() ?? s.conv.title;
      const a = avatarMediaId ?? s.conv.avatarMediaId;
      if (t === s.conv.title && a === s.conv.avatarMediaId) return;
      const what = t !== s.conv.title ? "renamed" : "avatar_changed";
      s.conv.title = t;
      s.conv.avatarMediaId = a;
      await s.emit("conversationChanged", this.conversationChanged(what, s.conv));
    });
    return this.view(conversationId, me);
  }

  async setRole(me: bigint, conversationId: bigint, userId: bigint, role: Role): Promise<void> {
    if (![Role.MEMBER, Role.ADMIN, Role.OWNER].includes(role)) throw err(Code.InvalidArgument, "role: not a role");
    if (userId === me) throw err(Code.InvalidArgument, "user_id: not yourself (hand the group on instead)");
    await this.change(conversationId, me, async (s) => {
      this.requireGroup(s.conv);
      if (s.member.role !== Role.OWNER) throw err(Code.PermissionDenied, "only the group's owner may change roles");
      const dao = this.members.with(s.tx);
      const target = await dao.get({ conversationId, userId });
      if (!target?.active) throw err(Code.NotFound, "member not found");
      if (target.role === role) return;
      await dao.update({ conversationId, userId }, { role });
      this.senders.forget(conversationId, userId);
      this.senders.forget(conversationId, me);
      await s.emit("conversationChanged", this.conversationChanged("role_changed", s.conv, [userId], role));
      if (role === Role.OWNER) {
        await dao.update({ conversationId, userId: me }, { role: Role.ADMIN });
        await s.emit("conversationChanged", this.conversationChanged("role_changed", s.conv, [me], Role.ADMIN));
      }
    });
  }

  async setMuted(me: bigint, conversationId: bigint, muted: boolean): Promise<void> {
    await this.change(conversationId, me, async (s) => {
      if (s.member.muted === muted) return;
      await this.members.with(s.tx).update({ conversationId, userId: me }, { muted });
      await s.emit("muted", muted, { onlyUser: me });
    });
  }

  // ── messages ──────────────────────────────────────────────────────────────

  private checkMedia(mediaIds: readonly bigint[]): void {
    if (mediaIds.some((id) => id <= 0n)) throw err(Code.InvalidArgument, "media_ids: must be positive");
    if (new Set(mediaIds).size !== mediaIds.length) throw err(Code.InvalidArgument, "media_ids: must be distinct");
  }

  async send(
    me: bigint,
    req: { conversationId: bigint; clientMessageId: string; text: string; mediaIds: bigint[]; replyToId: bigint },
  ): Promise<Message> {
    const { conversationId } = req;
    if (!req.text.trim() && req.mediaIds.length === 0) {
      throw err(Code.InvalidArgument, "text, media_ids: a message needs text or media");
    }
    this.checkMedia(req.mediaIds);
    if (req.replyToId < 0n) throw err(Code.InvalidArgument, "reply_to_id: must not be negative");
    try {
      // Remembered per process (senders.ts); the batch checks membership again in its transaction.
      let conv = this.senders.get(conversationId, me);
      if (!conv) {
        const { conv: row, member } = await this.readable(conversationId, me);
        if (!member.active) throw err(Code.PermissionDenied, "you are no longer a member of this conversation");
        conv = this.senders.remember(row, member)!;
      }
      // Room chats: slow mode and the per-user rate (room-limits.ts, on ctx.limits); counted once sent.
      const admitted =
        conv.kind === ConversationKind.ROOM
          ? await this.roomLimits.check(undefined, conversationId, me, conv.slowModeMs, conv.role === Role.OWNER)
          : undefined;
      const sent = await this.sendChecked(me, req, conv);
      // A retry of a send that went through: its message, without counting.
      if (typeof sent === "bigint") return this.sentMessage(conversationId, sent);
      await admitted?.();
      return sent;
    } catch (e) {
      if (e instanceof ConnectError && e.code === Code.PermissionDenied) this.senders.forget(conversationId, me);
      // A retry after the send committed answers the same message, whatever changed since
      // (membership, blocks, media, room limits): looked up only when a check fails, as the
      // batch finds committed client ids itself.
      const done = await this.sends.get({ conversationId, senderId: me, clientMessageId: req.clientMessageId });
      if (done) return this.sentMessage(conversationId, done.messageId);
      throw e;
    }
  }

  /** The checks that need other services or the replied-to message (concurrently), then the batch (blocks). */
  private async sendChecked(
    me: bigint,
    req: { conversationId: bigint; clientMessageId: string; text: string; mediaIds: bigint[]; replyToId: bigint },
    conv: Sendable,
  ): Promise<Message | bigint> {
    const { conversationId } = req;
    await Promise.all([
      this.requireReadyMedia(me, req.mediaIds, false),
      req.replyToId > 0n
        ? this.messages.get(conversationId, req.replyToId).then((replied) => {
            if (!replied) throw err(Code.InvalidArgument, "reply_to_id: no such message in this conversation");
          })
        : undefined,
    ]);
    // Written with the other sends of the moment in one transaction (sends.ts), which
    // checks blocks for all its direct sends at once; a retry racing the first attempt
    // answers whichever committed first.
    const other = conv.kind === ConversationKind.DIRECT ? (conv.userLo === me ? conv.userHi : conv.userLo) : undefined;
    return this.sender.send({ me, ...req, other });
  }

  private async sentMessage(conversationId: bigint, messageId: bigint): Promise<Message> {
    const row = await this.messages.get(conversationId, messageId);
    if (!row) throw err(Code.Unavailable, "the message is being written; retry");
    return toMessage(row);
  }

  /**
   * Changes one message in a change scope: `fn` returns the new row (or
   * undefined for no change) and the kind of update to emit.
   */
  private async changeMessage(
    me: bigint,
    conversationId: bigint,
    messageId: bigint,
    fn: (
      row: ChatMessageRow,
      s: ChangeScope,
    ) => { kind: "messageEdited" | "messageDeleted" | "reactionsChanged"; row: ChatMessageRow } | undefined,
    opts: { system?: boolean } = {},
  ): Promise<Message> {
    return this.change(
      conversationId,
      me,
      async (s) => {
        const row = await this.messages.get(conversationId, messageId, s.tx);
        if (!row) throw notFound("message");
        const next = fn(row, s);
        if (!next) return toMessage(row);
        await this.messages.put(s.tx, next.row);
        const message = toMessage(next.row);
        if (s.conv.lastMessage?.id === messageId) s.conv.lastMessage = message;
        await s.emit(next.kind, message);
        return message;
      },
      opts,
    );
  }

  async edit(me: bigint, conversationId: bigint, messageId: bigint, text: string): Promise<Message> {
    return this.changeMessage(me, conversationId, messageId, (row) => {
      if (row.senderId !== me) throw err(Code.PermissionDenied, "you may edit only your own messages");
      if (row.deleted) throw err(Code.FailedPrecondition, "the message was deleted");
      if (!text.trim() && row.mediaIds.length === 0)
        throw err(Code.InvalidArgument, "text: a message without media needs text");
      if (text === row.text) return undefined;
      return { kind: "messageEdited", row: { ...row, text, editedAtMs: BigInt(Date.now()) } };
    });
  }

  async delete(me: bigint, conversationId: bigint, messageId: bigint): Promise<Message> {
    return this.changeMessage(me, conversationId, messageId, (row, s) => {
      const moderator =
        s.conv.kind !== ConversationKind.DIRECT && (s.member.role === Role.OWNER || s.member.role === Role.ADMIN);
      if (row.senderId !== me && !moderator) {
        throw err(Code.PermissionDenied, "you may delete only your own messages");
      }
      if (row.deleted) return undefined;
      return { kind: "messageDeleted", row: tombstone(row, false) };
    });
  }

  /**
   * A message a moderator hid (moderation.content_hidden, hidden.ts): a
   * tombstone like a deleted message (deleted and hidden set, text, media and
   * reactions gone), announced to the members as messageDeleted. Idempotent;
   * NotFound when the conversation or the message is gone.
   */
  async hide(moderatorId: bigint, conversationId: bigint, messageId: bigint): Promise<Message> {
    return this.changeMessage(
      moderatorId,
      conversationId,
      messageId,
      (row) => {
        if (row.hidden) return undefined;
        return { kind: "messageDeleted", row: tombstone(row, true) };
      },
      { system: true },
    );
  }

  async react(me: bigint, conversationId: bigint, messageId: bigint, emoji: string, add: boolean): Promise<Message> {
    if (!isEmoji(emoji)) throw err(Code.InvalidArgument, "emoji: one emoji, without spaces or control characters");
    return this.changeMessage(me, conversationId, messageId, (row) => {
      if (row.deleted) throw err(Code.FailedPrecondition, "the message was deleted");
      const reactions = row.reactions.map((r) => create(ReactionSchema, { emoji: r.emoji, userIds: [...r.userIds] }));
      let r = reactions.find((x) => x.emoji === emoji);
      if (add) {
        if (r?.userIds.includes(me)) return undefined;
        if (!r) {
          if (reactions.length >= MAX_REACTIONS) {
            throw err(Code.ResourceExhausted, `a message carries at most ${MAX_REACTIONS} different reactions`);
          }
          r = create(ReactionSchema, { emoji, userIds: [] });
          reactions.push(r);
        }
        r.userIds.push(me);
      } else {
        if (!r?.userIds.includes(me)) return undefined;
        r.userIds = r.userIds.filter((id) => id !== me);
      }
      return { kind: "reactionsChanged", row: { ...row, reactions: reactions.filter((x) => x.userIds.length > 0) } };
    });
  }

  async listMessages(
    me: bigint,
    conversationId: bigint,
    pageSize: number,
    pageToken: string,
  ): Promise<{ messages: Message[]; nextPageToken: string }> {
    const { conv, member } = await this.readable(conversationId, me);
    const before = pageToken ? decodeToken(pageToken, 1)[0]! : 0n;
    const limit = pageSize || 50;
    const maxSeq = member.active ? undefined : member.leftMessageSeq;
    const out: Message[] = [];
    let cursor = before;
    for (;;) {
      const { rows, more } = await this.messages.page(conversationId, cursor, conv.activityId, limit - out.length);
      for (const row of rows) if (maxSeq === undefined || row.seq <= maxSeq) out.push(toMessage(row));
      if (!more || !rows.length) return { messages: out, nextPageToken: "" };
      cursor = rows[rows.length - 1]!.messageId;
      if (out.length >= limit) return { messages: out, nextPageToken: encodeToken(cursor) };
    }
  }

  /**
   * For services (moderation): who sent a message, and whether `userId` sees
   * it (a member, or a former one for what was sent before it left), as
   * listMessages decides. NotFound for a missing conversation or message.
   */
  async lookupMessage(
    conversationId: bigint,
    messageId: bigint,
    userId: bigint,
  ): Promise<{ senderId: bigint; visibleToUser: boolean }> {
    if (!(await this.convs.get({ id: conversationId }))) throw notFound();
    const row = await this.messages.get(conversationId, messageId);
    if (!row) throw notFound("message");
    const member = userId > 0n ? await this.members.get({ conversationId, userId }) : undefined;
    const visibleToUser = member !== undefined && (member.active || row.seq <= member.leftMessageSeq);
    return { senderId: row.senderId, visibleToUser };
  }

  // ── receipts ──────────────────────────────────────────────────────────────

  async mark(me: bigint, conversationId: bigint, messageId: bigint, read: boolean): Promise<bigint> {
    const row = await this.messages.get(conversationId, messageId);
    // Not a member, or no such message here: the same answer.
    if (!row) {
      await this.readable(conversationId, me);
      throw notFound("message");
    }
    return this.change(conversationId, me, async (s) => {
      const m = s.member;
      const seq = row.seq;
      const patch: Partial<Pick<ChatMemberRow, "readSeq" | "readMessageId" | "deliveredSeq">> = {};
      if (read && seq > m.readSeq) {
        patch.readSeq = seq;
        patch.readMessageId = messageId;
      }
      if (seq > m.deliveredSeq) patch.deliveredSeq = seq;
      if (patch.readSeq === undefined && patch.deliveredSeq === undefined) return unreadOf(s.conv, m);
      await this.members.with(s.tx).update({ conversationId, userId: me }, patch);
      const now = { ...m, ...patch };
      const receipt = create(ReceiptSchema, {
        userId: me,
        readSeq: BigInt(now.readSeq),
        deliveredSeq: BigInt(now.deliveredSeq),
        readMessageId: now.readMessageId,
      });
      // Small conversations: every member sees the receipt; large groups: only the reader's devices.
      const toAll = s.conv.memberCount <= this.ctx.settings.receiptsToAll;
      await s.emit("receipt", receipt, toAll ? {} : { onlyUser: me });
      return unreadOf(s.conv, now);
    });
  }

  async receipts(
    me: bigint,
    conversationId: bigint,
    messageId: bigint,
  ): Promise<{ readBy: bigint[]; deliveredTo: bigint[] }> {
    await this.readable(conversationId, me);
    const row = await this.messages.get(conversationId, messageId);
    if (!row) throw notFound("message");
    const rows = await this.db.allValues(
      "SELECT user_id, read_seq, delivered_seq FROM chat_members WHERE conversation_id = ? AND active = 1 AND user_id <> ? AND delivered_seq >= ? ORDER BY user_id",
      [conversationId, row.senderId, row.seq],
    );
    const readBy: bigint[] = [];
    const deliveredTo: bigint[] = [];
    for (const r of rows) {
      const id = BigInt(r[0] as number);
      deliveredTo.push(id);
      if (BigInt(r[1] as number) >= row.seq) readBy.push(id);
    }
    return { readBy, deliveredTo };
  }

  async listMembers(me: bigint, conversationId: bigint, pageSize: number, pageToken: string) {
    await this.readable(conversationId, me);
    const after = pageToken ? decodeToken(pageToken, 1)[0]! : -1n;
    const limit = pageSize || 100;
    const rows = await this.db.allValues(
      "SELECT user_id, role, joined_at_ms, read_seq, delivered_seq FROM chat_members WHERE conversation_id = ? AND active = 1 AND user_id > ? ORDER BY user_id LIMIT ?",
      [conversationId, after, limit + 1],
    );
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    return {
      members: page.map((r) => ({
        userId: BigInt(r[0] as number),
        role: Number(r[1]) as Role,
        joinedAtMs: BigInt(r[2] as number),
        readSeq: BigInt(r[3] as number),
        deliveredSeq: BigInt(r[4] as number),
      })),
      nextPageToken: more ? encodeToken(BigInt(page[page.length - 1]![0] as number)) : "",
    };
  }

  // ── lists and counts ──────────────────────────────────────────────────────

  async listConversations(me: bigint, pageSize: number, pageToken: string) {
    const limit = pageSize || 20;
    const params: (bigint | number)[] = [me];
    let where = "";
    if (pageToken) {
      const [activity, id] = decodeToken(pageToken, 2) as [bigint, bigint];
      where = " AND (c.activity_id < ? OR (c.activity_id = ? AND c.id < ?))";
      params.push(activity, activity, id);
    }
    params.push(limit + 1);
    const ids = await this.db.allValues(
      `SELECT c.id FROM chat_members m JOIN chat_conversations c ON c.id = m.conversation_id WHERE m.user_id = ?${where} ORDER BY c.activity_id DESC, c.id DESC LIMIT ?`,
      params,
    );
    const more = ids.length > limit;
    const keys = ids.slice(0, limit).map((r) => BigInt(r[0] as number));
    const convs = new Map((await this.convs.getMany(keys.map((id) => ({ id })))).map((c) => [c.id, c]));
    const mine = new Map<bigint, ChatMemberRow>();
    for (const id of keys) {
      const m = await this.members.get({ conversationId: id, userId: me });
      if (m) mine.set(id, m);
    }
    const entries = keys
      .filter((id) => convs.has(id))
      .map((id) => {
        const c = convs.get(id)!;
        const m = mine.get(id);
        const last =
          c.lastMessage && (m?.active || c.lastMessage.seq <= BigInt(m?.leftMessageSeq ?? 0n))
            ? c.lastMessage
            : undefined;
        return { conversation: toConversation(c, m), unreadCount: unreadOf(c, m), lastMessage: last };
      });
    const tail = convs.get(keys[keys.length - 1]!);
    return { conversations: entries, nextPageToken: more && tail ? encodeToken(tail.activityId, tail.id) : "" };
  }

  async unreadTotal(me: bigint): Promise<{ total: bigint; conversations: number }> {
    const r = await this.db.getValues(
      "SELECT COALESCE(SUM(c.message_seq - m.read_seq), 0), COUNT(*) FROM chat_members m JOIN chat_conversations c ON c.id = m.conversation_id WHERE m.user_id = ? AND m.active = 1 AND m.muted = 0 AND c.message_seq > m.read_seq",
      [me],
    );
    return { total: BigInt((r?.[0] as number | string | bigint) ?? 0), conversations: Number(r?.[1] ?? 0) };
  }

  async typing(me: bigint, conversationId: bigint): Promise<void> {
    const { member } = await this.readable(conversationId, me);
    if (!member.active) throw err(Code.PermissionDenied, "you are no longer a member of this conversation");
    const update = create(ChatUpdateSchema, {
      conversationId,
      seq: 0n,
      atMs: BigInt(Date.now()),
      actorId: me,
      change: { case: "typing", value: { userId: me } },
    });
    await this.push.ephemeral(conversationId, update);
  }

  // ── catching up ───────────────────────────────────────────────────────────

  /**
   * Deletes up to `batch` changes made before `beforeMs` (the retention job);
   * returns how many. The oldest go first (index on at_ms).
   */
  async sweepChanges(beforeMs: bigint, batch = 500): Promise<number> {
    const r = await this.db.run(
      this.db.dialect === "sqlite"
        ? "DELETE FROM chat_changes WHERE (conversation_id, seq) IN (SELECT conversation_id, seq FROM chat_changes WHERE at_ms < ? ORDER BY at_ms LIMIT ?)"
        : "DELETE FROM chat_changes WHERE at_ms < ? ORDER BY at_ms LIMIT ?",
      [beforeMs, batch],
    );
    return r.changes;
  }

  async getChanges(
    me: bigint,
    cursor: string,
    pageSize: number,
  ): Promise<{ updates: ChatUpdate[]; cursor: string; hasMore: boolean; resync: boolean }> {
    const budget = pageSize || 500;
    const memberships: ChatMemberRow[] = [];
    let token = "";
    do {
      const page = await this.members.listByUserId({ userId: me }, { limit: 1000, pageToken: token });
      memberships.push(...page.rows);
      token = page.nextPageToken;
    } while (token);
    const seqs = new Map<bigint, bigint>();
    for (let i = 0; i < memberships.length; i += 500) {
      const keys = memberships.slice(i, i + 500).map((m) => ({ id: m.conversationId }));
      for (const c of await this.convs.getMany(keys)) seqs.set(c.id, c.seq);
    }
    const positions = new Map<bigint, bigint>();
    if (!cursor) {
      // A new device: from now on (it loads the current state with the list calls).
      for (const m of memberships)
        if (m.active && seqs.has(m.conversationId)) positions.set(m.conversationId, seqs.get(m.conversationId)!);
      return { updates: [], cursor: encodeCursor(positions), hasMore: false, resync: false };
    }
    const known = decodeCursor(cursor);
    const updates: ChatUpdate[] = [];
    let hasMore = false;
    // Oldest pending conversations first.
    const pending: { id: bigint; from: bigint; to: bigint }[] = [];
    for (const m of memberships) {
      const seq = seqs.get(m.conversationId);
      if (seq === undefined) continue;
      let from = known.get(m.conversationId) ?? m.joinedSeq;
      if (m.active && m.joinedSeq > from) from = m.joinedSeq; // rejoined: not what happened meanwhile
      const to = m.active ? seq : m.leftSeq;
      if (from < to) pending.push({ id: m.conversationId, from, to });
      else if (m.active) positions.set(m.conversationId, from);
    }
    for (const p of pending) {
      if (updates.length >= budget) {
        hasMore = true;
        positions.set(p.id, p.from);
        continue;
      }
      const rows = await this.db.allValues(
        "SELECT seq, only_user_id, payload FROM chat_changes WHERE conversation_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
        [p.id, p.from, p.to, budget - updates.length],
      );
      // The next change is gone (older than the retention window): the device must resync.
      if (!rows.length || BigInt(rows[0]![0] as number) !== p.from + 1n) return this.getChanges(me, "", 0).then(resync);
      let last = p.from;
      for (const r of rows) {
        last = BigInt(r[0] as number);
        const only = BigInt(r[1] as number);
        if (only !== 0n && only !== me) continue;
        updates.push(fromBinary(ChatUpdateSchema, r[2] as Uint8Array));
      }
      if (last < p.to) hasMore = true;
      // A conversation the user left is dropped from the cursor once its last change went out.
      const mem = memberships.find((m) => m.conversationId === p.id)!;
      if (mem.active || last < p.to) positions.set(p.id, last);
    }
    return { updates, cursor: encodeCursor(positions), hasMore, resync: false };
  }
}

/** GetChanges' answer when the cursor is older than the change log keeps: the cursor of now. */
const resync = (now: { cursor: string }) => ({ updates: [], cursor: now.cursor, hasMore: false, resync: true });

function memberRow(conversationId: bigint, userId: bigint, role: Role, now: bigint, joinedSeq: bigint): ChatMemberRow {
  return {
    $typeName: "orbit.chat.v1.ChatMemberRow",
    conversationId,
    userId,
    role,
    active: true,
    joinedAtMs: now,
    joinedSeq,
    leftSeq: 0n,
    readSeq: 0n,
    readMessageId: 0n,
    deliveredSeq: 0n,
    muted: false,
    leftMessageSeq: 0n,
  };
}

/** One emoji: a short run of printable, non-space characters. */
export function isEmoji(s: string): boolean {
  if (!s || Buffer.byteLength(s, "utf8") > MAX_EMOJI_BYTES) return false;
  return !/[\s\p{Cc}]/u.test(s) && !/[A-Za-z0-9]/.test(s);
}

/** A deleted message's row (a moderator's when `hidden`): text, media, reactions and reply gone. */
function tombstone<R extends { hidden: boolean }>(row: R, hidden: boolean): R {
  return {
    ...row,
    text: "",
    mediaIds: [],
    reactions: [],
    replyToId: 0n,
    deleted: true,
    hidden: row.hidden || hidden,
    editedAtMs: BigInt(Date.now()),
  };
}
