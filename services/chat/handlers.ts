/** The ChatService handlers: the caller, then the Chat logic (chat.ts). */
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { ChatService } from "../../gen/orbit/chat/v1/chat_pb.js";
import { requireService, requireUser } from "../../platform/rpc/call-scope.js";
import type { Chat } from "./chat.js";

const me = (hctx: HandlerContext) => BigInt(requireUser(hctx).userId);

export function chatHandlers(chat: Chat): ServiceImpl<typeof ChatService> {
  return {
    async openDirect(req, hctx) {
      return { conversation: await chat.openDirect(me(hctx), req.userId) };
    },
    async createGroup(req, hctx) {
      return { conversation: await chat.createGroup(me(hctx), req.title, req.memberIds, req.avatarMediaId) };
    },
    async addMembers(req, hctx) {
      return { conversation: await chat.addMembers(me(hctx), req.conversationId, req.userIds) };
    },
    async removeMember(req, hctx) {
      return { conversation: await chat.removeMember(me(hctx), req.conversationId, req.userId) };
    },
    async leaveGroup(req, hctx) {
      await chat.leaveGroup(me(hctx), req.conversationId);
      return {};
    },
    async updateGroup(req, hctx) {
      return { conversation: await chat.updateGroup(me(hctx), req.conversationId, req.title, req.avatarMediaId) };
    },
    async setRole(req, hctx) {
      await chat.setRole(me(hctx), req.conversationId, req.userId, req.role);
      return {};
    },
    async setMuted(req, hctx) {
      await chat.setMuted(me(hctx), req.conversationId, req.muted);
      return {};
    },
    async getConversation(req, hctx) {
      return chat.entry(me(hctx), req.conversationId);
    },
    async listMembers(req, hctx) {
      return chat.listMembers(me(hctx), req.conversationId, req.pageSize, req.pageToken);
    },
    async sendMessage(req, hctx) {
      return { message: await chat.send(me(hctx), req) };
    },
    async editMessage(req, hctx) {
      return { message: await chat.edit(me(hctx), req.conversationId, req.messageId, req.text) };
    },
    async deleteMessage(req, hctx) {
      return { message: await chat.delete(me(hctx), req.conversationId, req.messageId) };
    },
    async addReaction(req, hctx) {
      return { message: await chat.react(me(hctx), req.conversationId, req.messageId, req.emoji, true) };
    },
    async removeReaction(req, hctx) {
      return { message: await chat.react(me(hctx), req.conversationId, req.messageId, req.emoji, false) };
    },
    async listMessages(req, hctx) {
      return chat.listMessages(me(hctx), req.conversationId, req.pageSize, req.pageToken);
    },
    async markRead(req, hctx) {
      return { unreadCount: await chat.mark(me(hctx), req.conversationId, req.messageId, true) };
    },
    async markDelivered(req, hctx) {
      await chat.mark(me(hctx), req.conversationId, req.messageId, false);
      return {};
    },
    async getReceipts(req, hctx) {
      return chat.receipts(me(hctx), req.conversationId, req.messageId);
    },
    async listConversations(req, hctx) {
      return chat.listConversations(me(hctx), req.pageSize, req.pageToken);
    },
    async getUnreadCount(_req, hctx) {
      return chat.unreadTotal(me(hctx));
    },
    async setTyping(req, hctx) {
      await chat.typing(me(hctx), req.conversationId);
      return {};
    },
    async getChanges(req, hctx) {
      return chat.getChanges(me(hctx), req.cursor, req.pageSize);
    },
    async lookupMessage(req, hctx) {
      requireService(hctx);
      return chat.lookupMessage(req.conversationId, req.messageId, req.userId);
    },
    async createRoomChat(req, hctx) {
      requireService(hctx);
      return { conversationId: await chat.createRoomChat(req.ownerId, req.title, req.slowModeMs) };
    },
    async joinRoomChat(req, hctx) {
      requireService(hctx);
      await chat.joinRoom(req.conversationId, req.userId);
      return {};
    },
    async leaveRoomChat(req, hctx) {
      requireService(hctx);
      await chat.leaveRoom(req.conversationId, req.userId);
      return {};
    },
  };
}
