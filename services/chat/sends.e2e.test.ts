/**
 * SendMessage's write path under concurrency (sends.ts, senders.ts), on SQLite
 * and MariaDB: many sends at once across conversations and senders, with
 * concurrent retries, written in shared batches (several batches in flight on
 * MariaDB, --chat-send-writers 4) keep every conversation's seqs gap-free and
 * every client id once; a sender remembered as a member by one node but
 * removed on another is refused by the batch's own check, and its retry of a
 * send that went through still answers that message; a batch's one block
 * check (CheckBlocks) refuses the blocked direct sends alone. Node a gathers
 * sends for up to 5 ms before a batch (--chat-send-gather-ms).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Message } from "../../gen/orbit/chat/v1/chat_pb.js";
import type { Bundle } from "../../platform/kernel/bundle.js";
import { chatUserOn, chatUsers, startChatBundle, type ChatUser } from "../../test/support/chat-client.js";
import { mysqlStore, sqliteStore, type TestStore } from "../../test/support/stores.js";

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

/** Every message of a conversation, oldest first. */
async function history(u: ChatUser, conversationId: bigint): Promise<Message[]> {
  const out: Message[] = [];
  let pageToken = "";
  do {
    const r = await u.chat.listMessages({ conversationId, pageSize: 100, pageToken });
    out.push(...r.messages);
    pageToken = r.nextPageToken;
  } while (pageToken);
  return out.reverse();
}

const targets: [string, () => Promise<TestStore>][] = [
  ["SQLite", async () => sqliteStore()],
  ["MariaDB", () => mysqlStore()],
];

describe.each(targets)("chat sends on %s", (name, open) => {
  let store: TestStore;
  let a: Bundle;
  let b: Bundle | undefined;
  let users: ChatUser[];
  const tag = Math.random().toString(36).slice(2, 7);

  beforeAll(async () => {
    store = await open();
    a = await startChatBundle(store.db, { sendWriters: 4, sendGatherMs: 5 });
    users = await chatUsers(a.url!, `s${tag}_`, 6);
    // Another node on the same store (MariaDB only: SQLite's file belongs to one process).
    if (name === "MariaDB") b = await startChatBundle(store.db, { sendWriters: 4 });
  }, 60_000);
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await store?.dispose();
  });

  it("many sends at once across conversations, with concurrent retries: gap-free seqs, each client id once", async () => {
    const [u0, u1, u2, u3, u4, u5] = users as [ChatUser, ChatUser, ChatUser, ChatUser, ChatUser, ChatUser];
    const pairs: [ChatUser, ChatUser][] = [
      [u0, u1],
      [u2, u3],
      [u4, u5],
    ];
    const convs = await Promise.all(
      pairs.map(async ([x, y]) => (await x.chat.openDirect({ userId: y.id })).conversation!.id),
    );
    const group = (await u0.chat.createGroup({ title: "g", memberIds: [u1.id, u2.id, u3.id, u4.id, u5.id] }))
      .conversation!.id;
    const sends: { who: ChatUser; conv: bigint; id: string }[] = [];
    for (let i = 0; i < 120; i++) {
      const k = i % 4;
      const conv = k === 3 ? group : convs[k]!;
      const who = k === 3 ? users[i % 6]! : pairs[k]![i % 2]!;
      sends.push({ who, conv, id: `c${tag}-${i}` });
    }
    // Every fourth send also goes twice more, at the same time (retries racing the first attempt).
    const calls = sends.flatMap((s, i) => (i % 4 === 0 ? [s, s, s] : [s]));
    const answers = await Promise.all(
      calls.map((s) => s.who.chat.sendMessage({ conversationId: s.conv, clientMessageId: s.id, text: s.id })),
    );
    const idOf = new Map<string, bigint>();
    answers.forEach((r, i) => {
      const c = calls[i]!;
      const before = idOf.get(c.id);
      if (before !== undefined) expect(r.message!.id).toBe(before);
      else idOf.set(c.id, r.message!.id);
      expect(r.message!.clientMessageId).toBe(c.id);
    });
    const readers: [bigint, ChatUser][] = [...convs.map((c, k): [bigint, ChatUser] => [c, pairs[k]![0]]), [group, u0]];
    for (const [conv, reader] of readers) {
      const msgs = await history(reader, conv);
      const expected = sends.filter((s) => s.conv === conv).map((s) => s.id);
      expect(msgs.map((m) => m.seq)).toEqual(msgs.map((_, i) => BigInt(i + 1)));
      expect(msgs.map((m) => m.clientMessageId).sort()).toEqual([...expected].sort());
      expect(msgs.map((m) => m.id)).toEqual(msgs.map((m) => idOf.get(m.clientMessageId)));
    }
  });

  it("a member removed on another node is refused by the batch; its retry of a sent message still answers it", async (ctx) => {
    if (!b) ctx.skip();
    const [owner, member] = users as [ChatUser, ChatUser];
    const g = (await owner.chat.createGroup({ title: "two nodes", memberIds: [member.id] })).conversation!.id;
    // Node a remembers the member (it sent there).
    const first = (await member.chat.sendMessage({ conversationId: g, clientMessageId: `r${tag}`, text: "hi" }))
      .message!;
    await chatUserOn(b!.url!, owner).chat.removeMember({ conversationId: g, userId: member.id });
    expect(await codeOf(member.chat.sendMessage({ conversationId: g, clientMessageId: `x${tag}`, text: "x" }))).toBe(
      Code.PermissionDenied,
    );
    const again = (await member.chat.sendMessage({ conversationId: g, clientMessageId: `r${tag}`, text: "hi" }))
      .message!;
    expect(again.id).toBe(first.id);
    const texts = (await history(owner, g)).map((m) => m.text);
    expect(texts).toEqual(["hi"]);
  });

  it("blocked direct sends in a batch are refused alone; the others are written; an unblock lets the next through", async () => {
    const [x, y, z, w] = (await chatUsers(a.url!, `t${tag}_`, 4)) as [ChatUser, ChatUser, ChatUser, ChatUser];
    const xy = (await x.chat.openDirect({ userId: y.id })).conversation!.id;
    const zw = (await z.chat.openDirect({ userId: w.id })).conversation!.id;
    await y.users.block({ userId: x.id });
    const calls = Array.from({ length: 30 }, (_, i) => {
      const [who, conv] = i % 3 === 0 ? [x, xy] : i % 3 === 1 ? [y, xy] : [z, zw];
      return codeOf(who.chat.sendMessage({ conversationId: conv, clientMessageId: `b${tag}-${i}`, text: `m${i}` }));
    });
    const codes = await Promise.all(calls);
    expect(codes).toEqual(codes.map((_, i) => (i % 3 === 2 ? "ok" : Code.PermissionDenied)));
    // Concurrent calls: any order, each once, seqs gap-free.
    const sent = await history(z, zw);
    expect(sent.map((m) => m.seq)).toEqual(sent.map((_, i) => BigInt(i + 1)));
    expect(sent.map((m) => m.text).sort()).toEqual(codes.flatMap((_, i) => (i % 3 === 2 ? [`m${i}`] : [])).sort());
    expect(await history(x, xy)).toEqual([]);
    // Blocks are never remembered: the very next send after an unblock goes through.
    await y.users.unblock({ userId: x.id });
    expect(await codeOf(x.chat.sendMessage({ conversationId: xy, clientMessageId: `u${tag}`, text: "again" }))).toBe(
      "ok",
    );
  });
});
