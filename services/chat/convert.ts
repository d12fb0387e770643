/** Rows to API messages. */
import { create } from "@bufbuild/protobuf";
import {
  ConversationKind,
  ConversationSchema,
  MessageSchema,
  Role,
  type Conversation,
  type Message,
} from "../../gen/orbit/chat/v1/chat_pb.js";
import type { ChatConversationRow, ChatMemberRow, ChatMessageRow } from "../../gen/orbit/chat/v1/tables_pb.js";
import { idTimeMs } from "../../platform/ids.js";

export function toMessage(row: ChatMessageRow): Message {
  return create(MessageSchema, {
    id: row.messageId,
    conversationId: row.conversationId,
    senderId: row.senderId,
    seq: BigInt(row.seq),
    text: row.text,
    mediaIds: row.mediaIds,
    replyToId: row.replyToId,
    clientMessageId: row.clientMessageId,
    createdAtMs: row.createdAtMs,
    editedAtMs: row.editedAtMs,
    deleted: row.deleted,
    reactions: row.reactions,
    hidden: row.hidden,
  });
}

/** Unread messages of a member: those after its read pointer (0 once it left). */
export function unreadOf(c: ChatConversationRow, m: ChatMemberRow | undefined): bigint {
  if (!m?.active) return 0n;
  const n = c.messageSeq - m.readSeq;
  return n > 0n ? n : 0n;
}

/**
 * The conversation as `me` sees it; without a member row, the fields shared
 * by every member (what a ChatUpdate carries).
 */
export function toConversation(c: ChatConversationRow, m?: ChatMemberRow): Conversation {
  const me = m?.userId ?? 0n;
  return create(ConversationSchema, {
    id: c.id,
    kind: c.kind as ConversationKind,
    title: c.title,
    avatarMediaId: c.avatarMediaId,
    createdBy: c.createdBy,
    createdAtMs: c.createdAtMs,
    memberCount: c.memberCount,
    peerUserId: c.kind === ConversationKind.DIRECT && m ? (c.userLo === me ? c.userHi : c.userLo) : 0n,
    lastActivityMs: BigInt(idTimeMs(c.activityId)),
    seq: BigInt(c.seq),
    messageSeq: BigInt(c.messageSeq),
    myRole: m?.active ? (m.role as Role) : Role.UNSPECIFIED,
    muted: m?.muted ?? false,
    readSeq: m ? BigInt(m.readSeq) : 0n,
    isMember: m?.active ?? false,
    slowModeMs: c.slowModeMs,
  });
}
