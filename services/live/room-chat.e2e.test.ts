/**
 * Room chat (SQLite, then MariaDB): each watch-together room has a chat
 * conversation (kind ROOM) that members join with the room (a room stored
 * without one gets one on its first join); slow mode holds a
 * member to one message per interval (the host is exempt); a per-user rate
 * caps room-chat messages across rooms; only services create or join room chats.
 * No test waits for the slow-mode interval: it is long, and only refusals are asserted.
 */
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatService, ConversationKind } from "../../gen/orbit/chat/v1/chat_pb.js";
import { RoomService } from "../../gen/orbit/live/v1/room_pb.js";
import { RoomRowDao } from "../../gen/orbit/live/v1/tables_db.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { silentLogger } from "../../platform/log.js";
import { staticTokens } from "../../platform/rpc/identity.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { registry } from "../registry.js";

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

type Who = "ann" | "bob" | "cat";

for (const engine of ENGINES) {
  describe(`room chat (${engine.name})`, () => {
    let store: TestStore;
    let bundle: Bundle;
    const rooms = {} as Record<Who, Client<typeof RoomService>>;
    const chat = {} as Record<Who, Client<typeof ChatService>>;
    let n = 0;
    const send = (who: Who, conversationId: bigint, text: string) =>
      chat[who].sendMessage({ conversationId, clientMessageId: `m${++n}`, text });

    beforeAll(async () => {
      store = await engine.open();
      bundle = await Bundle.start({
        registry,
        config: {
          ...DEFAULT_CONFIG,
          services: ["live"],
          host: "127.0.0.1",
          port: 0,
          settings: { live: { rtmpPort: 0 }, chat: { roomRateMessages: 3, roomRateWindowSeconds: 3600 } },
        },
        tokenVerifier: staticTokens({ ann: "1", bob: "2", cat: "3" }),
        db: store.db,
        log: silentLogger(),
      });
      for (const who of ["ann", "bob", "cat"] as const) {
        const t = createConnectTransport({
          baseUrl: bundle.url!,
          httpVersion: "1.1",
          interceptors: [
            (next) => (req) => {
              req.header.set("authorization", `Bearer ${who}`);
              return next(req);
            },
          ],
        });
        rooms[who] = createClient(RoomService, t);
        chat[who] = createClient(ChatService, t);
      }
    });

    afterAll(async () => {
      await bundle?.stop();
      await store?.dispose();
    });

    it("binds a chat to the room, joined with the room; slow mode holds members, not the host", async () => {
      const { room } = await rooms.ann.createRoom({
        mediaUrl: "/media/1/index.m3u8",
        title: "Episode 1",
        slowModeMs: 600_000,
      });
      expect(room!.conversationId).toBeGreaterThan(0n);
      expect(room!.slowModeMs).toBe(600_000);
      const conversationId = room!.conversationId;

      // Not joined yet: the room's chat is not bob's.
      expect(await codeOf(send("bob", conversationId, "hi"))).toBe(Code.NotFound);
      const joined = await rooms.bob.joinRoom({ roomId: room!.id });
      expect(joined.room!.conversationId).toBe(conversationId);
      expect((await rooms.bob.getRoomState({ roomId: room!.id })).conversationId).toBe(conversationId);
      // Joining again changes nothing.
      await rooms.bob.joinRoom({ roomId: room!.id });

      const c = (await chat.bob.getConversation({ conversationId })).conversation!;
      expect(c.kind).toBe(ConversationKind.ROOM);
      expect(c.slowModeMs).toBe(600_000);
      expect(c.memberCount).toBe(2);
      expect(c.isMember).toBe(true);

      await send("bob", conversationId, "hello from bob");
      const refused = await send("bob", conversationId, "again").catch((e: unknown) => ConnectError.from(e));
      expect(refused).toBeInstanceOf(ConnectError);
      expect((refused as ConnectError).code).toBe(Code.ResourceExhausted);
      expect((refused as ConnectError).rawMessage).toMatch(
        /^slow mode: one message per 600 s in this room; try again in \d+ s$/,
      );
      // The host is exempt from slow mode.
      await send("ann", conversationId, "welcome");
      await send("ann", conversationId, "starting soon");

      const { messages } = await chat.ann.listMessages({ conversationId });
      expect(messages.map((m) => m.text)).toEqual(["starting soon", "welcome", "hello from bob"]);
      // A room's chat is not a group: its members follow the room.
      expect(await codeOf(chat.bob.leaveGroup({ conversationId }))).toBe(Code.FailedPrecondition);
    });

    it("gives a room stored without a chat one on its first join (one, however many join at once)", async () => {
      const id = 9_000_000_000n + BigInt(engine.name.length);
      await new RoomRowDao(store.db).insert({
        id,
        hostId: 1n,
        streamId: 0n,
        mediaId: 0n,
        communityId: 0n,
        title: "An older room",
        mediaUrl: "/media/9/index.m3u8",
        anyoneControls: false,
        createdAtMs: BigInt(Date.now()),
        durationMs: 0n,
        conversationId: 0n,
        slowModeMs: 0,
      });
      const [b, c] = await Promise.all([rooms.bob.joinRoom({ roomId: id }), rooms.cat.joinRoom({ roomId: id })]);
      const conversationId = b.room!.conversationId;
      expect(conversationId).toBeGreaterThan(0n);
      expect(c.room!.conversationId).toBe(conversationId);
      expect((await new RoomRowDao(store.db).get({ id }))!.conversationId).toBe(conversationId);
      // The host owns it; both joiners are members.
      const conv = (await chat.bob.getConversation({ conversationId })).conversation!;
      expect(conv.createdBy).toBe(1n);
      expect(conv.memberCount).toBe(3);
      await send("ann", conversationId, "hi all");
    });

    it("caps one user's room-chat messages per window across rooms", async () => {
      const a = (await rooms.ann.createRoom({ mediaUrl: "/media/2/index.m3u8", title: "A" })).room!;
      const b = (await rooms.bob.createRoom({ mediaUrl: "/media/3/index.m3u8", title: "B" })).room!;
      await rooms.cat.joinRoom({ roomId: a.id });
      await rooms.cat.joinRoom({ roomId: b.id });
      await send("cat", a.conversationId, "1");
      await send("cat", b.conversationId, "2");
      // A retry of a send that went through is answered, not counted.
      const id = `m${++n}`;
      const first = await chat.cat.sendMessage({ conversationId: a.conversationId, clientMessageId: id, text: "3" });
      const retry = await chat.cat.sendMessage({ conversationId: a.conversationId, clientMessageId: id, text: "3" });
      expect(retry.message!.id).toBe(first.message!.id);
      expect(await codeOf(send("cat", b.conversationId, "4"))).toBe(Code.ResourceExhausted);
      // Other users have their own allowance; a refused send wrote nothing.
      await send("bob", b.conversationId, "mine");
      const { messages } = await chat.cat.listMessages({ conversationId: b.conversationId });
      expect(messages.map((m) => m.text)).toEqual(["mine", "2"]);
      // Group chats are not limited by it.
      const g = (await chat.cat.createGroup({ title: "g" })).conversation!;
      await send("cat", g.id, "in a group");
    });

    it("room chats are created and joined by services only; bad slow mode is refused", async () => {
      expect(await codeOf(chat.ann.createRoomChat({ ownerId: 1n, title: "mine" }))).toBe(Code.PermissionDenied);
      const { room } = await rooms.ann.createRoom({ mediaUrl: "/media/4/index.m3u8" });
      expect(await codeOf(chat.cat.joinRoomChat({ conversationId: room!.conversationId, userId: 3n }))).toBe(
        Code.PermissionDenied,
      );
      expect(await codeOf(rooms.ann.createRoom({ mediaUrl: "/media/5/index.m3u8", slowModeMs: -1 }))).toBe(
        Code.InvalidArgument,
      );
      expect(await codeOf(rooms.ann.createRoom({ mediaUrl: "/media/5/index.m3u8", slowModeMs: 3_600_001 }))).toBe(
        Code.InvalidArgument,
      );
    });
  });
}
