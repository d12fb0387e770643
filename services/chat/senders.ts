/**
 * What SendMessage checks before queueing a send, remembered per process so a
 * send reads nothing before its transaction: for a (conversation, user) seen
 * as an active member, the conversation's fixed facts (kind, the pair of a
 * direct conversation, a room's slow mode) and the member's role.
 *
 * Safe without cross-node invalidation: only positive answers are kept, and
 * the batch's transaction (sends.ts) checks active membership again under the
 * conversation's lock, so a member removed elsewhere is refused there
 * (PermissionDenied, as before). Those facts never change after creation (a
 * room's slow mode is set when the room is made; a room's owner cannot hand it
 * on); this process forgets a member who departs or whose role changes.
 * Blocks are not kept here: a block must stop the very next send, and the
 * user service's event would reach this process later.
 */
import type { ChatConversationRow, ChatMemberRow } from "../../gen/orbit/chat/v1/tables_pb.js";

export interface Sendable {
  readonly kind: ChatConversationRow["kind"];
  readonly userLo: bigint;
  readonly userHi: bigint;
  readonly slowModeMs: number;
  readonly role: ChatMemberRow["role"];
}

/** Entries kept at most; the oldest go first. */
const MAX_ENTRIES = 200_000;

export class SenderCache {
  private readonly entries = new Map<string, Sendable>();
  /** Lookups answered from memory and from the store (for tests and the bench). */
  readonly stats = { hits: 0, misses: 0 };

  get(conversationId: bigint, userId: bigint): Sendable | undefined {
    const hit = this.entries.get(`${conversationId}/${userId}`);
    if (hit) this.stats.hits += 1;
    else this.stats.misses += 1;
    return hit;
  }

  /** Remembers an active member (anything else is not kept). */
  remember(conv: ChatConversationRow, member: ChatMemberRow): Sendable | undefined {
    if (!member.active) return undefined;
    const entry: Sendable = {
      kind: conv.kind,
      userLo: conv.userLo,
      userHi: conv.userHi,
      slowModeMs: conv.slowModeMs,
      role: member.role,
    };
    if (this.entries.size >= MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(`${conv.id}/${member.userId}`, entry);
    return entry;
  }

  forget(conversationId: bigint, userId: bigint): void {
    this.entries.delete(`${conversationId}/${userId}`);
  }
}
