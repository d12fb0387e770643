/**
 * The CommunityService in a bundle with the post service (SQLite, then
 * MariaDB): the seeded catalogue, communities by series, roles and bans
 * enforced on every RPC, the modlog, posts tagged to a community (members
 * only) and the hot/new community feed kept from like and comment events.
 */
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommunityService, PostOrder, Role } from "../../gen/orbit/community/v1/community_pb.js";
import { PostService } from "../../gen/orbit/post/v1/post_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { silentLogger } from "../../platform/log.js";
import { staticTokens } from "../../platform/rpc/identity.js";
import { consumersSettled, eventually } from "../../test/support/social-client.js";
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

const USERS = { ann: 1n, bob: 2n, cat: 3n, dan: 4n, eve: 5n, root: 9n } as const;
type Name = keyof typeof USERS;

for (const engine of ENGINES) {
  describe(`CommunityService (${engine.name})`, () => {
    let store: TestStore;
    let bundle: Bundle;
    const c = {} as Record<Name | "anon", Client<typeof CommunityService>>;
    const p = {} as Record<Name, Client<typeof PostService>>;

    beforeAll(async () => {
      store = await engine.open();
      bundle = await Bundle.start({
        registry,
        config: {
          ...DEFAULT_CONFIG,
          services: ["community", "post"],
          host: "127.0.0.1",
          port: 0,
          settings: { community: { admins: "9" } },
        },
        tokenVerifier: staticTokens(Object.fromEntries(Object.entries(USERS).map(([n, id]) => [n, String(id)]))),
        db: store.db,
        log: silentLogger(),
      });
      const transport = (token?: string) =>
        createConnectTransport({
          baseUrl: bundle.url!,
          httpVersion: "1.1",
          interceptors: token
            ? [
                (next) => (req) => {
                  req.header.set("authorization", `Bearer ${token}`);
                  return next(req);
                },
              ]
            : [],
        });
      for (const name of Object.keys(USERS) as Name[]) {
        c[name] = createClient(CommunityService, transport(name));
        p[name] = createClient(PostService, transport(name));
      }
      c.anon = createClient(CommunityService, transport());
    });

    afterAll(async () => {
      await bundle?.stop();
      await store?.dispose();
    });

    it("lists the seeded catalogue, searches titles and aliases, pages", async () => {
      const all: string[] = [];
      let token = "";
      do {
        const page = await c.anon.listSeries({ pageSize: 5, pageToken: token });
        expect(page.series.length).toBeLessThanOrEqual(5);
        all.push(...page.series.map((s) => s.slug));
        token = page.nextPageToken;
      } while (token);
      expect(all).toHaveLength(12);
      expect(new Set(all).size).toBe(12);
      const frieren = (await c.anon.listSeries({ query: "FRIEREN" })).series;
      expect(frieren.map((s) => s.title)).toEqual(["Frieren: Beyond Journey's End"]);
      expect(frieren[0]!.communityId).toBeGreaterThan(0n);
      expect((await c.anon.listSeries({ query: "dungeon meshi" })).series.map((s) => s.slug)).toEqual([
        "dungeon-meshi",
      ]);
      expect((await c.anon.listSeries({ query: "100%_" })).series).toEqual([]);
      expect(await codeOf(c.anon.listSeries({ pageToken: "x" }))).toBe(Code.InvalidArgument);

      const bySeries = await c.anon.getCommunity({ ref: { case: "seriesId", value: frieren[0]!.id } });
      expect(bySeries.community).toMatchObject({ id: frieren[0]!.communityId, memberCount: 0n, ownerId: 0n });
      expect(bySeries.community!.series!.aliases).toContain("Sousou no Frieren");
      expect(await codeOf(c.anon.getCommunity({ ref: { case: "communityId", value: 1n } }))).toBe(Code.NotFound);
      expect(await codeOf(c.anon.getCommunity({}))).toBe(Code.InvalidArgument);
    });

    it("enforces roles and bans on every RPC, with a modlog", async () => {
      expect(await codeOf(c.ann.createSeries({ title: "Made up" }))).toBe(Code.PermissionDenied);
      const made = await c.root.createSeries({
        title: "Made Up Show",
        aliases: ["MUS"],
        season: "2026 Fall",
        ownerId: 1n,
      });
      expect(made.series!.slug).toBe("made-up-show");
      expect(await codeOf(c.root.createSeries({ title: "Made Up Show" }))).toBe(Code.AlreadyExists);
      const id = made.community!.id;
      expect(made.community).toMatchObject({ ownerId: 1n, memberCount: 1n });

      expect(await codeOf(c.anon.join({ communityId: id }))).toBe(Code.Unauthenticated);
      for (const n of ["bob", "cat", "dan"] as const) await c[n].join({ communityId: id });
      expect((await c.dan.join({ communityId: id })).memberCount).toBe(4n); // idempotent
      const listed = await c.anon.listMembers({ communityId: id });
      expect(listed.members.map((m) => [m.userId, m.role])).toEqual([
        [1n, Role.OWNER],
        [2n, Role.MEMBER],
        [3n, Role.MEMBER],
        [4n, Role.MEMBER],
      ]);

      // Members cannot moderate.
      expect(await codeOf(c.bob.setRole({ communityId: id, userId: 3n, role: Role.MODERATOR }))).toBe(
        Code.PermissionDenied,
      );
      expect(await codeOf(c.bob.ban({ communityId: id, userId: 4n }))).toBe(Code.PermissionDenied);
      expect(await codeOf(c.bob.unban({ communityId: id, userId: 4n }))).toBe(Code.PermissionDenied);
      expect(await codeOf(c.bob.listModLog({ communityId: id }))).toBe(Code.PermissionDenied);
      expect(await codeOf(c.ann.setRole({ communityId: id, userId: 5n, role: Role.MODERATOR }))).toBe(
        Code.FailedPrecondition,
      );
      expect(await codeOf(c.ann.setRole({ communityId: id, userId: 2n, role: Role.UNSPECIFIED }))).toBe(
        Code.InvalidArgument,
      );

      await c.ann.setRole({ communityId: id, userId: 2n, role: Role.MODERATOR });
      const banned = await c.bob.ban({ communityId: id, userId: 4n, reason: "spoilers" });
      expect(banned.membership).toMatchObject({ banned: true, role: Role.UNSPECIFIED });
      expect((await c.anon.getCommunity({ ref: { case: "communityId", value: id } })).community!.memberCount).toBe(3n);
      // The banned user is kept out everywhere.
      expect(await codeOf(c.dan.join({ communityId: id }))).toBe(Code.PermissionDenied);
      expect(await codeOf(c.dan.listMembers({ communityId: id }))).toBe(Code.PermissionDenied);
      expect(await codeOf(c.dan.listCommunityPosts({ communityId: id }))).toBe(Code.PermissionDenied);
      expect(await codeOf(p.dan.createPost({ text: "hi", communityId: id }))).toBe(Code.PermissionDenied);
      expect((await c.dan.getCommunity({ ref: { case: "communityId", value: id } })).me).toMatchObject({
        banned: true,
      });
      expect((await c.anon.getMembership({ communityId: id, userId: 4n })).membership!.banned).toBe(true);

      // Moderators cannot ban moderators or the owner; nobody bans the owner; the owner cannot leave.
      await c.ann.setRole({ communityId: id, userId: 3n, role: Role.MODERATOR });
      expect(await codeOf(c.bob.ban({ communityId: id, userId: 3n }))).toBe(Code.PermissionDenied);
      expect(await codeOf(c.bob.ban({ communityId: id, userId: 1n }))).toBe(Code.FailedPrecondition);
      expect(await codeOf(c.bob.ban({ communityId: id, userId: 2n }))).toBe(Code.InvalidArgument);
      expect(await codeOf(c.ann.leave({ communityId: id }))).toBe(Code.FailedPrecondition);

      await c.cat.unban({ communityId: id, userId: 4n });
      expect((await c.dan.join({ communityId: id })).memberCount).toBe(4n);
      const log = await c.ann.listModLog({ communityId: id });
      expect(log.entries.map((e) => [e.action, e.actorId, e.targetUserId, e.detail])).toEqual([
        ["unban", 3n, 4n, ""],
        ["set_role", 1n, 3n, "moderator"],
        ["ban", 2n, 4n, "spoilers"],
        ["set_role", 1n, 2n, "moderator"],
      ]);

      // Ownership moves with SetRole OWNER; the old owner stays as moderator and may then leave.
      await c.ann.setRole({ communityId: id, userId: 3n, role: Role.OWNER });
      const after = await c.ann.getCommunity({ ref: { case: "communityId", value: id } });
      expect(after.community!.ownerId).toBe(3n);
      expect(after.me!.role).toBe(Role.MODERATOR);
      expect(await codeOf(c.ann.setRole({ communityId: id, userId: 2n, role: Role.MEMBER }))).toBe(
        Code.PermissionDenied,
      );
      expect((await c.ann.leave({ communityId: id })).memberCount).toBe(3n);
      // An admin acts as owner anywhere.
      await c.root.ban({ communityId: id, userId: 2n, reason: "admin" });
      expect((await c.anon.getMembership({ communityId: id, userId: 2n })).membership!.banned).toBe(true);
    });

    it("takes posts from members only and orders the community feed new and hot", async () => {
      const made = await c.root.createSeries({ title: "Feed Show", ownerId: 1n });
      const id = made.community!.id;
      await c.bob.join({ communityId: id });
      expect(await codeOf(p.eve.createPost({ text: "not a member", communityId: id }))).toBe(Code.PermissionDenied);
      expect(await codeOf(p.ann.createPost({ text: "nowhere", communityId: 424242n }))).toBe(Code.NotFound);
      const p1 = (await p.ann.createPost({ text: "first", communityId: id })).post!;
      expect(p1.communityId).toBe(id);
      const p2 = (await p.bob.createPost({ text: "second", communityId: id })).post!;
      const p3 = (await p.ann.createPost({ text: "third", communityId: id })).post!;
      await p.ann.createPost({ text: "outside any community" });
      const ids = async (order: PostOrder) =>
        (await c.anon.listCommunityPosts({ communityId: id, order })).posts.map((x) => x.postId);
      await eventually(async () => (await ids(PostOrder.NEW)).length === 3, "community posts");
      expect(await ids(PostOrder.NEW)).toEqual([p3.id, p2.id, p1.id]);
      expect(await ids(PostOrder.HOT)).toEqual([p3.id, p2.id, p1.id]);

      for (const n of ["bob", "cat", "dan"] as const) await p[n].likePost({ postId: p1.id });
      await p.cat.addComment({ postId: p1.id, text: "so good" });
      await consumersSettled(store.db);
      expect(await ids(PostOrder.HOT)).toEqual([p1.id, p3.id, p2.id]);
      expect(await ids(PostOrder.NEW)).toEqual([p3.id, p2.id, p1.id]);
      const top = (await c.anon.listCommunityPosts({ communityId: id })).posts[0]!;
      expect(top).toMatchObject({ postId: p1.id, likeCount: 3n, commentCount: 1n });
      const page = await c.anon.listCommunityPosts({ communityId: id, order: PostOrder.NEW, pageSize: 2 });
      const rest = await c.anon.listCommunityPosts({
        communityId: id,
        order: PostOrder.NEW,
        pageSize: 2,
        pageToken: page.nextPageToken,
      });
      expect([...page.posts, ...rest.posts].map((x) => x.postId)).toEqual([p3.id, p2.id, p1.id]);
      // An unlike counts down.
      await p.dan.unlikePost({ postId: p1.id });
      await consumersSettled(store.db);
      expect((await c.anon.listCommunityPosts({ communityId: id })).posts[0]).toMatchObject({ likeCount: 2n });
      await p.ann.deletePost({ postId: p3.id });
      await consumersSettled(store.db);
      expect(await ids(PostOrder.HOT)).toEqual([p1.id, p2.id]);
    });
  });
}
