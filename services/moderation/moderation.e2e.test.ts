/**
 * Moderation against the services that own the content, on SQLite and
 * MariaDB, in one real bundle (user, post, chat, live, push, moderation and
 * what they pull in): reports on comments, messages and streams are checked
 * with their owners (NotFound for a missing target, PermissionDenied for a
 * message reported from outside its conversation, the author recorded);
 * hiding a post or comment takes it out of GetPost, BatchGetPosts,
 * ListUserPosts and ListComments; suspending an account closes its open
 * /ws and refuses its token and its log-ins.
 */
import { Code, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatService } from "../../gen/orbit/chat/v1/chat_pb.js";
import { LiveService, StreamState } from "../../gen/orbit/live/v1/live_pb.js";
import {
  ModerationAction,
  ModerationService,
  ReportReason,
  TargetKind,
} from "../../gen/orbit/moderation/v1/moderation_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { EventBus } from "../../platform/events/bus.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { silentLogger } from "../../platform/log.js";
import { PushClient } from "../../test/support/push-client.js";
import { codeOf } from "../../test/support/social-scenario.js";
import { consumersSettled, signUp, socialClients, type Member } from "../../test/support/social-client.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { registry } from "../registry.js";
import { grantModerator, revokeModerator } from "./roles.js";

interface Apis {
  moderation: Client<typeof ModerationService>;
  chat: Client<typeof ChatService>;
  live: Client<typeof LiveService>;
}

function apis(baseUrl: string, token?: string): Apis {
  const transport = createConnectTransport({
    baseUrl,
    httpVersion: "2",
    interceptors: token
      ? [
          (next) => (req) => {
            req.header.set("authorization", `Bearer ${token}`);
            return next(req);
          },
        ]
      : [],
  });
  return {
    moderation: createClient(ModerationService, transport),
    chat: createClient(ChatService, transport),
    live: createClient(LiveService, transport),
  };
}

describe.each(ENGINES)("moderation with the content's owners ($name)", (engine) => {
  let store: TestStore;
  let bundle: Bundle;
  const m: Record<string, Member & Apis> = {};
  const sockets: PushClient[] = [];
  const settled = () => consumersSettled(store.db, 20_000);

  beforeAll(async () => {
    store = await engine.open();
    bundle = await Bundle.start({
      registry,
      config: {
        ...DEFAULT_CONFIG,
        services: ["user", "post", "chat", "live", "push", "moderation"],
        host: "127.0.0.1",
        port: 0,
        settings: { user: { scryptLogN: 10 }, live: { rtmpPort: 0, record: false } },
      },
      db: store.db,
      log: silentLogger(),
    });
    for (const h of ["ann", "bob", "cat", "mod"]) {
      const member = await signUp(bundle.url!, h);
      m[h] = { ...member, ...apis(bundle.url!, member.token) };
    }
    // As `orbit moderator grant` does: the row and moderation.moderator_changed, on the store's event log.
    const bus = await EventBus.open(store.db, { owner: "test-moderator-grant" });
    try {
      await grantModerator(store.db, bus, m.mod!.user.id, "test");
    } finally {
      await bus.close();
    }
  }, 60_000);
  afterAll(async () => {
    for (const s of sockets) await s.close();
    await bundle?.stop();
    await store?.dispose();
  });

  it("checks reported comments, messages and streams with their owners", async () => {
    const { ann, bob, cat } = m;
    const report = (who: Member & Apis, target: TargetKind, targetId: bigint, conversationId = 0n) =>
      who.moderation.report({ target, targetId, conversationId, reason: ReportReason.SPAM });

    // A comment: its author is recorded; a missing one is NotFound.
    const post = (await ann!.api.posts.createPost({ text: "a post" })).post!;
    const comment = (await bob!.api.posts.addComment({ postId: post.id, text: "buy now" })).comment!;
    const rc = (await report(cat!, TargetKind.COMMENT, comment.id)).report!;
    expect(rc).toMatchObject({ target: TargetKind.COMMENT, targetId: comment.id, targetAuthorId: bob!.user.id });
    expect(await codeOf(report(cat!, TargetKind.COMMENT, comment.id + 1000n))).toBe(Code.NotFound);

    // A message: only a member of its conversation may report it.
    const conv = (await ann!.chat.openDirect({ userId: bob!.user.id })).conversation!;
    const msg = (await ann!.chat.sendMessage({ conversationId: conv.id, clientMessageId: "c1", text: "rude" }))
      .message!;
    const rm = (await report(bob!, TargetKind.MESSAGE, msg.id, conv.id)).report!;
    expect(rm).toMatchObject({ targetAuthorId: ann!.user.id, conversationId: conv.id });
    expect(await codeOf(report(cat!, TargetKind.MESSAGE, msg.id, conv.id))).toBe(Code.PermissionDenied);
    expect(await codeOf(report(bob!, TargetKind.MESSAGE, msg.id + 1000n, conv.id))).toBe(Code.NotFound);
    expect(await codeOf(report(bob!, TargetKind.MESSAGE, msg.id, conv.id + 1000n))).toBe(Code.NotFound);
    expect(await codeOf(report(bob!, TargetKind.MESSAGE, msg.id))).toBe(Code.InvalidArgument);
    // Outside clients cannot ask chat who may see a message.
    expect(
      await codeOf(bob!.chat.lookupMessage({ conversationId: conv.id, messageId: msg.id, userId: bob!.user.id })),
    ).toBe(Code.PermissionDenied);

    // A stream: its owner is the author; a missing one is NotFound.
    const stream = (await ann!.live.createStream({ title: "live now" })).stream!;
    const rs = (await report(bob!, TargetKind.STREAM, stream.id)).report!;
    expect(rs.targetAuthorId).toBe(ann!.user.id);
    expect(await codeOf(report(bob!, TargetKind.STREAM, stream.id + 1000n))).toBe(Code.NotFound);

    // With the author known, a reported comment's author can be suspended (no longer FailedPrecondition).
    const queue = (await m.mod!.moderation.listReports({ pageSize: 100 })).reports.map((r) => r.id);
    expect(queue).toEqual(expect.arrayContaining([rc.id, rm.id, rs.id]));
  });

  it("a hidden post is gone from GetPost, BatchGetPosts and ListUserPosts; a hidden comment from ListComments", async () => {
    const { ann, bob, cat, mod } = m;
    const post = (await ann!.api.posts.createPost({ text: "to be hidden" })).post!;
    const kept = (await ann!.api.posts.createPost({ text: "kept" })).post!;
    const onKept = (await bob!.api.posts.addComment({ postId: kept.id, text: "fine" })).comment!;
    const bad = (await bob!.api.posts.addComment({ postId: kept.id, text: "not fine" })).comment!;

    const rp = (await cat!.moderation.report({ target: TargetKind.POST, targetId: post.id, reason: ReportReason.SPAM }))
      .report!;
    const rc = (
      await cat!.moderation.report({ target: TargetKind.COMMENT, targetId: bad.id, reason: ReportReason.SPAM })
    ).report!;
    await mod!.moderation.resolve({ reportId: rp.id, action: ModerationAction.HIDE_CONTENT });
    await mod!.moderation.resolve({ reportId: rc.id, action: ModerationAction.HIDE_CONTENT });
    await settled();

    const anon = socialClients(bundle.url!);
    // Moderators still get it from GetPost, marked hidden (post.moderation heard the grant).
    expect((await mod!.api.posts.getPost({ postId: post.id })).post).toMatchObject({ id: post.id, hidden: true });
    expect((await mod!.api.posts.getPost({ postId: kept.id })).post).toMatchObject({ id: kept.id, hidden: false });
    for (const c of [ann!.api, bob!.api, anon]) {
      expect(await codeOf(c.posts.getPost({ postId: post.id }))).toBe(Code.NotFound);
      expect((await c.posts.batchGetPosts({ postIds: [post.id, kept.id] })).posts.map((p) => p.id)).toEqual([kept.id]);
      const mine = (await c.posts.listUserPosts({ userId: ann!.user.id, pageSize: 50 })).posts.map((p) => p.id);
      expect(mine).toContain(kept.id);
      expect(mine).not.toContain(post.id);
      expect((await c.posts.listComments({ postId: kept.id })).comments.map((x) => x.id)).toEqual([onKept.id]);
    }
    expect(await codeOf(bob!.api.posts.likePost({ postId: post.id }))).toBe(Code.NotFound);
    expect(await codeOf(bob!.api.posts.addComment({ postId: post.id, text: "hi" }))).toBe(Code.NotFound);

    // A revoked moderator no longer sees it; granted again, it does.
    const bus = await EventBus.open(store.db, { owner: "test-moderator-revoke" });
    try {
      await revokeModerator(store.db, bus, mod!.user.id);
      await settled();
      expect(await codeOf(mod!.api.posts.getPost({ postId: post.id }))).toBe(Code.NotFound);
      await grantModerator(store.db, bus, mod!.user.id, "test");
      await settled();
      expect((await mod!.api.posts.getPost({ postId: post.id })).post!.hidden).toBe(true);
    } finally {
      await bus.close();
    }
  });

  it("undoes: unhides a post and a comment, unsuspends an account; hidden comments leave comment_count and are listed, marked, to moderators", async () => {
    const { ann, bob, cat, mod } = m;
    const post = (await ann!.api.posts.createPost({ text: "hidden, then back" })).post!;
    const kept = (await ann!.api.posts.createPost({ text: "with comments" })).post!;
    const ok = (await bob!.api.posts.addComment({ postId: kept.id, text: "fine" })).comment!;
    const bad = (await bob!.api.posts.addComment({ postId: kept.id, text: "not fine" })).comment!;
    const count = async () => (await ann!.api.posts.getPost({ postId: kept.id })).post!.commentCount;
    const listed = async (who: Member & Apis) =>
      (await who.api.posts.listComments({ postId: kept.id })).comments.map((c) => [c.id, c.hidden]);
    expect(await count()).toBe(2n);
    const report = async (target: TargetKind, targetId: bigint) =>
      (await cat!.moderation.report({ target, targetId, reason: ReportReason.SPAM })).report!;
    const rp = await report(TargetKind.POST, post.id);
    const rc = await report(TargetKind.COMMENT, bad.id);
    const resolve = (reportId: bigint, action: ModerationAction) => mod!.moderation.resolve({ reportId, action });
    // Nothing to undo yet: an open report, or one whose action was another.
    expect(await codeOf(resolve(rp.id, ModerationAction.UNHIDE_CONTENT))).toBe(Code.FailedPrecondition);
    await resolve(rp.id, ModerationAction.HIDE_CONTENT);
    await resolve(rc.id, ModerationAction.HIDE_CONTENT);
    expect(await codeOf(resolve(rc.id, ModerationAction.UNSUSPEND_ACCOUNT))).toBe(Code.FailedPrecondition);
    await settled();
    expect(await codeOf(ann!.api.posts.getPost({ postId: post.id }))).toBe(Code.NotFound);
    // The hidden comment: out of the count; listed to moderators only, marked.
    expect(await count()).toBe(1n);
    expect(await listed(bob!)).toEqual([[ok.id, false]]);
    expect(await listed(mod!)).toEqual([
      [ok.id, false],
      [bad.id, true],
    ]);
    // Only moderators undo.
    expect(await codeOf(ann!.moderation.resolve({ reportId: rp.id, action: ModerationAction.UNHIDE_CONTENT }))).toBe(
      Code.PermissionDenied,
    );
    const undone = await resolve(rp.id, ModerationAction.UNHIDE_CONTENT);
    expect(undone.report).toMatchObject({ action: ModerationAction.UNHIDE_CONTENT, resolvedBy: mod!.user.id });
    expect(undone.entry).toMatchObject({ action: ModerationAction.UNHIDE_CONTENT, targetId: post.id, reportId: rp.id });
    await resolve(rc.id, ModerationAction.UNHIDE_CONTENT);
    expect(await codeOf(resolve(rc.id, ModerationAction.UNHIDE_CONTENT))).toBe(Code.FailedPrecondition);
    await settled();
    expect((await ann!.api.posts.getPost({ postId: post.id })).post).toMatchObject({ id: post.id, hidden: false });
    expect(
      (await bob!.api.posts.listUserPosts({ userId: ann!.user.id, pageSize: 50 })).posts.map((p) => p.id),
    ).toContain(post.id);
    expect(await listed(bob!)).toEqual([
      [ok.id, false],
      [bad.id, false],
    ]);
    expect(await count()).toBe(2n);
    // Hidden again, then deleted by its author: counted out once, not twice.
    const rc2 = await report(TargetKind.COMMENT, bad.id);
    await resolve(rc2.id, ModerationAction.HIDE_CONTENT);
    await settled();
    await bob!.api.posts.deleteComment({ commentId: bad.id });
    expect(await count()).toBe(1n);
    const log = (await mod!.moderation.listModlog({ pageSize: 10 })).entries.map((e) => [e.action, e.reportId]);
    expect(log).toContainEqual([ModerationAction.UNHIDE_CONTENT, rp.id]);
    expect(log).toContainEqual([ModerationAction.UNHIDE_CONTENT, rc.id]);

    // An account suspended, then unsuspended: LogIn works again.
    const fay = await signUp(bundle.url!, "fay");
    const anon = socialClients(bundle.url!);
    const ru = (
      await ann!.moderation.report({ target: TargetKind.USER, targetId: fay.user.id, reason: ReportReason.SPAM })
    ).report!;
    await resolve(ru.id, ModerationAction.SUSPEND_ACCOUNT);
    await settled();
    expect(await codeOf(anon.users.logIn({ handle: "fay", password: "pw-fay-secret" }))).toBe(Code.PermissionDenied);
    expect((await resolve(ru.id, ModerationAction.UNSUSPEND_ACCOUNT)).entry!.action).toBe(
      ModerationAction.UNSUSPEND_ACCOUNT,
    );
    await settled();
    const back = await anon.users.logIn({ handle: "fay", password: "pw-fay-secret" });
    expect((await socialClients(bundle.url!, back.token).users.getMe({})).user!.id).toBe(fay.user.id);
  });

  it("a hidden message is a tombstone in the history; a hidden stream is ended", async () => {
    const { ann, bob, cat, mod } = m;
    const group = (await ann!.chat.createGroup({ title: "g", memberIds: [bob!.user.id, cat!.user.id] })).conversation!;
    const send = async (text: string, id: string) =>
      (await ann!.chat.sendMessage({ conversationId: group.id, clientMessageId: id, text })).message!;
    const fine = await send("hello", "h1");
    const bad = await send("nasty", "h2");
    const stream = (await ann!.live.createStream({ title: "to be hidden" })).stream!;

    const rm = (
      await bob!.moderation.report({
        target: TargetKind.MESSAGE,
        targetId: bad.id,
        conversationId: group.id,
        reason: ReportReason.HARASSMENT,
      })
    ).report!;
    const rs = (
      await cat!.moderation.report({ target: TargetKind.STREAM, targetId: stream.id, reason: ReportReason.VIOLENCE })
    ).report!;
    await mod!.moderation.resolve({ reportId: rm.id, action: ModerationAction.HIDE_CONTENT });
    await mod!.moderation.resolve({ reportId: rs.id, action: ModerationAction.HIDE_CONTENT });
    await settled();

    for (const who of [ann!, bob!, cat!]) {
      const history = (await who.chat.listMessages({ conversationId: group.id })).messages;
      expect(history.find((x) => x.id === fine.id)).toMatchObject({ text: "hello", deleted: false, hidden: false });
      expect(history.find((x) => x.id === bad.id)).toMatchObject({ text: "", deleted: true, hidden: true });
    }
    // The tombstone cannot be edited or reacted to.
    expect(
      await codeOf(ann!.chat.editMessage({ conversationId: group.id, messageId: bad.id, text: "nasty again" })),
    ).toBe(Code.FailedPrecondition);

    const ended = (await bob!.live.getStream({ streamId: stream.id })).stream!;
    expect(ended).toMatchObject({ state: StreamState.ENDED, endReason: "hidden" });
    expect(await codeOf(ann!.live.rotateKey({ streamId: stream.id }))).toBe(Code.FailedPrecondition);
  });

  it("a suspension ends the account's sessions: its /ws closes, its token and its log-ins are refused", async () => {
    const { ann, mod } = m;
    const dan = await signUp(bundle.url!, "dan");
    const anon = socialClients(bundle.url!);
    const second = await anon.users.logIn({ handle: "dan", password: "pw-dan-secret", deviceName: "laptop" });
    const ws = await PushClient.connect(bundle.url!, { token: dan.token });
    sockets.push(ws);
    await expect.poll(() => ws.of("hello").length + (ws.closed ? 10 : 0)).toBe(1);

    const r = (
      await ann!.moderation.report({ target: TargetKind.USER, targetId: dan.user.id, reason: ReportReason.HARASSMENT })
    ).report!;
    await mod!.moderation.resolve({ reportId: r.id, action: ModerationAction.SUSPEND_ACCOUNT });

    expect(await ws.closedP).toEqual({ code: 4401, reason: "the session has ended: the account is suspended" });
    await settled();
    for (const token of [dan.token, second.token]) {
      expect(await codeOf(socialClients(bundle.url!, token).users.getMe({}))).toBe(Code.Unauthenticated);
      const again = await PushClient.connect(bundle.url!, { token });
      sockets.push(again);
      await again.closedP;
      expect(again.refusedStatus).toBe(401);
    }
    // LogIn: refused with a reason after the right password; a wrong one is still just wrong.
    const login = anon.users.logIn({ handle: "dan", password: "pw-dan-secret" });
    await expect(login).rejects.toMatchObject({
      code: Code.PermissionDenied,
      rawMessage: expect.stringMatching(/suspended/),
    });
    expect(await codeOf(anon.users.logIn({ handle: "dan", password: "wrong password" }))).toBe(Code.Unauthenticated);
    // The others' sessions are untouched.
    expect((await ann!.api.users.getMe({})).user!.id).toBe(ann!.user.id);
  });

  it("keeps no session of a LogIn that races the suspension", async () => {
    const { ann, mod } = m;
    const eve = await signUp(bundle.url!, "eve");
    const anon = socialClients(bundle.url!);
    const r = (
      await ann!.moderation.report({ target: TargetKind.USER, targetId: eve.user.id, reason: ReportReason.SPAM })
    ).report!;
    const logins = Array.from({ length: 8 }, (_, i) =>
      anon.users.logIn({ handle: "eve", password: "pw-eve-secret", deviceName: i % 2 ? `d${i}` : "" }),
    );
    const settling = Promise.allSettled(logins); // (a throttled one fails at once: handled from here)
    await mod!.moderation.resolve({ reportId: r.id, action: ModerationAction.SUSPEND_ACCOUNT });
    const outcomes = await settling;
    await settled();
    // Whichever way each LogIn fell, none of the tokens it answered still works.
    // (Logins in flight count against the handle's throttle until they succeed: past its free
    // failures a concurrent one is refused with resource_exhausted, which opens no session either.)
    for (const o of outcomes) {
      if (o.status === "rejected")
        expect([Code.PermissionDenied, Code.ResourceExhausted]).toContain((o.reason as { code: Code }).code);
      else expect(await codeOf(socialClients(bundle.url!, o.value.token).users.getMe({}))).toBe(Code.Unauthenticated);
    }
    expect(await codeOf(socialClients(bundle.url!, eve.token).users.getMe({}))).toBe(Code.Unauthenticated);
  });
});
