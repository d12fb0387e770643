/**
 * The notify service in a real bundle (social + notify), on SQLite and
 * MariaDB, called over the network: grouping and exact unread counts under
 * concurrent likes, undo (unlike, uncomment, unfollow, post deletion), the
 * read marker across devices, preferences and mutes, blocks, self-actions,
 * device updates and mobile pushes (the recording provider), a replay that
 * rebuilds the groups (`orbit events replay notify.fanin`), and the codes of
 * bad and unauthenticated calls.
 */
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  NotificationService,
  NotificationType,
  PushPlatform,
  type NotificationGroup,
  type NotificationUpdate,
} from "../../gen/orbit/notify/v1/notify_pb.js";
import {
  AccountSuspendedSchema,
  AccountUnsuspendedSchema,
  ContentHiddenSchema,
  ContentUnhiddenSchema,
} from "../../gen/orbit/moderation/v1/events_pb.js";
import { PostUnlikedSchema } from "../../gen/orbit/post/v1/events_pb.js";
import { TargetKind } from "../../gen/orbit/moderation/v1/moderation_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { EventBus } from "../../platform/events/bus.js";
import { silentLogger as silentEvents } from "../../platform/events/logger.js";
import { lagByGroup } from "../../platform/events/lag.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { Registry } from "../../platform/kernel/registry.js";
import { silentLogger } from "../../platform/log.js";
import { runOrbit } from "../../test/support/bundle-process.js";
import { PushClient } from "../../test/support/push-client.js";
import { eventually, signUp, type Member } from "../../test/support/social-client.js";
import { BUNDLE_ENGINES, type TestStore } from "../../test/support/stores.js";
import { MODULES } from "../registry.js";
import { FANIN_GROUP } from "./consumer.js";
import { RecordingProvider } from "./mobile.js";
import { notifyService } from "./service.js";

type Notify = Client<typeof NotificationService>;

function notifyClient(url: string, token?: string): Notify {
  return createClient(
    NotificationService,
    createConnectTransport({
      baseUrl: url,
      httpVersion: "2",
      interceptors: token
        ? [
            (next) => (req) => {
              req.header.set("authorization", `Bearer ${token}`);
              return next(req);
            },
          ]
        : [],
    }),
  );
}

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

/** The groups as [type, target, count, actors] lines (compact for assertions). */
function shape(groups: readonly NotificationGroup[]): string[] {
  return groups.map(
    (g) =>
      `${NotificationType[g.type]} ${g.targetId} x${g.count} [${g.latestActorIds.join(",")}]${g.read ? " read" : ""}`,
  );
}

for (const engine of BUNDLE_ENGINES) {
  describe(`notify (${engine.name})`, () => {
    let store: TestStore;
    let bundle: Bundle;
    let url: string;
    const provider = new RecordingProvider();
    const sockets: PushClient[] = [];
    /** A device of `m` connected to the push gateway's /ws. */
    async function device(m: Member): Promise<PushClient> {
      const c = await PushClient.connect(url, { token: m.token });
      sockets.push(c);
      await eventually(async () => c.of("hello").length === 1, "hello");
      return c;
    }
    const notifications = (c: PushClient): NotificationUpdate[] => c.of("notification");
    let ann: Member, bob: Member, cat: Member, dan: Member;
    let annN: Notify, bobN: Notify, catN: Notify;

    beforeAll(async () => {
      store = await engine.open();
      const modules = MODULES.map((m) => (m.name === "notify" ? notifyService({ provider }) : m));
      bundle = await Bundle.start({
        registry: new Registry(modules),
        config: {
          ...DEFAULT_CONFIG,
          services: ["social", "notify", "push"],
          host: "127.0.0.1",
          port: 0,
          settings: { user: { scryptLogN: 10 } },
        },
        db: store.db,
        log: silentLogger(),
      });
      url = bundle.url!;
      [ann, bob, cat, dan] = (await Promise.all(["ann", "bob", "cat", "dan"].map((h) => signUp(url, h)))) as [
        Member,
        Member,
        Member,
        Member,
      ];
      [annN, bobN, catN] = [ann, bob, cat].map((m) => notifyClient(url, m.token)) as [Notify, Notify, Notify];
    }, 60_000);
    afterAll(async () => {
      await Promise.all(sockets.map((c) => c.close()));
      await bundle?.stop();
      await store?.dispose();
    });

    async function settled(): Promise<void> {
      await eventually(async () => {
        const g = (await lagByGroup(store.db)).find((x) => x.group === FANIN_GROUP);
        return g !== undefined && g.pending === 0 && !g.retrying;
      }, "notify.fanin caught up");
    }

    async function listAll(n: Notify): Promise<NotificationGroup[]> {
      const out: NotificationGroup[] = [];
      let pageToken = "";
      do {
        const r = await n.listNotifications({ pageSize: 2, pageToken });
        out.push(...r.groups);
        pageToken = r.nextPageToken;
      } while (pageToken);
      return out;
    }

    it("groups concurrent likes into one exact group, pushes it to connected and mobile devices", async () => {
      await annN.registerDevice({ platform: PushPlatform.FCM, token: "fcm-ann-phone" });
      const phone = await device(ann);
      const post = (await ann.api.posts.createPost({ text: "popular" })).post!;
      const likers = await Promise.all(Array.from({ length: 24 }, (_, i) => signUp(url, `liker${i}`)));
      // Everyone at once, twice over (a like is idempotent), and ann herself (never notifies).
      await Promise.all([...likers, ...likers, ann].map((m) => m.api.posts.likePost({ postId: post.id })));
      await settled();
      const r = await annN.listNotifications({});
      expect(r.groups).toHaveLength(1);
      const g = r.groups[0]!;
      expect(g).toMatchObject({ type: NotificationType.LIKE, targetId: post.id, count: 24n, read: false });
      expect(g.latestActorIds).toHaveLength(8);
      expect(new Set(g.latestActorIds).size).toBe(8);
      expect(likers.map((m) => m.user.id)).toEqual(expect.arrayContaining(g.latestActorIds));
      expect(r.unreadCount).toBe(1n);
      expect((await annN.getUnreadCount({})).unreadCount).toBe(1n);

      // The connected device (over /ws) saw the group grow to its final count.
      await eventually(
        async () => notifications(phone).some((u) => u.group?.count === 24n),
        "a /ws update with the count",
      );
      const seen = notifications(phone);
      expect(seen.every((u) => u.group?.groupId === g.groupId && u.unreadCount === 1n)).toBe(true);
      // Counts only grow, in the order of the device's stream.
      const counts = seen.map((u) => u.group!.count);
      expect([...counts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(counts);
      // The phone got a push that collapses into the group.
      const push = await provider.waitFor((m) => m.token === "fcm-ann-phone");
      expect(push).toMatchObject({ platform: PushPlatform.FCM, userId: ann.user.id, collapseKey: `g${g.groupId}` });
      expect(push.body).toMatch(/^liker\d+ (and (\d+ others|liker\d+) )?liked your post$/);

      // Unlikes decrement; the last one removes the group.
      await Promise.all(likers.slice(0, 20).map((m) => m.api.posts.unlikePost({ postId: post.id })));
      await settled();
      expect(shape(await listAll(annN))[0]).toMatch(new RegExp(`^LIKE ${post.id} x4 `));
      await Promise.all(likers.slice(20).map((m) => m.api.posts.unlikePost({ postId: post.id })));
      await settled();
      expect(await listAll(annN)).toEqual([]);
      expect((await annN.getUnreadCount({})).unreadCount).toBe(0n);
    }, 120_000);

    it("comments, follows and mentions; undo and post deletion take them back; self-actions never notify", async () => {
      const post = (await ann.api.posts.createPost({ text: "talk to me" })).post!;
      await bob.api.posts.addComment({ postId: post.id, text: "hi" });
      const c2 = (await cat.api.posts.addComment({ postId: post.id, text: "hello @ann and @bob" })).comment!;
      await ann.api.posts.addComment({ postId: post.id, text: "my own @ann" });
      await bob.api.graph.follow({ userId: ann.user.id });
      await cat.api.graph.follow({ userId: ann.user.id });
      await cat.api.posts.createPost({ text: "cc @ann" });
      await settled();
      const groups = shape(await listAll(annN));
      expect(groups).toHaveLength(4);
      expect(groups).toContain(`COMMENT ${post.id} x2 [${cat.user.id},${bob.user.id}]`);
      expect(groups).toContain(`FOLLOW 0 x2 [${cat.user.id},${bob.user.id}]`);
      // Mentions are never grouped: one in cat's comment, one in cat's post (target: the post).
      expect(groups.filter((l) => l.startsWith("MENTION "))).toHaveLength(2);
      expect(groups).toContain(`MENTION ${post.id} x1 [${cat.user.id}]`);
      expect(shape(await listAll(bobN))).toEqual([`MENTION ${post.id} x1 [${cat.user.id}]`]);

      // Deleting cat's comment takes its comment and its mentions back; an unfollow takes the follow back.
      await ann.api.posts.deleteComment({ commentId: c2.id });
      await cat.api.graph.unfollow({ userId: ann.user.id });
      await settled();
      const after = shape(await listAll(annN));
      expect(after).toContain(`COMMENT ${post.id} x1 [${bob.user.id}]`);
      expect(after).toContain(`FOLLOW 0 x1 [${bob.user.id}]`);
      expect(after.filter((l) => l.startsWith("MENTION "))).toHaveLength(1);
      expect(await listAll(bobN)).toEqual([]);

      // Deleting the post takes everything about it.
      await bob.api.posts.likePost({ postId: post.id });
      await ann.api.posts.deletePost({ postId: post.id });
      await settled();
      expect(shape(await listAll(annN)).filter((l) => l.includes(` ${post.id} `))).toEqual([]);
      expect(await listAll(catN)).toEqual([]);
    }, 60_000);

    it("keeps one read marker for all of a user's devices", async () => {
      const phone = annN;
      const laptop = notifyClient(url, (await ann.api.users.logIn({ handle: "ann", password: "pw-ann-secret" })).token);
      const post = (await ann.api.posts.createPost({ text: "read me" })).post!;
      await bob.api.posts.likePost({ postId: post.id });
      await settled();
      expect((await laptop.getUnreadCount({})).unreadCount).toBeGreaterThan(0n);
      const laptopSocket = await device(ann);
      const marked = await phone.markRead({});
      expect(marked.unreadCount).toBe(0n);
      // The other device reads the same marker, and was told over /ws.
      expect(await laptop.getUnreadCount({})).toMatchObject({ unreadCount: 0n, readUpToMs: marked.readUpToMs });
      await eventually(
        async () => notifications(laptopSocket).some((u) => u.readUpToMs === marked.readUpToMs),
        "the marker reached the other device",
      );
      expect(notifications(laptopSocket).at(-1)).toMatchObject({ unreadCount: 0n, readUpToMs: marked.readUpToMs });
      expect(notifications(laptopSocket).at(-1)?.group).toBeUndefined();
      expect((await laptop.listNotifications({})).groups.every((g) => g.read)).toBe(true);
      // It never moves back.
      expect((await laptop.markRead({ upToMs: 1n })).readUpToMs).toBe(marked.readUpToMs);
      // A new like makes its group unread again (it moves to the top).
      await cat.api.posts.likePost({ postId: post.id });
      await settled();
      const r = await laptop.listNotifications({});
      expect(r.unreadCount).toBe(1n);
      expect(shape(r.groups)[0]).toBe(`LIKE ${post.id} x2 [${cat.user.id},${bob.user.id}]`);
    }, 60_000);

    it("honours preferences and mutes", async () => {
      const post = (await bob.api.posts.createPost({ text: "prefs" })).post!;
      const set = await bobN.setPreferences({
        types: [
          { type: NotificationType.LIKE, enabled: false, push: false },
          { type: NotificationType.COMMENT, enabled: true, push: false },
        ],
        muteUserIds: [dan.user.id],
      });
      expect(set.preferences?.mutedUserIds).toEqual([dan.user.id]);
      expect((await bobN.getPreferences({})).preferences?.types).toHaveLength(2);
      await bobN.registerDevice({ platform: PushPlatform.APNS, token: "apns-bob" });
      await ann.api.posts.likePost({ postId: post.id }); // likes are off
      await dan.api.posts.addComment({ postId: post.id, text: "muted" }); // dan is muted
      await cat.api.posts.addComment({ postId: post.id, text: "kept, not pushed" });
      await dan.api.graph.follow({ userId: bob.user.id }); // muted
      await cat.api.graph.follow({ userId: bob.user.id }); // follows are on and pushed
      await settled();
      expect(shape(await listAll(bobN))).toEqual([
        `FOLLOW 0 x1 [${cat.user.id}]`,
        `COMMENT ${post.id} x1 [${cat.user.id}]`,
      ]);
      await provider.waitFor((m) => m.token === "apns-bob" && m.body === "cat followed you");
      // The comment is kept but its type is not pushed.
      expect(provider.sent.filter((m) => m.token === "apns-bob").map((m) => m.body)).toEqual(["cat followed you"]);
      // Unmute and turn likes back on: they notify again.
      await bobN.setPreferences({
        types: [{ type: NotificationType.LIKE, enabled: true, push: true }],
        unmuteUserIds: [dan.user.id],
      });
      expect((await bobN.getPreferences({})).preferences?.mutedUserIds).toEqual([]);
      await dan.api.posts.likePost({ postId: post.id });
      await settled();
      expect(shape(await listAll(bobN))[0]).toBe(`LIKE ${post.id} x1 [${dan.user.id}]`);
      // A token registered by another user moves to them; unregistering someone else's token does nothing.
      await catN.registerDevice({ platform: PushPlatform.APNS, token: "apns-bob" });
      await bobN.unregisterDevice({ token: "apns-bob" });
      await ann.api.graph.follow({ userId: cat.user.id });
      await provider.waitFor((m) => m.token === "apns-bob" && m.userId === cat.user.id);
    }, 60_000);

    it("never shows blocked users, and a block takes back what they did", async () => {
      const eve = await signUp(url, "eve");
      const post = (await ann.api.posts.createPost({ text: "no eve" })).post!;
      await eve.api.posts.likePost({ postId: post.id });
      await eve.api.graph.follow({ userId: ann.user.id });
      await settled();
      const before = shape(await listAll(annN));
      expect(before.some((l) => l.includes(String(eve.user.id)))).toBe(true);
      await ann.api.users.block({ userId: eve.user.id });
      await settled();
      expect(shape(await listAll(annN)).some((l) => l.includes(String(eve.user.id)))).toBe(false);
      // A mention by a blocked user (her post can still name @ann) does not notify.
      await eve.api.posts.createPost({ text: "hey @ann" });
      await eve.api.posts.createPost({ text: "and @bob" }); // bob has no block: notified
      await settled();
      expect(shape(await listAll(annN)).some((l) => l.includes(String(eve.user.id)))).toBe(false);
      expect(shape(await listAll(bobN)).some((l) => l.startsWith("MENTION ") && l.includes(String(eve.user.id)))).toBe(
        true,
      );
    }, 60_000);

    it("drops what moderation hides: a hidden comment, a suspended account, a hidden post", async () => {
      const fay = await signUp(url, "fay");
      const gus = await signUp(url, "gus");
      const fayN = notifyClient(url, fay.token);
      const post = (await fay.api.posts.createPost({ text: "moderated" })).post!;
      const bad = (await gus.api.posts.addComment({ postId: post.id, text: "spam @cat" })).comment!;
      await ann.api.posts.addComment({ postId: post.id, text: "fine" });
      await gus.api.posts.likePost({ postId: post.id });
      await ann.api.posts.likePost({ postId: post.id });
      await gus.api.graph.follow({ userId: fay.user.id });
      await settled();
      expect(shape(await listAll(fayN)).sort()).toEqual(
        [
          `COMMENT ${post.id} x2 [${ann.user.id},${gus.user.id}]`,
          `LIKE ${post.id} x2 [${ann.user.id},${gus.user.id}]`,
          `FOLLOW 0 x1 [${gus.user.id}]`,
        ].sort(),
      );
      expect(shape(await listAll(catN)).filter((l) => l.includes(String(gus.user.id)))).toHaveLength(1);

      const bus = await EventBus.open(store.db, {
        events: [ContentHiddenSchema, AccountSuspendedSchema],
        logger: silentEvents,
      });
      try {
        await bus.publish(ContentHiddenSchema, { kind: TargetKind.COMMENT, targetId: bad.id, authorId: gus.user.id });
        await settled();
        expect(shape(await listAll(fayN))).toContain(`COMMENT ${post.id} x1 [${ann.user.id}]`);
        expect(shape(await listAll(catN)).filter((l) => l.includes(String(gus.user.id)))).toEqual([]);

        await bus.publish(AccountSuspendedSchema, { userId: gus.user.id });
        await settled();
        expect(shape(await listAll(fayN)).sort()).toEqual(
          [`COMMENT ${post.id} x1 [${ann.user.id}]`, `LIKE ${post.id} x1 [${ann.user.id}]`].sort(),
        );

        await bus.publish(ContentHiddenSchema, { kind: TargetKind.POST, targetId: post.id, authorId: fay.user.id });
        await settled();
        expect(await listAll(fayN)).toEqual([]);
      } finally {
        await bus.close();
      }
    }, 60_000);

    it("an unsuspension brings back what the suspension took, once, unless a hide still holds it", async () => {
      const lea = await signUp(url, "lea");
      const max = await signUp(url, "max");
      const leaN = notifyClient(url, lea.token);
      const post = (await lea.api.posts.createPost({ text: "suspended and back" })).post!;
      const said = (await max.api.posts.addComment({ postId: post.id, text: "hi" })).comment!;
      await max.api.posts.likePost({ postId: post.id });
      await ann.api.posts.likePost({ postId: post.id });
      await max.api.graph.follow({ userId: lea.user.id });
      await settled();
      const all = async () => shape(await listAll(leaN)).sort();
      const before = await all();
      expect(before).toEqual(
        [
          `COMMENT ${post.id} x1 [${max.user.id}]`,
          `LIKE ${post.id} x2 [${ann.user.id},${max.user.id}]`,
          `FOLLOW 0 x1 [${max.user.id}]`,
        ].sort(),
      );
      const bus = await EventBus.open(store.db, {
        events: [ContentHiddenSchema, ContentUnhiddenSchema, AccountSuspendedSchema, AccountUnsuspendedSchema],
        logger: silentEvents,
      });
      try {
        await bus.publish(AccountSuspendedSchema, { userId: max.user.id });
        // His comment is hidden too while he is suspended: it stays out when he comes back.
        await bus.publish(ContentHiddenSchema, { kind: TargetKind.COMMENT, targetId: said.id });
        await settled();
        expect(await all()).toEqual([`LIKE ${post.id} x1 [${ann.user.id}]`]);
        await bus.publish(AccountUnsuspendedSchema, { userId: max.user.id });
        await bus.publish(AccountUnsuspendedSchema, { userId: max.user.id });
        await settled();
        expect(await all()).toEqual(
          [`LIKE ${post.id} x2 [${ann.user.id},${max.user.id}]`, `FOLLOW 0 x1 [${max.user.id}]`].sort(),
        );
        await bus.publish(ContentUnhiddenSchema, { kind: TargetKind.COMMENT, targetId: said.id });
        await settled();
        expect(await all()).toEqual(before);
      } finally {
        await bus.close();
      }
    }, 60_000);

    it("an unhide brings back what the hide took, once, unless another hide or an undo still keeps it out", async () => {
      const ivy = await signUp(url, "ivy");
      const jon = await signUp(url, "jon");
      const kim = await signUp(url, "kim");
      const ivyN = notifyClient(url, ivy.token);
      const post = (await ivy.api.posts.createPost({ text: "hidden and back" })).post!;
      const spam = (await jon.api.posts.addComment({ postId: post.id, text: "look @cat" })).comment!;
      await ann.api.posts.addComment({ postId: post.id, text: "nice" });
      for (const m of [jon, ann, kim]) await m.api.posts.likePost({ postId: post.id });
      await settled();
      const ivyAll = async () => shape(await listAll(ivyN)).sort();
      const catFromJon = async () => shape(await listAll(catN)).filter((l) => l.includes(String(jon.user.id)));
      const before = await ivyAll();
      expect(before).toEqual(
        [
          `COMMENT ${post.id} x2 [${ann.user.id},${jon.user.id}]`,
          `LIKE ${post.id} x3 [${kim.user.id},${ann.user.id},${jon.user.id}]`,
        ].sort(),
      );
      expect(await catFromJon()).toEqual([`MENTION ${post.id} x1 [${jon.user.id}]`]);
      const ivyDevice = await device(ivy);

      const bus = await EventBus.open(store.db, {
        events: [ContentHiddenSchema, ContentUnhiddenSchema, PostUnlikedSchema],
        logger: silentEvents,
      });
      const hide = (kind: TargetKind, targetId: bigint) => bus.publish(ContentHiddenSchema, { kind, targetId });
      const unhide = (kind: TargetKind, targetId: bigint) => bus.publish(ContentUnhiddenSchema, { kind, targetId });
      try {
        // The comment, then its post: all gone.
        await hide(TargetKind.COMMENT, spam.id);
        await hide(TargetKind.POST, post.id);
        await settled();
        expect(await ivyAll()).toEqual([]);
        expect(await catFromJon()).toEqual([]);
        // Undone while hidden (an unlike): it stays undone.
        await bus.publish(PostUnlikedSchema, { postId: post.id, userId: kim.user.id, authorId: ivy.user.id });
        // The post comes back without the comment, still hidden; twice is once.
        await unhide(TargetKind.POST, post.id);
        await unhide(TargetKind.POST, post.id);
        await settled();
        expect(await ivyAll()).toEqual(
          [`COMMENT ${post.id} x1 [${ann.user.id}]`, `LIKE ${post.id} x2 [${ann.user.id},${jon.user.id}]`].sort(),
        );
        expect(await catFromJon()).toEqual([]);
        // Ivy's connected device heard the groups come back.
        await eventually(
          async () =>
            notifications(ivyDevice).some(
              (u) => !u.removed && u.group?.type === NotificationType.LIKE && u.group.count === 2n,
            ),
          "the restored likes pushed to the device",
        );
        // Then the comment: its notification and its mention are back, as they were.
        await unhide(TargetKind.COMMENT, spam.id);
        await unhide(TargetKind.COMMENT, spam.id);
        await settled();
        expect(await ivyAll()).toEqual(
          [
            `COMMENT ${post.id} x2 [${ann.user.id},${jon.user.id}]`,
            `LIKE ${post.id} x2 [${ann.user.id},${jon.user.id}]`,
          ].sort(),
        );
        expect(await catFromJon()).toEqual([`MENTION ${post.id} x1 [${jon.user.id}]`]);
        expect((await lagByGroup(store.db)).find((x) => x.group === FANIN_GROUP)?.deadLetters).toBe(0);
      } finally {
        await bus.close();
      }
    }, 60_000);

    it("a replay of notify.fanin rebuilds the same groups, and a replay over them counts nothing twice", async () => {
      // Not bob: a rebuild applies today's preferences and mutes to the whole log, and bob changed his.
      const users = [ann, cat, dan];
      const snapshot = async () =>
        Promise.all(users.map(async (m) => shape(await listAll(notifyClient(url, m.token))).sort()));
      const before = await snapshot();
      expect(before.flat().length).toBeGreaterThanOrEqual(4);
      const replay = async () => {
        const p = runOrbit(["events", "replay", FANIN_GROUP, "--from", "earliest", ...engine.args(store)]);
        expect(await p.exited).toMatchObject({ code: 0 });
        // A new event wakes the fenced-out consumer at once.
        await cat.api.posts.createPost({ text: "wake up" });
        await eventually(
          async () => (await lagByGroup(store.db)).find((x) => x.group === FANIN_GROUP)!.position > 0n,
          "replay taken",
        );
        await settled();
      };
      // Over the existing groups: nothing changes.
      await replay();
      expect(await snapshot()).toEqual(before);
      // From nothing: the same groups again (read flags follow the kept marker).
      await store.db.run("DELETE FROM notify_items");
      await store.db.run("DELETE FROM notify_groups");
      await store.db.run("DELETE FROM notify_hidden");
      expect(await listAll(annN)).toEqual([]);
      await replay();
      expect(await snapshot()).toEqual(before);
      expect((await lagByGroup(store.db)).find((x) => x.group === FANIN_GROUP)?.deadLetters).toBe(0);
    }, 90_000);

    it("answers bad input and anonymous calls with the right codes", async () => {
      const anon = notifyClient(url);
      expect(await codeOf(anon.listNotifications({}))).toBe(Code.Unauthenticated);
      expect(await codeOf(anon.markRead({}))).toBe(Code.Unauthenticated);
      expect(await codeOf(anon.getUnreadCount({}))).toBe(Code.Unauthenticated);
      expect(await codeOf(anon.setPreferences({}))).toBe(Code.Unauthenticated);
      expect(await codeOf(anon.registerDevice({ platform: PushPlatform.FCM, token: "x" }))).toBe(Code.Unauthenticated);
      expect(await codeOf(notifyClient(url, "orb_bogus").getUnreadCount({}))).toBe(Code.Unauthenticated);
      expect(await codeOf(annN.listNotifications({ pageSize: 101 }))).toBe(Code.InvalidArgument);
      expect(await codeOf(annN.listNotifications({ pageSize: -1 }))).toBe(Code.InvalidArgument);
      expect(await codeOf(annN.listNotifications({ pageToken: "not-a-token" }))).toBe(Code.InvalidArgument);
      expect(await codeOf(annN.listNotifications({ pageToken: "x".repeat(2000) }))).toBe(Code.InvalidArgument);
      expect(await codeOf(annN.markRead({ upToMs: -5n }))).toBe(Code.InvalidArgument);
      expect(
        await codeOf(annN.setPreferences({ types: [{ type: NotificationType.UNSPECIFIED, enabled: true }] })),
      ).toBe(Code.InvalidArgument);
      expect(await codeOf(annN.setPreferences({ types: [{ type: 99 as NotificationType, enabled: true }] }))).toBe(
        Code.InvalidArgument,
      );
      expect(
        await codeOf(
          annN.setPreferences({
            types: [
              { type: NotificationType.LIKE, enabled: true },
              { type: NotificationType.LIKE, enabled: false },
            ],
          }),
        ),
      ).toBe(Code.InvalidArgument);
      expect(await codeOf(annN.setPreferences({ muteUserIds: [ann.user.id] }))).toBe(Code.InvalidArgument);
      expect(await codeOf(annN.setPreferences({ muteUserIds: [0n] }))).toBe(Code.InvalidArgument);
      expect(await codeOf(annN.setPreferences({ muteUserIds: [bob.user.id], unmuteUserIds: [bob.user.id] }))).toBe(
        Code.InvalidArgument,
      );
      expect(
        await codeOf(annN.setPreferences({ muteUserIds: Array.from({ length: 101 }, (_, i) => BigInt(i + 1)) })),
      ).toBe(Code.InvalidArgument);
      expect(await codeOf(annN.registerDevice({ platform: PushPlatform.UNSPECIFIED, token: "t" }))).toBe(
        Code.InvalidArgument,
      );
      expect(await codeOf(annN.registerDevice({ platform: PushPlatform.FCM, token: "" }))).toBe(Code.InvalidArgument);
      expect(await codeOf(annN.registerDevice({ platform: PushPlatform.FCM, token: "a b" }))).toBe(
        Code.InvalidArgument,
      );
      expect(await codeOf(annN.registerDevice({ platform: PushPlatform.FCM, token: "t".repeat(5000) }))).toBe(
        Code.InvalidArgument,
      );
      expect(await codeOf(annN.unregisterDevice({ token: "" }))).toBe(Code.InvalidArgument);
    });
  });
}
