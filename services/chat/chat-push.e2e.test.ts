/**
 * Chat over real sockets: a bundle running chat and the push gateway, on
 * SQLite and MariaDB, devices connected to /ws. Every change reaches every
 * device of every member once, in order; typing is ephemeral on the
 * conversation's channel; a device offline for 1,000 messages resumes from
 * its last sequence and gets all of them in order, exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChatUpdate, Message } from "../../gen/orbit/chat/v1/chat_pb.js";
import type { Bundle } from "../../platform/kernel/bundle.js";
import { unbatch } from "./sends.js";
import { chatUser, chatUsers, startChatBundle, type ChatUser } from "../../test/support/chat-client.js";
import { PushClient } from "../../test/support/push-client.js";
import { mysqlStore, sqliteStore, type TestStore } from "../../test/support/stores.js";

/** Waits (polling, no fixed sleep) until `probe` holds; fails after `ms`. */
async function until(probe: () => boolean, what: string, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The chat changes a device got, a batch (sends committed together) as its changes. */
const chatOf = (c: PushClient): ChatUpdate[] => c.of("chat").flatMap(unbatch);
const sentOn = (c: PushClient, conv: bigint): Message[] =>
  chatOf(c)
    .filter((u) => u.conversationId === conv && u.change.case === "messageSent")
    .map((u) => u.change.value as Message);

let n = 0;
const cmid = () => `p-${process.pid}-${++n}`;

describe.each([
  ["SQLite", async () => sqliteStore()],
  ["MariaDB", () => mysqlStore()],
] as [string, () => Promise<TestStore>][])("chat pushed to devices on %s", (_name, open) => {
  let store: TestStore;
  let bundle: Bundle;
  let url: string;
  let ann: ChatUser, bob: ChatUser;
  const sockets: PushClient[] = [];
  const tag = Math.random().toString(36).slice(2, 7);
  const connect = async (u: ChatUser, after?: bigint) => {
    const c = await PushClient.connect(url, { token: u.token, after });
    sockets.push(c);
    await until(() => c.of("hello").length > 0, "hello");
    return c;
  };

  beforeAll(async () => {
    store = await open();
    bundle = await startChatBundle(store.db, {}, { services: ["chat", "push"] });
    url = bundle.url!;
    [ann, bob] = (await Promise.all([chatUser(url, `pa_${tag}`), chatUser(url, `pb_${tag}`)])) as [ChatUser, ChatUser];
  }, 60_000);
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await bundle?.stop();
    await store?.dispose();
  });

  it("two users, three devices: every change reaches every device once, in order; typing is ephemeral", async () => {
    const [ann1, ann2, bob1] = [await connect(ann), await connect(ann), await connect(bob)];
    const conv = (await ann.chat.openDirect({ userId: bob.id })).conversation!.id;
    const ids = [];
    for (let i = 0; i < 3; i++) {
      const id = cmid();
      const m = (await ann.chat.sendMessage({ conversationId: conv, clientMessageId: id, text: `m${i}` })).message!;
      // A retry pushes nothing more.
      await ann.chat.sendMessage({ conversationId: conv, clientMessageId: id, text: `m${i}` });
      ids.push(m.id);
    }
    await bob.chat.markRead({ conversationId: conv, messageId: ids[2]! });
    for (const d of [ann1, ann2, bob1]) {
      await until(() => chatOf(d).filter((u) => u.conversationId === conv).length >= 5, "5 changes on every device");
      const mine = chatOf(d).filter((u) => u.conversationId === conv);
      expect(mine.map((u) => u.change.case)).toEqual([
        "conversationChanged",
        "messageSent",
        "messageSent",
        "messageSent",
        "receipt",
      ]);
      expect(mine.map((u) => u.seq)).toEqual([1n, 2n, 3n, 4n, 5n]);
      expect(sentOn(d, conv).map((m) => m.id)).toEqual(ids);
      // The user's stream: sequences without gaps or repeats.
      const seqs = d.sequences();
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + BigInt(i)));
    }
    expect((await bob.chat.getUnreadCount({})).total).toBe(0n);

    // Typing: to the devices that joined the conversation's channel, never stored.
    bob1.send({ frame: { case: "join", value: { channel: `conv:${conv}` } } });
    await until(() => bob1.of("joined").length > 0 || bob1.of("left").length > 0, "joined");
    expect(bob1.of("joined").map((j) => j.channel)).toEqual([`conv:${conv}`]);
    const before = bob1.last();
    await ann.chat.setTyping({ conversationId: conv });
    await until(() => chatOf(bob1).some((u) => u.change.case === "typing"), "typing");
    const typing = bob1.updates.find((u) => u.payload.case === "chat" && u.payload.value.change.case === "typing")!;
    expect(typing).toMatchObject({ sequence: 0n, channel: `conv:${conv}` });
    expect(bob1.last()).toBe(before);
    // A stranger may not join it.
    const cat = await chatUser(url, `pc_${tag}`);
    const catDev = await connect(cat);
    catDev.send({ frame: { case: "join", value: { channel: `conv:${conv}` } } });
    await until(() => catDev.of("left").length > 0 || catDev.of("joined").length > 0, "refused");
    expect(catDev.of("joined")).toEqual([]);
  }, 120_000);

  it("a group of 50: each member's device gets every message once, in order, and the unread counts are exact", async () => {
    const others = await chatUsers(url, `pg${tag}_`, 49);
    const devices = await Promise.all(others.map((u) => connect(u)));
    const g = (await ann.chat.createGroup({ title: "fifty", memberIds: others.map((u) => u.id) })).conversation!.id;
    const sent: bigint[] = [];
    for (let i = 0; i < 5; i++) {
      const from = i % 2 ? others[0]! : ann;
      sent.push(
        (await from.chat.sendMessage({ conversationId: g, clientMessageId: cmid(), text: `g${i}` })).message!.id,
      );
    }
    for (const d of devices) {
      await until(() => sentOn(d, g).length >= 5, "5 messages on every member's device");
      expect(sentOn(d, g).map((m) => m.id)).toEqual(sent);
    }
    const unread = await Promise.all(others.slice(1).map(async (u) => (await u.chat.getUnreadCount({})).total));
    expect(new Set(unread)).toEqual(new Set([5n]));

    // 40 senders at once, each send also retried at once (written together in batches):
    // every device gets each message once, in seq order, with no gap.
    const burst = others.slice(0, 40).map((u, i) => ({ u, id: cmid(), text: `burst ${i}` }));
    const answers = await Promise.all(
      burst.flatMap(({ u, id, text }) =>
        [0, 1].map(() => u.chat.sendMessage({ conversationId: g, clientMessageId: id, text })),
      ),
    );
    for (let i = 0; i < answers.length; i += 2) expect(answers[i]!.message!.id).toBe(answers[i + 1]!.message!.id);
    const burstIds = new Set(answers.map((a) => a.message!.id));
    expect(burstIds.size).toBe(40);
    for (const d of [devices[0]!, devices[48]!]) {
      await until(() => sentOn(d, g).length >= 45, "the burst on the device");
      const got = sentOn(d, g);
      expect(got.length).toBe(45);
      expect(new Set(got.slice(5).map((m) => m.id))).toEqual(burstIds);
      const seqs = chatOf(d)
        .filter((u) => u.conversationId === g)
        .map((u) => u.seq);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + BigInt(i)));
    }
    expect((await others[45]!.chat.getUnreadCount({})).total).toBe(45n);
  }, 300_000);

  it("a device offline for 1,000 messages resumes from its last sequence: all of them, in order, once", async () => {
    const conv = (await ann.chat.openDirect({ userId: bob.id })).conversation!.id;
    const dev = await connect(bob);
    await ann.chat.sendMessage({ conversationId: conv, clientMessageId: cmid(), text: "before" });
    await until(() => sentOn(dev, conv).some((m) => m.text === "before"), "before");
    const last = dev.last();
    await dev.close();
    const sent: bigint[] = [];
    for (let i = 0; i < 1000; i += 25) {
      const batch = await Promise.all(
        Array.from({ length: 25 }, (_, k) =>
          ann.chat.sendMessage({ conversationId: conv, clientMessageId: cmid(), text: `offline ${i + k}` }),
        ),
      );
      sent.push(...batch.map((r) => r.message!.id));
    }
    const back = await connect(bob, last);
    await until(() => sentOn(back, conv).length >= 1000, "1,000 messages after resume", 240_000);
    const got = sentOn(back, conv);
    expect(got.length).toBe(1000);
    expect(new Set(got.map((m) => m.id))).toEqual(new Set(sent));
    const seqs = got.map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => (a < b ? -1 : 1)));
    expect(back.sequences()[0]).toBe(last + 1n);
    expect(back.of("hello")[0]).toMatchObject({ resumed: true });
  }, 300_000);
});
