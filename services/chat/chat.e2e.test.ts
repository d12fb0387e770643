/**
 * The chat service end to end over the network, on SQLite and on MariaDB:
 * direct conversations and blocks, a group of 50 with exact unread counts
 * and receipts, idempotent sends, edits, tombstones and reactions, history
 * paging, a device that was offline for 1,000 messages catching up in
 * order with GetChanges, authorization and bad input. With
 * CASSANDRA_CONTACT_POINTS, the same on MariaDB with the messages on Cassandra.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role, type ChatUpdate, type Message } from "../../gen/orbit/chat/v1/chat_pb.js";
import type { Bundle } from "../../platform/kernel/bundle.js";
import { anonymousChat, chatUser, chatUsers, startChatBundle, type ChatUser } from "../../test/support/chat-client.js";
import { MediaState } from "../../gen/orbit/media/v1/media_pb.js";
import { mediaClient, settled, upload } from "../../services/media/testing/client.js";
import { sidewaysJpeg } from "../../services/media/testing/files.js";
import { CASSANDRA_SKIP, liveKeyspace, type LiveKeyspace } from "../../test/support/cassandra.js";
import { waitFor } from "../../test/support/wait.js";
import { mysqlStore, sqliteStore, type TestStore } from "../../test/support/stores.js";

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

let n = 0;
const cmid = () => `m-${process.pid}-${++n}`;

/** Every change since `cursor`, following has_more. */
async function changesSince(
  u: ChatUser,
  cursor: string,
  pageSize = 0,
): Promise<{ updates: ChatUpdate[]; cursor: string }> {
  const updates: ChatUpdate[] = [];
  for (let i = 0; ; i++) {
    const r = await u.chat.getChanges({ cursor, pageSize });
    updates.push(...r.updates);
    cursor = r.cursor;
    if (!r.hasMore) return { updates, cursor };
    if (i > 10_000) throw new Error("has_more never ends");
  }
}

/** A store, and a keyspace when the messages live on Cassandra. */
interface Target {
  store: TestStore;
  cassandra?: LiveKeyspace;
}

const targets: [string, () => Promise<Target>][] = [
  ["SQLite", async () => ({ store: sqliteStore() })],
  ["MariaDB", async () => ({ store: await mysqlStore() })],
];
// With a live node: the message table on Cassandra, the rest on MariaDB.
if (!CASSANDRA_SKIP) {
  targets.push([
    "MariaDB + Cassandra",
    async () => ({ store: await mysqlStore(), cassandra: await liveKeyspace("chat_e2e", { create: false }) }),
  ]);
}

describe.each(targets)("chat on %s", (_name, open) => {
  let target: Target;
  let store: TestStore;
  let bundle: Bundle;
  let url: string;
  let ann: ChatUser, bob: ChatUser, cat: ChatUser;
  const tag = Math.random().toString(36).slice(2, 7);

  beforeAll(async () => {
    target = await open();
    store = target.store;
    bundle = await startChatBundle(
      store.db,
      // The retention job every second (its window stays 30 days: the test ages rows itself).
      { maxMembers: 60, receiptsToAll: 100, changesSweepSeconds: 1 },
      target.cassandra ? { cassandra: target.cassandra.url } : {},
    );
    url = bundle.url!;
    [ann, bob, cat] = (await Promise.all(["ann", "bob", "cat"].map((h) => chatUser(url, `${h}_${tag}`)))) as [
      ChatUser,
      ChatUser,
      ChatUser,
    ];
  }, 60_000);
  afterAll(async () => {
    await bundle?.stop();
    await store?.dispose();
    await target?.cassandra?.dispose();
  });

  it("opens one direct conversation per pair; messages, retries, unread counts and read receipts are exact", async () => {
    const a = (await ann.chat.openDirect({ userId: bob.id })).conversation!;
    const b = (await bob.chat.openDirect({ userId: ann.id })).conversation!;
    expect(b.id).toBe(a.id);
    expect(a).toMatchObject({ peerUserId: bob.id, memberCount: 2, isMember: true, myRole: Role.MEMBER });
    expect(b.peerUserId).toBe(ann.id);
    const bobCursor = (await bob.chat.getChanges({ cursor: "" })).cursor;

    const id1 = cmid();
    const m1 = (await ann.chat.sendMessage({ conversationId: a.id, clientMessageId: id1, text: "hi bob" })).message!;
    // A retried send (same client id) is the same message, never a second one.
    const again = (await ann.chat.sendMessage({ conversationId: a.id, clientMessageId: id1, text: "hi bob" })).message!;
    expect(again.id).toBe(m1.id);
    const retries = await Promise.all(
      Array.from({ length: 5 }, () =>
        ann.chat.sendMessage({ conversationId: a.id, clientMessageId: id1, text: "hi bob" }),
      ),
    );
    expect(new Set(retries.map((r) => r.message!.id))).toEqual(new Set([m1.id]));
    const m2 = (await ann.chat.sendMessage({ conversationId: a.id, clientMessageId: cmid(), text: "you there?" }))
      .message!;
    expect([m1.seq, m2.seq]).toEqual([1n, 2n]);

    expect((await bob.chat.getUnreadCount({})).total).toBe(2n);
    expect((await ann.chat.getUnreadCount({})).total).toBe(0n);
    const list = (await bob.chat.listConversations({})).conversations;
    expect(list[0]).toMatchObject({ unreadCount: 2n, lastMessage: { id: m2.id, text: "you there?" } });

    // Bob's device sees both messages, in order, once.
    const seen = await changesSince(bob, bobCursor);
    expect(
      seen.updates.filter((u) => u.change.case === "messageSent").map((u) => (u.change.value as { id: bigint }).id),
    ).toEqual([m1.id, m2.id]);

    expect((await bob.chat.markDelivered({ conversationId: a.id, messageId: m2.id })).$typeName).toBeDefined();
    expect((await bob.chat.getReceipts({ conversationId: a.id, messageId: m2.id })).deliveredTo).toEqual([bob.id]);
    expect(await ann.chat.getReceipts({ conversationId: a.id, messageId: m2.id })).toMatchObject({
      readBy: [],
      deliveredTo: [bob.id],
    });
    expect((await bob.chat.markRead({ conversationId: a.id, messageId: m1.id })).unreadCount).toBe(1n);
    expect(await ann.chat.getReceipts({ conversationId: a.id, messageId: m1.id })).toMatchObject({ readBy: [bob.id] });
    expect((await ann.chat.getReceipts({ conversationId: a.id, messageId: m2.id })).readBy).toEqual([]);
    // Read pointers only move forward.
    await bob.chat.markRead({ conversationId: a.id, messageId: m2.id });
    expect((await bob.chat.markRead({ conversationId: a.id, messageId: m1.id })).unreadCount).toBe(0n);
    expect((await bob.chat.getUnreadCount({})).total).toBe(0n);
    const after = await changesSince(bob, seen.cursor);
    expect(after.updates.map((u) => u.change.case)).toEqual(["receipt", "receipt", "receipt"]);
    // 1 created, 2-3 the messages, 4 delivered, 5-6 read (reading backwards changed nothing).
    expect(after.updates.map((u) => u.seq)).toEqual([4n, 5n, 6n]);
  });

  it("refuses direct conversations and messages across a block, either way", async () => {
    const c = (await cat.chat.openDirect({ userId: ann.id })).conversation!;
    await cat.chat.sendMessage({ conversationId: c.id, clientMessageId: cmid(), text: "hello" });
    await ann.users.block({ userId: cat.id });
    expect(await codeOf(cat.chat.openDirect({ userId: ann.id }))).toBe(Code.PermissionDenied);
    expect(await codeOf(ann.chat.openDirect({ userId: cat.id }))).toBe(Code.PermissionDenied);
    expect(await codeOf(cat.chat.sendMessage({ conversationId: c.id, clientMessageId: cmid(), text: "hey" }))).toBe(
      Code.PermissionDenied,
    );
    // Nor into a group with the blocker.
    expect(await codeOf(cat.chat.createGroup({ title: "g", memberIds: [ann.id] }))).toBe(Code.PermissionDenied);
    await ann.users.unblock({ userId: cat.id });
    await cat.chat.sendMessage({ conversationId: c.id, clientMessageId: cmid(), text: "again" });
  });

  it("a group of 50: every member's unread count, receipts, roles, removal and leaving are exact", async () => {
    const others = await chatUsers(url, `g${tag}_`, 49);
    const owner = ann;
    const g = (await owner.chat.createGroup({ title: "fifty", memberIds: others.map((u) => u.id) })).conversation!;
    expect(g).toMatchObject({ memberCount: 50, myRole: Role.OWNER, title: "fifty" });
    const before = await Promise.all(others.map(async (u) => (await u.chat.getUnreadCount({})).total));

    // 10 messages from 5 senders.
    const senders = [owner, ...others.slice(0, 4)];
    const sent: Message[] = [];
    for (let i = 0; i < 10; i++) {
      const s = senders[i % senders.length]!;
      sent.push(
        (await s.chat.sendMessage({ conversationId: g.id, clientMessageId: cmid(), text: `msg ${i}` })).message!,
      );
    }
    expect(sent.map((m) => m.seq)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n]);
    // Unread per member: the messages after its own last one (sending reads up to there).
    const unread = await Promise.all(
      others.map(async (u) => (await u.chat.getConversation({ conversationId: g.id })).unreadCount),
    );
    const expected = others.map((u) => {
      const lastOwn = sent.map((m) => m.senderId).lastIndexOf(u.id);
      return BigInt(10 - (lastOwn + 1));
    });
    expect(unread).toEqual(expected);
    const totals = await Promise.all(others.map(async (u) => (await u.chat.getUnreadCount({})).total));
    expect(totals.map((t, i) => t - before[i]!)).toEqual(expected);

    // 20 members read up to message 5: seen by exactly them (and the senders after it).
    await Promise.all(
      others.slice(10, 30).map((u) => u.chat.markRead({ conversationId: g.id, messageId: sent[4]!.id })),
    );
    const r = await owner.chat.getReceipts({ conversationId: g.id, messageId: sent[4]!.id });
    const senderIdsAfter = new Set(
      sent
        .slice(5)
        .map((m) => m.senderId)
        .filter((id) => id !== sent[4]!.senderId),
    );
    const expectedReaders = [...others.slice(10, 30).map((u) => u.id), ...senderIdsAfter].sort((a, b) =>
      a < b ? -1 : 1,
    );
    expect(r.readBy).toEqual(expectedReaders);

    // Members page in order.
    const m1 = await bob.chat.listMembers({ conversationId: g.id }).catch((e) => e);
    expect(ConnectError.from(m1).code).toBe(Code.NotFound); // bob is not in it
    const page1 = await owner.chat.listMembers({ conversationId: g.id, pageSize: 30 });
    const page2 = await owner.chat.listMembers({ conversationId: g.id, pageSize: 30, pageToken: page1.nextPageToken });
    expect(page1.members.length + page2.members.length).toBe(50);
    expect(page2.nextPageToken).toBe("");

    // Roles: a member may not add or remove; an admin may remove members, not the owner.
    const [adminU, plain, victim, leaver] = others as [ChatUser, ChatUser, ChatUser, ChatUser];
    expect(await codeOf(plain.chat.addMembers({ conversationId: g.id, userIds: [bob.id] }))).toBe(
      Code.PermissionDenied,
    );
    expect(await codeOf(plain.chat.setRole({ conversationId: g.id, userId: adminU.id, role: Role.ADMIN }))).toBe(
      Code.PermissionDenied,
    );
    await owner.chat.setRole({ conversationId: g.id, userId: adminU.id, role: Role.ADMIN });
    expect(await codeOf(adminU.chat.removeMember({ conversationId: g.id, userId: owner.id }))).toBe(
      Code.PermissionDenied,
    );
    const victimCursor = (await victim.chat.getChanges({ cursor: "" })).cursor;
    const afterRemove = (await adminU.chat.removeMember({ conversationId: g.id, userId: victim.id })).conversation!;
    expect(afterRemove.memberCount).toBe(49);
    // The removed member learns it, then sees nothing more; it can read what was before, not write.
    await owner.chat.sendMessage({ conversationId: g.id, clientMessageId: cmid(), text: "after victim left" });
    const vc = await changesSince(victim, victimCursor);
    const last = vc.updates[vc.updates.length - 1]!;
    expect(last.change.case).toBe("conversationChanged");
    expect(last.change.value).toMatchObject({ what: "member_removed", userIds: [victim.id] });
    expect(await codeOf(victim.chat.sendMessage({ conversationId: g.id, clientMessageId: cmid(), text: "x" }))).toBe(
      Code.PermissionDenied,
    );
    const vm = (await victim.chat.listMessages({ conversationId: g.id })).messages;
    expect(vm.map((m) => m.text)).not.toContain("after victim left");
    expect(vm.length).toBe(10);
    expect((await victim.chat.getConversation({ conversationId: g.id })).conversation?.isMember).toBe(false);

    await leaver.chat.leaveGroup({ conversationId: g.id });
    await leaver.chat.leaveGroup({ conversationId: g.id }); // twice is fine
    // The owner leaves: the admin owns the group now.
    await owner.chat.leaveGroup({ conversationId: g.id });
    expect((await adminU.chat.getConversation({ conversationId: g.id })).conversation).toMatchObject({
      myRole: Role.OWNER,
      memberCount: 47,
    });
    await adminU.chat.updateGroup({ conversationId: g.id, title: "renamed" });
    expect((await plain.chat.getConversation({ conversationId: g.id })).conversation?.title).toBe("renamed");
    // Re-adding: the group holds 60 at most here (--chat-max-members).
    expect(
      (await adminU.chat.addMembers({ conversationId: g.id, userIds: [victim.id] })).conversation?.memberCount,
    ).toBe(48);
    const more = await chatUsers(url, `h${tag}_`, 13);
    expect(await codeOf(adminU.chat.addMembers({ conversationId: g.id, userIds: more.map((u) => u.id) }))).toBe(
      Code.ResourceExhausted,
    );
    // Muted conversations are left out of the total.
    const t0 = (await plain.chat.getUnreadCount({})).total;
    await plain.chat.setMuted({ conversationId: g.id, muted: true });
    const t1 = (await plain.chat.getUnreadCount({})).total;
    expect(t0 - t1).toBe((await plain.chat.getConversation({ conversationId: g.id })).unreadCount);
    expect((await plain.chat.getConversation({ conversationId: g.id })).conversation?.muted).toBe(true);
  }, 300_000);

  /** A READY image of `u`'s (the media service in the bundle processed it). */
  async function readyImage(u: ChatUser): Promise<bigint> {
    const id = (await upload(url, u.token, await sidewaysJpeg(32, 24), "image/jpeg")).mediaId;
    expect((await settled(url, u.token, id)).state).toBe(MediaState.READY);
    return id;
  }

  it("attachments and group avatars are the caller's own READY media (the media service checks)", async () => {
    const [annImg, bobImg] = await Promise.all([readyImage(ann), readyImage(bob)]);
    const c = (await ann.chat.openDirect({ userId: bob.id })).conversation!;
    const send = (u: ChatUser, mediaIds: bigint[]) =>
      u.chat.sendMessage({ conversationId: c.id, clientMessageId: cmid(), text: "pic", mediaIds });
    expect((await send(ann, [annImg])).message?.mediaIds).toEqual([annImg]);
    expect(await codeOf(send(ann, [bobImg]))).toBe(Code.FailedPrecondition); // not hers
    expect(await codeOf(send(ann, [annImg, 987_654_321n]))).toBe(Code.FailedPrecondition); // no such media
    // An upload not finished is not READY.
    const { mediaId: pending } = await mediaClient(url, ann.token).createUpload({
      contentType: "image/jpeg",
      sizeBytes: 1000n,
      fileName: "half",
    });
    expect(await codeOf(send(ann, [pending]))).toBe(Code.FailedPrecondition);
    // Nothing of the refused sends was written.
    const history = (await bob.chat.listMessages({ conversationId: c.id, pageSize: 5 })).messages;
    expect(history.filter((m) => m.text === "pic")).toHaveLength(1);
    // Group avatars: the creator's own READY image; UpdateGroup the same.
    expect(await codeOf(ann.chat.createGroup({ title: "a", memberIds: [bob.id], avatarMediaId: bobImg }))).toBe(
      Code.FailedPrecondition,
    );
    const g = (await ann.chat.createGroup({ title: "a", memberIds: [bob.id], avatarMediaId: annImg })).conversation!;
    expect(g.avatarMediaId).toBe(annImg);
    expect(await codeOf(ann.chat.updateGroup({ conversationId: g.id, avatarMediaId: pending }))).toBe(
      Code.FailedPrecondition,
    );
    // Bob is a plain member: told he may not, whatever the media.
    expect(await codeOf(bob.chat.updateGroup({ conversationId: g.id, avatarMediaId: bobImg }))).toBe(
      Code.PermissionDenied,
    );
  }, 120_000);

  it("edits, deletes (tombstones) and reactions change the message for everyone; history pages newest first", async () => {
    const c = (await ann.chat.openDirect({ userId: bob.id })).conversation!;
    const bobMedia = await Promise.all([readyImage(bob), readyImage(bob)]);
    const cursor = (await bob.chat.getChanges({ cursor: "" })).cursor;
    const ids: bigint[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push(
        (await ann.chat.sendMessage({ conversationId: c.id, clientMessageId: cmid(), text: `h${i}` })).message!.id,
      );
    }
    const reply = (
      await bob.chat.sendMessage({
        conversationId: c.id,
        clientMessageId: cmid(),
        text: "re",
        replyToId: ids[0]!,
        mediaIds: bobMedia,
      })
    ).message!;
    expect(reply).toMatchObject({ replyToId: ids[0], mediaIds: bobMedia });
    expect(
      (await ann.chat.editMessage({ conversationId: c.id, messageId: ids[1]!, text: "edited" })).message,
    ).toMatchObject({
      text: "edited",
    });
    expect(await codeOf(bob.chat.editMessage({ conversationId: c.id, messageId: ids[1]!, text: "nope" }))).toBe(
      Code.PermissionDenied,
    );
    expect(await codeOf(bob.chat.deleteMessage({ conversationId: c.id, messageId: ids[1]! }))).toBe(
      Code.PermissionDenied,
    );
    await bob.chat.addReaction({ conversationId: c.id, messageId: ids[2]!, emoji: "👍" });
    await bob.chat.addReaction({ conversationId: c.id, messageId: ids[2]!, emoji: "👍" }); // idempotent
    await ann.chat.addReaction({ conversationId: c.id, messageId: ids[2]!, emoji: "👍" });
    const reacted = (await ann.chat.addReaction({ conversationId: c.id, messageId: ids[2]!, emoji: "🎉" })).message!;
    expect(reacted.reactions.map((r) => [r.emoji, r.userIds])).toEqual([
      ["👍", [bob.id, ann.id]],
      ["🎉", [ann.id]],
    ]);
    await ann.chat.removeReaction({ conversationId: c.id, messageId: ids[2]!, emoji: "🎉" });
    const del = (await ann.chat.deleteMessage({ conversationId: c.id, messageId: ids[3]! })).message!;
    expect(del).toMatchObject({ deleted: true, text: "" });
    await ann.chat.deleteMessage({ conversationId: c.id, messageId: ids[3]! }); // idempotent
    expect(await codeOf(bob.chat.addReaction({ conversationId: c.id, messageId: ids[3]!, emoji: "👍" }))).toBe(
      Code.FailedPrecondition,
    );

    // History: newest first, in pages of 3.
    const texts: string[] = [];
    let token = "";
    do {
      const p = await bob.chat.listMessages({ conversationId: c.id, pageSize: 3, pageToken: token });
      texts.push(...p.messages.map((m) => (m.deleted ? "<deleted>" : m.text)));
      token = p.nextPageToken;
    } while (token);
    expect(texts.slice(0, 8)).toEqual(["re", "h6", "h5", "h4", "<deleted>", "h2", "edited", "h0"]);

    const ch = await changesSince(bob, cursor, 4);
    expect(ch.updates.map((u) => u.change.case).filter((k) => k !== "messageSent" && k !== "receipt")).toEqual([
      "messageEdited",
      "reactionsChanged",
      "reactionsChanged",
      "reactionsChanged",
      "reactionsChanged",
      "messageDeleted",
    ]);
    const seqs = ch.updates.map((u) => u.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => (a < b ? -1 : 1)));
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it("the change log keeps its retention window; a cursor older than what it keeps is told to resync", async () => {
    const c = (await ann.chat.openDirect({ userId: cat.id })).conversation!;
    const old = (await cat.chat.getChanges({ cursor: "" })).cursor;
    for (let i = 0; i < 3; i++)
      await ann.chat.sendMessage({ conversationId: c.id, clientMessageId: cmid(), text: `r${i}` });
    const recent = (await cat.chat.getChanges({ cursor: "" })).cursor;
    await ann.chat.sendMessage({ conversationId: c.id, clientMessageId: cmid(), text: "kept" });
    const count = async () =>
      Number((await store.db.getValues("SELECT COUNT(*) FROM chat_changes WHERE conversation_id = ?", [c.id]))![0]);
    const before = await count();
    // The changes up to `recent` become older than the window (30 days): the job deletes them.
    const head = await store.db.getValues("SELECT MAX(seq) FROM chat_changes WHERE conversation_id = ?", [c.id]);
    const aged = await store.db.run("UPDATE chat_changes SET at_ms = 1 WHERE conversation_id = ? AND seq < ?", [
      c.id,
      BigInt(head![0] as number),
    ]);
    expect(aged.changes).toBe(before - 1);
    await waitFor(async () => (await count()) === 1, "the retention job deleted the aged changes", 60_000);
    // A cursor from before them: resync (nothing silently skipped), with the cursor of now.
    const r = await cat.chat.getChanges({ cursor: old });
    expect(r).toMatchObject({ resync: true, updates: [], hasMore: false });
    // A cursor from after them still gets what followed, without resync.
    const kept = await cat.chat.getChanges({ cursor: recent });
    expect(kept.resync).toBe(false);
    expect(kept.updates.filter((u) => u.conversationId === c.id).map((u) => u.change.case)).toEqual(["messageSent"]);
    // After a resync the device goes on from the cursor it was given.
    await ann.chat.sendMessage({ conversationId: c.id, clientMessageId: cmid(), text: "after" });
    const next = await cat.chat.getChanges({ cursor: r.cursor });
    expect(next.resync).toBe(false);
    const mine = next.updates.filter((u) => u.conversationId === c.id);
    expect(mine.map((u) => (u.change.value as Message).text)).toEqual(["after"]);
  }, 120_000);

  it("a device offline for 1,000 messages catches up in order, exactly once", async () => {
    const g = (await ann.chat.createGroup({ title: "busy", memberIds: [bob.id, cat.id] })).conversation!;
    const cursor = (await cat.chat.getChanges({ cursor: "" })).cursor;
    const sent: bigint[] = [];
    for (let i = 0; i < 1000; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: 20 }, (_, k) =>
          (k % 2 ? ann : bob).chat.sendMessage({
            conversationId: g.id,
            clientMessageId: cmid(),
            text: `burst ${i + k}`,
          }),
        ),
      );
      sent.push(...batch.map((r) => r.message!.id));
    }
    const { updates } = await changesSince(cat, cursor, 300);
    const got = updates
      .filter((u) => u.change.case === "messageSent")
      .map((u) => u.change.value as { id: bigint; seq: bigint });
    expect(got.length).toBe(1000);
    expect(got.map((m) => m.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => BigInt(i + 1)));
    expect(new Set(got.map((m) => m.id))).toEqual(new Set(sent));
    expect((await cat.chat.getConversation({ conversationId: g.id })).unreadCount).toBe(1000n);
  }, 300_000);

  it("refuses strangers, anonymous callers and bad input with clear codes", async () => {
    const g = (await ann.chat.createGroup({ title: "private", memberIds: [bob.id] })).conversation!;
    const m = (await ann.chat.sendMessage({ conversationId: g.id, clientMessageId: cmid(), text: "secret" })).message!;
    // Not a member: the conversation does not exist for cat.
    const strangers = await Promise.all(
      [
        cat.chat.getConversation({ conversationId: g.id }),
        cat.chat.listMessages({ conversationId: g.id }),
        cat.chat.sendMessage({ conversationId: g.id, clientMessageId: cmid(), text: "hi" }),
        cat.chat.markRead({ conversationId: g.id, messageId: m.id }),
        cat.chat.getReceipts({ conversationId: g.id, messageId: m.id }),
        cat.chat.addReaction({ conversationId: g.id, messageId: m.id, emoji: "👍" }),
        cat.chat.editMessage({ conversationId: g.id, messageId: m.id, text: "x" }),
        cat.chat.setTyping({ conversationId: g.id }),
        cat.chat.leaveGroup({ conversationId: g.id }),
      ].map(codeOf),
    );
    expect(new Set(strangers)).toEqual(new Set([Code.NotFound]));
    expect(await codeOf(anonymousChat(url).listConversations({}))).toBe(Code.Unauthenticated);
    const bad = (p: Promise<unknown>) => codeOf(p);
    const cid = g.id;
    expect(await bad(ann.chat.sendMessage({ conversationId: cid, clientMessageId: cmid(), text: "   " }))).toBe(
      Code.InvalidArgument,
    );
    expect(
      await bad(ann.chat.sendMessage({ conversationId: cid, clientMessageId: cmid(), text: "x".repeat(4001) })),
    ).toBe(Code.InvalidArgument);
    expect(
      await bad(
        ann.chat.sendMessage({
          conversationId: cid,
          clientMessageId: cmid(),
          text: "x",
          mediaIds: Array.from({ length: 11 }, (_, i) => BigInt(i + 1)),
        }),
      ),
    ).toBe(Code.InvalidArgument);
    expect(
      await bad(ann.chat.sendMessage({ conversationId: cid, clientMessageId: cmid(), text: "x", mediaIds: [3n, 3n] })),
    ).toBe(Code.InvalidArgument);
    expect(await bad(ann.chat.sendMessage({ conversationId: cid, clientMessageId: "has space", text: "x" }))).toBe(
      Code.InvalidArgument,
    );
    expect(await bad(ann.chat.sendMessage({ conversationId: cid, clientMessageId: "", text: "x" }))).toBe(
      Code.InvalidArgument,
    );
    expect(
      await bad(ann.chat.sendMessage({ conversationId: cid, clientMessageId: cmid(), text: "x", replyToId: 12345n })),
    ).toBe(Code.InvalidArgument);
    expect(await bad(ann.chat.addReaction({ conversationId: cid, messageId: m.id, emoji: "ab" }))).toBe(
      Code.InvalidArgument,
    );
    expect(await bad(ann.chat.listMessages({ conversationId: cid, pageToken: "garbage" }))).toBe(Code.InvalidArgument);
    expect(await bad(ann.chat.listConversations({ pageToken: "garbage" }))).toBe(Code.InvalidArgument);
    expect(await bad(ann.chat.getChanges({ cursor: "nonsense" }))).toBe(Code.InvalidArgument);
    expect(await bad(ann.chat.getChanges({ cursor: "c1!!" }))).toBe(Code.InvalidArgument);
    expect(await bad(ann.chat.openDirect({ userId: ann.id }))).toBe(Code.InvalidArgument);
    expect(await bad(ann.chat.openDirect({ userId: 999_999_999n }))).toBe(Code.NotFound);
    expect(await bad(ann.chat.createGroup({ title: "  ", memberIds: [bob.id] }))).toBe(Code.InvalidArgument);
    expect(await bad(ann.chat.createGroup({ title: "t".repeat(101), memberIds: [bob.id] }))).toBe(Code.InvalidArgument);
    expect(
      await bad(
        ann.chat.createGroup({ title: "big", memberIds: Array.from({ length: 1000 }, (_, i) => BigInt(i + 1)) }),
      ),
    ).toBe(Code.InvalidArgument);
    expect(await bad(ann.chat.createGroup({ title: "ghosts", memberIds: [999_999_998n] }))).toBe(Code.NotFound);
    const d = (await ann.chat.openDirect({ userId: bob.id })).conversation!;
    expect(await bad(ann.chat.addMembers({ conversationId: d.id, userIds: [cat.id] }))).toBe(Code.FailedPrecondition);
    expect(await bad(ann.chat.setRole({ conversationId: cid, userId: bob.id, role: Role.UNSPECIFIED }))).toBe(
      Code.InvalidArgument,
    );
    await ann.chat.setTyping({ conversationId: cid });
  });
});
