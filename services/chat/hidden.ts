/**
 * chat.moderation: a message a moderator hid (moderation.content_hidden with
 * kind MESSAGE and its conversation_id) becomes a tombstone in the
 * conversation's history (Chat.hide), announced to the members like a
 * deletion. Chat.hide runs its own change transaction (the conversation's
 * lock), so the group commits its position afterwards: at least once, and
 * hiding twice changes nothing. A message or conversation that is gone is
 * skipped.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { isMessage } from "@bufbuild/protobuf";
import { ContentHiddenSchema } from "../../gen/orbit/moderation/v1/events_pb.js";
import { TargetKind } from "../../gen/orbit/moderation/v1/moderation_pb.js";
import type { ConsumerOptions } from "../../platform/events/consumer-options.js";
import type { Chat } from "./chat.js";

export const MODERATION_GROUP = "chat.moderation";

export function moderationConsumer(chat: Chat): ConsumerOptions {
  return {
    group: MODERATION_GROUP,
    events: [ContentHiddenSchema],
    commit: "after",
    async handle(event) {
      const m = event.message;
      if (!isMessage(m, ContentHiddenSchema) || m.kind !== TargetKind.MESSAGE || m.conversationId === 0n) return;
      try {
        await chat.hide(m.moderatorId, m.conversationId, m.targetId);
      } catch (err) {
        if (err instanceof ConnectError && err.code === Code.NotFound) return;
        throw err;
      }
    },
  };
}
