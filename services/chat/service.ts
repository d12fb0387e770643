/**
 * chat: direct and group conversations, messages in a wide table, receipts,
 * unread counts, changes since a cursor; messages hidden by moderators become
 * tombstones (hidden.ts).
 */
import { ChatService } from "../../gen/orbit/chat/v1/chat_pb.js";
import {
  ChatChangeRowTable,
  ChatConversationRowTable,
  ChatDirectRowTable,
  ChatMemberRowTable,
  ChatSendRowTable,
} from "../../gen/orbit/chat/v1/tables_db.js";
import { ChatMessageRowTable } from "../../gen/orbit/chat/v1/tables_wide.js";
import { defineService } from "../../platform/kernel/service.js";
import { Chat } from "./chat.js";
import { chatHandlers } from "./handlers.js";
import { moderationConsumer } from "./hidden.js";
import { viaPush } from "./push.js";
import { chatSettings } from "./settings.js";

export const chat = defineService({
  name: "chat",
  description: "conversations (direct, groups up to 1,000), messages (wide table), receipts, unread counts",
  // The user service: users exist, blocks; media: attachments and avatars are the sender's READY media.
  deps: ["user", "media"],
  api: [ChatService],
  settings: chatSettings,
  tables: [
    ChatConversationRowTable,
    ChatDirectRowTable,
    ChatMemberRowTable,
    ChatSendRowTable,
    ChatChangeRowTable,
    ChatMessageRowTable,
  ],
  build(ctx) {
    const chat = new Chat(ctx, viaPush(ctx.push));
    // Who may join a conversation's typing channel "conv:<id>": its active members.
    ctx.push.authorizeChannels("conv", (userId, channelId) => chat.mayJoin(userId, channelId));
    const cfg = ctx.settings;
    return {
      rpc: [chatHandlers(chat)],
      // Messages a moderator hid become tombstones.
      consumers: [moderationConsumer(chat)],
      jobs: [
        {
          // The change log keeps --chat-changes-retention-seconds; older changes go in batches of 500.
          name: "chat.retention",
          async run(signal) {
            while (!signal.aborted) {
              const before = BigInt(Date.now() - cfg.changesRetentionSeconds * 1000);
              while (!signal.aborted && (await chat.sweepChanges(before)) > 0);
              await new Promise<void>((resolve) => {
                const t = setTimeout(resolve, cfg.changesSweepSeconds * 1000);
                signal.addEventListener("abort", () => {
                  clearTimeout(t);
                  resolve();
                });
              });
            }
          },
        },
      ],
    };
  },
});
