/**
 * Where chat's updates go. Every change is one ChatUpdate: stored in the
 * conversation's change log (GetChanges) and handed to the push gateway in
 * the same transaction, for every device of every member. Typing is
 * ephemeral: pushed to the conversation's channel ("conv:<id>"), never stored.
 */
import type { ChatUpdate } from "../../gen/orbit/chat/v1/chat_pb.js";
import type { PushView } from "../../platform/kernel/parts/push.js";
import type { SqlTx } from "../../platform/storage/driver.js";

export interface ChatPush {
  /** Durable: commits with `tx`, then reaches every device of each user. */
  toUsers(tx: SqlTx, userIds: readonly bigint[], update: ChatUpdate): Promise<void>;
  /** Durable, several updates each to its own users, appended together in `tx` (a batch of sends). */
  toUsersMany(tx: SqlTx, entries: readonly { userIds: readonly bigint[]; update: ChatUpdate }[]): Promise<void>;
  /** Ephemeral: to the connections that joined the conversation's channel. */
  ephemeral(conversationId: bigint, update: ChatUpdate): Promise<void>;
}

/** The channel of a conversation's ephemeral updates. */
export function conversationChannel(conversationId: bigint): string {
  return `conv:${conversationId}`;
}

/** Through the push gateway (ctx.push): field 20 `chat` of orbit.push.v1.Update. */
export function viaPush(push: PushView): ChatPush {
  return {
    toUsers: (tx, userIds, update) => push.toUsers(tx, userIds, { case: "chat", value: update }),
    toUsersMany: (tx, entries) =>
      push.toUsersMany(
        tx,
        entries.map((e) => ({ userIds: e.userIds, payload: { case: "chat", value: e.update } })),
      ),
    ephemeral: (conversationId, update) =>
      push.ephemeral(conversationChannel(conversationId), { case: "chat", value: update }),
  };
}
