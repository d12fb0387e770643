/**
 * The social scenario of issue 6, run against any deployment: three users
 * sign up, follow each other, post, like and comment; feeds page in order;
 * counts are exact; deletes, unfollows and blocks leave the feeds; a block
 * hides likes; sessions, login throttling and bad input. services/social.e2e.test.ts
 * runs it on one bundle (SQLite), services/two-process.e2e.test.ts on two
 * bundles sharing MariaDB. Call it inside a describe block; `target` is read
 * in beforeAll.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { beforeAll, expect, it } from "vitest";
import { MediaState } from "../../gen/orbit/media/v1/media_pb.js";
import { settled, upload } from "../../services/media/testing/client.js";
import { sidewaysJpeg } from "../../services/media/testing/files.js";
import { DEFAULT_LOGIN_RULES } from "../../services/user/rate-limit.js";
import { eventually, signUp, socialClients, type Member, type Social } from "./social-client.js";

export interface SocialTarget {
  /** Where every service is reached, unless `urls` says otherwise. */
  readonly baseUrl: string;
  readonly urls?: Partial<Record<keyof Social, string>>;
}

export async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

/** Waits until the clock has moved on, so that the next write gets a later created_at_ms. */
async function distinctMs(): Promise<void> {
  await new Promise((r) => setTimeout(r, 3));
}

/** Every page of a list, following next_page_token; the user ids in order. */
async function listAll(page: (token: string) => Promise<[{ userId: bigint }[], string]>): Promise<bigint[]> {
  const out: bigint[] = [];
  let token = "";
  let pages = 0;
  do {
    const [items, next] = await page(token);
    out.push(...items.map((i) => i.userId));
    token = next;
    if (++pages > 100) throw new Error("page tokens do not end");
  } while (token);
  return out;
}

export function socialScenario(target: () => SocialTarget): void {
  let ann: Member, bob: Member, cat: Member;
  let anon: () => Social;
  let as: (token: string) => Social;

  beforeAll(async () => {
    const t = target();
    anon = () => socialClients(t.baseUrl, undefined, t.urls);
    as = (token) => socialClients(t.baseUrl, token, t.urls);
    [ann, bob, cat] = await Promise.all([
      signUp(t.baseUrl, "ann", t.urls),
      signUp(t.baseUrl, "bob", t.urls),
      signUp(t.baseUrl, "cat", t.urls),
    ]);
  }, 60_000);

  it("signs up, logs in, and knows who is calling", async () => {
    const me = await ann.api.users.getMe({});
    expect(me.user).toMatchObject({ handle: "ann", displayName: "ANN" });
    const login = await anon().users.logIn({ handle: "ANN", password: "pw-ann-secret", deviceName: "phone" });
    expect(login.user?.id).toBe(ann.user.id);
    expect(login.token).not.toBe(ann.token);
    expect(await codeOf(anon().users.signUp({ handle: "Ann", password: "another-password" }))).toBe(Code.AlreadyExists);
    expect((await anon().users.checkHandle({ handle: "ann" })).available).toBe(false);
    expect((await anon().users.checkHandle({ handle: "newbie" })).available).toBe(true);
  });

  it("updates the profile fields present and shows them everywhere", async () => {
    const before = (await bob.api.users.getMe({})).user!;
    expect(before).toMatchObject({ displayName: "BOB", bio: "", avatarMediaId: 0n });
    // An avatar must be the user's own READY image (the media service checks it).
    const base = target().baseUrl;
    const avatar = (await upload(base, bob.token, await sidewaysJpeg(64, 48), "image/jpeg")).mediaId;
    expect(await codeOf(bob.api.users.updateProfile({ avatarMediaId: 987654321n }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(ann.api.users.updateProfile({ avatarMediaId: avatar }))).toBe(Code.FailedPrecondition);
    expect((await settled(base, bob.token, avatar)).state).toBe(MediaState.READY);
    // Posts take only the author's READY media too (nothing is posted here).
    expect(await codeOf(ann.api.posts.createPost({ text: "not mine", mediaIds: [avatar] }))).toBe(
      Code.FailedPrecondition,
    );
    expect(await codeOf(bob.api.posts.createPost({ text: "made up", mediaIds: [987654321n] }))).toBe(
      Code.FailedPrecondition,
    );
    const updated = await bob.api.users.updateProfile({
      displayName: "Bob B.",
      bio: "I like #anime",
      avatarMediaId: avatar,
    });
    const want = {
      id: bob.user.id,
      handle: "bob",
      displayName: "Bob B.",
      bio: "I like #anime",
      avatarMediaId: avatar,
      createdAtMs: before.createdAtMs,
    };
    expect(updated.user).toMatchObject(want);
    expect((await anon().users.getProfile({ who: { case: "handle", value: "bob" } })).profile!.user).toMatchObject(
      want,
    );
    expect(
      (await ann.api.users.getProfile({ who: { case: "userId", value: bob.user.id } })).profile!.user,
    ).toMatchObject(want);
    expect((await bob.api.users.getMe({})).user).toMatchObject(want);
    // Only the fields present change.
    const bioOnly = await bob.api.users.updateProfile({ bio: "new bio" });
    expect(bioOnly.user).toMatchObject({ ...want, bio: "new bio" });
    expect((await anon().users.getUsers({ userIds: [bob.user.id] })).users[0]).toMatchObject({
      ...want,
      bio: "new bio",
    });
    // Nobody else changed.
    expect(
      (await anon().users.getProfile({ who: { case: "userId", value: ann.user.id } })).profile!.user,
    ).toMatchObject({ displayName: "ANN", bio: "", avatarMediaId: 0n });
    // Put the display name back (the rest of the scenario does not care about bio and avatar).
    expect((await bob.api.users.updateProfile({ displayName: "BOB" })).user).toMatchObject({
      displayName: "BOB",
      bio: "new bio",
      avatarMediaId: avatar,
    });
  });

  it("everyone follows everyone; followers and following are listed newest first across pages", async () => {
    // Ann follows the other two in descending id order, so that "newest
    // first" and "by id" differ for her whichever way ids fall.
    const [annFirst, annSecond] = [bob, cat].sort((x, y) => (x.user.id > y.user.id ? -1 : 1));
    const edges: [Member, Member][] = [
      [bob, ann],
      [cat, ann],
      [cat, bob],
      [ann, annFirst!],
      [ann, annSecond!],
      [bob, cat],
    ];
    for (const [follower, followee] of edges) {
      const r = await follower.api.graph.follow({ userId: followee.user.id });
      expect(r.relationship).toMatchObject({ userId: followee.user.id, following: true });
      await distinctMs();
    }
    for (const m of [ann, bob, cat]) {
      const following = edges
        .filter(([f]) => f === m)
        .map(([, e]) => e.user.id)
        .reverse();
      const followers = edges
        .filter(([, e]) => e === m)
        .map(([f]) => f.user.id)
        .reverse();
      expect(following.length).toBe(2);
      expect(followers.length).toBe(2);
      expect(
        await listAll((t) =>
          anon()
            .graph.listFollowing({ userId: m.user.id, pageSize: 1, pageToken: t })
            .then((r) => [r.following, r.nextPageToken]),
        ),
      ).toEqual(following);
      expect(
        await listAll((t) =>
          anon()
            .graph.listFollowers({ userId: m.user.id, pageSize: 1, pageToken: t })
            .then((r) => [r.followers, r.nextPageToken]),
        ),
      ).toEqual(followers);
      // One page holding everything: same order, no token.
      const one = await anon().graph.listFollowing({ userId: m.user.id, pageSize: 10 });
      expect(one.following.map((f) => f.userId)).toEqual(following);
      expect(one.nextPageToken).toBe("");
      expect(one.following[0]!.sinceMs).toBeGreaterThan(one.following[1]!.sinceMs);
    }
    const rel = await ann.api.graph.getRelationship({ userId: bob.user.id });
    expect(rel.relationship).toMatchObject({ userId: bob.user.id, following: true, followedBy: true });
  });

  it("posts, and builds home feeds newest first across pages", async () => {
    const created: bigint[] = [];
    for (let i = 0; i < 7; i++) {
      const author = i % 2 === 0 ? ann : bob;
      const p = await author.api.posts.createPost({ text: `post ${i} #anime by @${author.user.handle}` });
      created.push(p.post!.id);
    }
    const expected = [...created].reverse();
    await eventually(
      async () => (await cat.api.feed.getHomeFeed({ pageSize: 50 })).posts.length === 7,
      "cat's feed has 7 posts",
    );
    const pages: bigint[][] = [];
    let token = "";
    do {
      const page = await cat.api.feed.getHomeFeed({ pageSize: 3, pageToken: token });
      pages.push(page.posts.map((p) => p.id));
      token = page.nextPageToken;
    } while (token);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual(expected);
    // Everyone follows everyone: every feed holds all 7, in the same order.
    for (const m of [ann, bob]) {
      await eventually(
        async () => (await m.api.feed.getHomeFeed({ pageSize: 50 })).posts.length === 7,
        `${m.user.handle}'s feed`,
      );
      expect((await m.api.feed.getHomeFeed({ pageSize: 50 })).posts.map((p) => p.id)).toEqual(expected);
    }
  });

  it("counts likes, comments and follows exactly, and shows liked_by_me", async () => {
    const p = (await ann.api.posts.createPost({ text: "like me" })).post!;
    await Promise.all([bob, cat, bob, cat].map((m) => m.api.posts.likePost({ postId: p.id })));
    const seenByBob = (await bob.api.posts.getPost({ postId: p.id })).post!;
    expect(seenByBob.likeCount).toBe(2n);
    expect(seenByBob.likedByMe).toBe(true);
    expect((await ann.api.posts.getPost({ postId: p.id })).post!.likedByMe).toBe(false);
    await bob.api.posts.unlikePost({ postId: p.id });
    await bob.api.posts.unlikePost({ postId: p.id });
    const c1 = (await bob.api.posts.addComment({ postId: p.id, text: "first!" })).comment!;
    await cat.api.posts.addComment({ postId: p.id, text: "reply", replyToCommentId: c1.id });
    const after = (await cat.api.posts.getPost({ postId: p.id })).post!;
    expect(after).toMatchObject({ likeCount: 1n, commentCount: 2n });
    const comments = await ann.api.posts.listComments({ postId: p.id });
    expect(comments.comments.map((c) => c.text)).toEqual(["first!", "reply"]);
    const likes = await ann.api.posts.listLikes({ postId: p.id });
    expect(likes.likes.map((l) => l.userId)).toEqual([cat.user.id]);
    await eventually(async () => {
      const prof = (await cat.api.users.getProfile({ who: { case: "handle", value: "ann" } })).profile!;
      return prof.followerCount === 2n && prof.postCount === 5n && prof.followingCount === 2n;
    }, "ann's profile counts");
  });

  it("parses hashtags and mentions", async () => {
    const p = (await bob.api.posts.createPost({ text: "Watching #Frieren with @cat and @nobody_here #frieren #2024" }))
      .post!;
    expect(p.hashtags).toEqual(["frieren"]);
    expect(p.mentionUserIds).toEqual([cat.user.id]);
  });

  it("edits and deletes only one's own content; deleted posts leave the feeds", async () => {
    const p = (await ann.api.posts.createPost({ text: "typo" })).post!;
    expect(await codeOf(bob.api.posts.editPost({ postId: p.id, text: "hacked" }))).toBe(Code.PermissionDenied);
    expect(await codeOf(bob.api.posts.deletePost({ postId: p.id }))).toBe(Code.PermissionDenied);
    const edited = (await ann.api.posts.editPost({ postId: p.id, text: "fixed #now" })).post!;
    expect(edited.text).toBe("fixed #now");
    expect(edited.editedAtMs).toBeGreaterThan(0n);
    await eventually(
      async () => (await bob.api.feed.getHomeFeed({ pageSize: 1 })).posts[0]?.id === p.id,
      "post in bob's feed",
    );
    await ann.api.posts.deletePost({ postId: p.id });
    expect(await codeOf(bob.api.posts.getPost({ postId: p.id }))).toBe(Code.NotFound);
    const feed = await bob.api.feed.getHomeFeed({ pageSize: 50 });
    expect(feed.posts.some((x) => x.id === p.id)).toBe(false);
  });

  it("unfollow removes the account's posts from the feed; follow backfills them", async () => {
    await cat.api.graph.unfollow({ userId: bob.user.id });
    await eventually(
      async () => !(await cat.api.feed.getHomeFeed({ pageSize: 100 })).posts.some((p) => p.authorId === bob.user.id),
      "bob's posts leave cat's feed",
    );
    await cat.api.graph.follow({ userId: bob.user.id });
    await eventually(
      async () => (await cat.api.feed.getHomeFeed({ pageSize: 100 })).posts.some((p) => p.authorId === bob.user.id),
      "bob's posts are backfilled",
    );
    const rel = await cat.api.graph.getRelationship({ userId: bob.user.id });
    expect(rel.relationship).toMatchObject({ userId: bob.user.id, following: true, followedBy: true });
    // The follow again is now the newest: first in both lists.
    expect((await anon().graph.listFollowers({ userId: bob.user.id, pageSize: 1 })).followers[0]?.userId).toBe(
      cat.user.id,
    );
    expect((await anon().graph.listFollowing({ userId: cat.user.id, pageSize: 1 })).following[0]?.userId).toBe(
      bob.user.id,
    );
    const followers = await ann.api.graph.listFollowers({ userId: ann.user.id, pageSize: 1 });
    expect(followers.followers.length).toBe(1);
    const rest = await ann.api.graph.listFollowers({
      userId: ann.user.id,
      pageSize: 10,
      pageToken: followers.nextPageToken,
    });
    expect([...followers.followers, ...rest.followers].map((f) => f.userId)).toEqual([cat.user.id, bob.user.id]);
    expect(rest.nextPageToken).toBe("");
  });

  it("a block hides posts both ways and forbids following, liking and commenting", async () => {
    const annPost = (await ann.api.posts.createPost({ text: "before the block" })).post!;
    const bobPost = (await bob.api.posts.createPost({ text: "liked by both" })).post!;
    await ann.api.posts.likePost({ postId: bobPost.id });
    await cat.api.posts.likePost({ postId: bobPost.id });
    const blockedByMe = async (viewer: Social, other: Member) =>
      (await viewer.users.getProfile({ who: { case: "userId", value: other.user.id } })).profile!.blockedByMe;
    expect(await blockedByMe(ann.api, cat)).toBe(false);
    await ann.api.users.block({ userId: cat.user.id });
    await ann.api.users.block({ userId: cat.user.id }); // idempotent
    // Only the blocker sees the block.
    expect(await blockedByMe(ann.api, cat)).toBe(true);
    expect(await blockedByMe(cat.api, ann)).toBe(false);
    expect(await blockedByMe(bob.api, cat)).toBe(false);
    expect(await blockedByMe(anon(), cat)).toBe(false);
    // Likes by users with a block with the caller are left out, both ways (as their comments are).
    const likers = async (viewer: Social) =>
      (await viewer.posts.listLikes({ postId: bobPost.id })).likes.map((l) => l.userId).sort();
    expect(await likers(ann.api)).toEqual([ann.user.id]);
    expect(await likers(cat.api)).toEqual([cat.user.id]);
    expect(await likers(bob.api)).toEqual([ann.user.id, cat.user.id].sort());
    expect(await likers(anon())).toEqual([ann.user.id, cat.user.id].sort());
    expect((await ann.api.posts.getPost({ postId: bobPost.id })).post!.likeCount).toBe(2n);
    expect(await codeOf(cat.api.graph.follow({ userId: ann.user.id }))).toBe(Code.PermissionDenied);
    expect(await codeOf(cat.api.posts.likePost({ postId: annPost.id }))).toBe(Code.NotFound);
    expect(await codeOf(cat.api.posts.addComment({ postId: annPost.id, text: "hi" }))).toBe(Code.NotFound);
    expect(await codeOf(cat.api.posts.listUserPosts({ userId: ann.user.id }))).toBe(Code.PermissionDenied);
    // Neither can mention the other (the @handle stays text); a third user still can, in one post.
    const mentions = async (m: Member, text: string) =>
      (await m.api.posts.createPost({ text })).post!.mentionUserIds.map(String).sort();
    expect(await mentions(cat, "hey @ann and @bob")).toEqual([String(bob.user.id)]);
    expect(await mentions(ann, "hey @cat")).toEqual([]);
    expect(await mentions(bob, "@ann @cat")).toEqual([ann.user.id, cat.user.id].map(String).sort());
    await eventually(
      async () => !(await cat.api.feed.getHomeFeed({ pageSize: 100 })).posts.some((p) => p.authorId === ann.user.id),
      "ann's posts leave cat's feed",
    );
    // The block removed the follows both ways.
    await eventually(async () => {
      const r = (await cat.api.graph.getRelationship({ userId: ann.user.id })).relationship!;
      return !r.following && !r.followedBy;
    }, "the follows between ann and cat are gone");
    expect((await ann.api.graph.getRelationship({ userId: cat.user.id })).relationship).toMatchObject({
      userId: cat.user.id,
      following: false,
      followedBy: false,
    });
    expect((await anon().graph.listFollowers({ userId: ann.user.id })).followers.map((f) => f.userId)).toEqual([
      bob.user.id,
    ]);
    expect((await ann.api.users.listBlocked({})).users.map((u) => u.handle)).toEqual(["cat"]);
    await ann.api.users.unblock({ userId: cat.user.id });
    await ann.api.users.unblock({ userId: cat.user.id }); // idempotent
    expect(await blockedByMe(ann.api, cat)).toBe(false);
    expect((await ann.api.users.listBlocked({})).users).toEqual([]);
    // Unblock does not restore follows; following again works.
    expect((await cat.api.graph.getRelationship({ userId: ann.user.id })).relationship).toMatchObject({
      following: false,
      followedBy: false,
    });
    const again = await cat.api.graph.follow({ userId: ann.user.id });
    expect(again.relationship).toMatchObject({ userId: ann.user.id, following: true, followedBy: false });
    expect((await ann.api.graph.getRelationship({ userId: cat.user.id })).relationship).toMatchObject({
      following: false,
      followedBy: true,
    });
    expect((await anon().graph.listFollowers({ userId: ann.user.id })).followers.map((f) => f.userId)).toEqual([
      cat.user.id,
      bob.user.id,
    ]);
    expect(await likers(ann.api)).toEqual([ann.user.id, cat.user.id].sort());
  });

  it("keeps one session per device: a new login on a device replaces that device's session", async () => {
    const devices = async () => (await cat.api.users.listSessions({})).sessions.map((s) => s.deviceName).sort();
    const first = await anon().users.logIn({ handle: "cat", password: "pw-cat-secret", deviceName: "laptop" });
    expect(await codeOf(as(first.token).users.getMe({}))).toBe("ok");
    const before = (await cat.api.users.listSessions({})).sessions;
    const laptop = before.filter((s) => s.deviceName === "laptop");
    expect(laptop.length).toBe(1);
    const second = await anon().users.logIn({ handle: "cat", password: "pw-cat-secret", deviceName: "laptop" });
    // The old laptop session is gone and its token no longer works; the new one does.
    const after = (await cat.api.users.listSessions({})).sessions;
    expect(after.filter((s) => s.deviceName === "laptop").map((s) => s.id)).not.toContain(laptop[0]!.id);
    expect(after.filter((s) => s.deviceName === "laptop").length).toBe(1);
    expect(after.length).toBe(before.length);
    expect(await codeOf(as(first.token).users.getMe({}))).toBe(Code.Unauthenticated);
    expect((await as(second.token).users.getMe({})).user?.id).toBe(cat.user.id);
    // Other devices and the calling session are untouched.
    expect(await codeOf(cat.api.users.getMe({}))).toBe("ok");
    // Concurrent logins on one device still leave one session for it.
    const burst = await Promise.all(
      [1, 2, 3].map(() => anon().users.logIn({ handle: "cat", password: "pw-cat-secret", deviceName: "watch" })),
    );
    expect((await devices()).filter((d) => d === "watch").length).toBe(1);
    expect(
      (await Promise.all(burst.map((b) => codeOf(as(b.token).users.getMe({}))))).filter((c) => c === "ok").length,
    ).toBe(1);
    // Logins without a device name each get their own session.
    const n = (await devices()).length;
    const u1 = await anon().users.logIn({ handle: "cat", password: "pw-cat-secret" });
    const u2 = await anon().users.logIn({ handle: "cat", password: "pw-cat-secret" });
    expect((await devices()).length).toBe(n + 2);
    for (const u of [u1, u2]) expect(await codeOf(as(u.token).users.getMe({}))).toBe("ok");
  });

  it("lists and revokes sessions; a revoked or logged-out token stops working", async () => {
    const second = await anon().users.logIn({ handle: "bob", password: "pw-bob-secret", deviceName: "tablet" });
    const sessions = (await bob.api.users.listSessions({})).sessions;
    expect(sessions.length).toBeGreaterThanOrEqual(2);
    expect(sessions.filter((s) => s.current).length).toBe(1);
    const tablet = sessions.find((s) => s.deviceName === "tablet")!;
    await bob.api.users.revokeSession({ sessionId: tablet.id });
    expect(await codeOf(as(second.token).users.getMe({}))).toBe(Code.Unauthenticated);
    expect(await codeOf(cat.api.users.revokeSession({ sessionId: sessions.find((s) => s.current)!.id }))).toBe(
      Code.NotFound,
    );
    const third = await anon().users.logIn({ handle: "bob", password: "pw-bob-secret" });
    const api = as(third.token);
    await api.users.logOut({});
    expect(await codeOf(api.users.getMe({}))).toBe(Code.Unauthenticated);
  });

  it("slows failed logins of a handle from one address", async () => {
    const guest = anon();
    const codes: (Code | "ok")[] = [];
    // The free failures, then waits of 1 s, 2 s, 4 s…: refused within a few guesses.
    for (let i = 0; i < 12 && codes.at(-1) !== Code.ResourceExhausted; i++)
      codes.push(await codeOf(guest.users.logIn({ handle: "cat", password: "wrong password" })));
    expect(codes.at(-1)).toBe(Code.ResourceExhausted);
    const free = DEFAULT_LOGIN_RULES.freeFailures;
    expect(codes.slice(0, free + 1)).toEqual(Array(free + 1).fill(Code.Unauthenticated));
  });

  it("answers bad input with InvalidArgument naming the field", async () => {
    const err = await anon()
      .users.signUp({ handle: "no spaces", password: "x" })
      .catch((e) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toContain("handle must match");
    expect((err as ConnectError).rawMessage).toContain("password must be at least 8 characters");
    expect(await codeOf(ann.api.posts.createPost({ text: "x".repeat(2001) }))).toBe(Code.InvalidArgument);
    expect(await codeOf(ann.api.posts.createPost({ text: "   " }))).toBe(Code.InvalidArgument);
    expect(await codeOf(ann.api.feed.getHomeFeed({ pageToken: "garbage" }))).toBe(Code.InvalidArgument);
    expect(await codeOf(ann.api.posts.listUserPosts({ userId: ann.user.id, pageToken: "garbage" }))).toBe(
      Code.InvalidArgument,
    );
    expect(await codeOf(ann.api.graph.follow({ userId: 424242n }))).toBe(Code.NotFound);
    // The handlers' own checks name the field(s) first, as `field: what is wrong`.
    const post = (await ann.api.posts.createPost({ text: "for comments" })).post!;
    const comment = (await ann.api.posts.addComment({ postId: post.id, text: "mine" })).comment!;
    const other = (await bob.api.posts.createPost({ text: "another post" })).post!;
    const otherComment = (await bob.api.posts.addComment({ postId: other.id, text: "elsewhere" })).comment!;
    const cases: [string, () => Promise<unknown>, string][] = [
      ["follow yourself", () => ann.api.graph.follow({ userId: ann.user.id }), "user_id: "],
      ["block yourself", () => ann.api.users.block({ userId: ann.user.id }), "user_id: "],
      ["empty post", () => ann.api.posts.createPost({ text: "   " }), "text, media_ids: "],
      ["post edited to nothing", () => ann.api.posts.editPost({ postId: post.id, text: " " }), "text: "],
      ["blank comment", () => ann.api.posts.addComment({ postId: post.id, text: "  " }), "text: "],
      ["comment edited blank", () => ann.api.posts.editComment({ commentId: comment.id, text: "\t" }), "text: "],
      [
        "reply across posts",
        () => ann.api.posts.addComment({ postId: post.id, text: "hi", replyToCommentId: otherComment.id }),
        "reply_to_comment_id: ",
      ],
      ["profile of nobody", () => anon().users.getProfile({}), "user_id, handle: "],
      ["feed page token", () => ann.api.feed.getHomeFeed({ pageToken: "garbage" }), "page_token: "],
    ];
    for (const [what, call, prefix] of cases) {
      const e = await call().then(
        () => undefined,
        (x: unknown) => ConnectError.from(x),
      );
      expect(e?.code, what).toBe(Code.InvalidArgument);
      expect(e?.rawMessage.startsWith(prefix), `${what}: "${e?.rawMessage}" starts with "${prefix}"`).toBe(true);
    }
  });
}
