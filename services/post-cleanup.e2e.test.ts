/**
 * post.cleanup against a real bundle, on SQLite and MariaDB: after DeletePost
 * the post's likes and comments rows go (in batches of 1,000 rows, so a post
 * with thousands of them takes several statements), the rows of other posts
 * stay, and a re-run of the group (`orbit events replay post.cleanup`)
 * deletes what was left behind and nothing else.
 */
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommentRowDao, LikeRowDao } from "../gen/orbit/post/v1/tables_db.js";
import { lagByGroup } from "../platform/events/lag.js";
import { runOrbit, startBundle, type BundleProcess } from "../test/support/bundle-process.js";
import { codeOf } from "../test/support/social-scenario.js";
import { eventually, signUp, type Member } from "../test/support/social-client.js";
import { BUNDLE_ENGINES, type TestStore } from "../test/support/stores.js";
import { CLEANUP_BATCH, CLEANUP_GROUP } from "./post/cleanup.js";

const env = { ORBIT_SCRYPT_LOG_N: "12" };

for (const engine of BUNDLE_ENGINES) {
  describe(`post.cleanup (${engine.name})`, () => {
    let store: TestStore;
    let b: BundleProcess;
    let ann: Member, bob: Member, cat: Member;
    let likes: LikeRowDao;
    let comments: CommentRowDao;

    beforeAll(async () => {
      store = await engine.open();
      b = await startBundle(["--services", "social", ...engine.args(store)], { env });
      [ann, bob, cat] = await Promise.all([signUp(b.url, "ann"), signUp(b.url, "bob"), signUp(b.url, "cat")]);
      likes = new LikeRowDao(store.db);
      comments = new CommentRowDao(store.db);
    }, 60_000);
    afterAll(async () => {
      await b?.stop();
      await store?.dispose();
    });

    /** The post's likes and comments rows, as the store holds them. */
    async function leftovers(postId: bigint): Promise<{ likes: number; comments: number }> {
      return { likes: await likes.countByPostId({ postId }), comments: await comments.countByPostId({ postId }) };
    }

    /** Likes and comments straight into the store (cheaper than thousands of sign-ups). */
    async function seed(postId: bigint, nLikes: number, nComments: number, base: bigint): Promise<void> {
      await likes.insertMany(
        Array.from({ length: nLikes }, (_, i) => ({ postId, userId: base + BigInt(i), createdAtMs: 1n })),
      );
      await comments.insertMany(
        Array.from({ length: nComments }, (_, i) => ({
          id: base + BigInt(i),
          postId,
          authorId: base,
          text: `seeded ${i}`,
          createdAtMs: 1n,
        })),
      );
    }

    let doomed: bigint;
    let kept: bigint;

    it("DeletePost takes the post's likes and comments with it, in bounded batches, and only that post's", async () => {
      doomed = (await ann.api.posts.createPost({ text: "soon gone" })).post!.id;
      kept = (await ann.api.posts.createPost({ text: "staying" })).post!.id;
      for (const postId of [doomed, kept]) {
        await bob.api.posts.likePost({ postId });
        await cat.api.posts.likePost({ postId });
        const c = (await bob.api.posts.addComment({ postId, text: "first" })).comment!;
        await cat.api.posts.addComment({ postId, text: "reply", replyToCommentId: c.id });
      }
      // More than two batches of likes and more than one of comments.
      await seed(doomed, 2 * CLEANUP_BATCH + 345, CLEANUP_BATCH + 234, 9_000_000_000n);
      expect(await leftovers(doomed)).toEqual({ likes: 2 * CLEANUP_BATCH + 347, comments: CLEANUP_BATCH + 236 });

      await ann.api.posts.deletePost({ postId: doomed });
      expect(await codeOf(bob.api.posts.listLikes({ postId: doomed }))).toBe(Code.NotFound);
      await eventually(
        async () => {
          const n = await leftovers(doomed);
          return n.likes === 0 && n.comments === 0;
        },
        "the deleted post's likes and comments are deleted",
        20_000,
      );
      await eventually(
        async () =>
          b
            .logs()
            .some((l) => l.msg === "deleted the likes and comments of a deleted post" && l.postId === String(doomed)),
        "the cleanup logs what it deleted",
      );
      expect(b.logs().find((l) => l.postId === String(doomed))).toMatchObject({
        service: "post",
        likes: 2 * CLEANUP_BATCH + 347,
        comments: CLEANUP_BATCH + 236,
      });

      expect(await leftovers(kept)).toEqual({ likes: 2, comments: 2 });
      expect((await bob.api.posts.listLikes({ postId: kept })).likes.map((l) => l.userId).sort()).toEqual(
        [bob.user.id, cat.user.id].sort(),
      );
      expect((await bob.api.posts.listComments({ postId: kept })).comments.map((c) => c.text)).toEqual([
        "first",
        "reply",
      ]);
    }, 40_000);

    it("is safe to run again: a replay deletes what was left behind and nothing else", async () => {
      // Rows a crash half-way could have left (the event is then delivered again).
      await seed(doomed, 3, 2, 9_100_000_000n);
      const replay = runOrbit(["events", "replay", CLEANUP_GROUP, "--from", "earliest", ...engine.args(store)]);
      expect(await replay.exited).toMatchObject({ code: 0 });
      expect(replay.stdout.join("\n")).toMatch(/group post\.cleanup: position \d+ → 0/);
      // A new post.deleted event wakes the fenced-out consumer at once (otherwise: its next heartbeat).
      const other = (await ann.api.posts.createPost({ text: "wake up" })).post!.id;
      await bob.api.posts.likePost({ postId: other });
      await ann.api.posts.deletePost({ postId: other });
      await eventually(
        async () => {
          const [a, c] = await Promise.all([leftovers(doomed), leftovers(other)]);
          return a.likes + a.comments + c.likes + c.comments === 0;
        },
        "the replayed group deletes the leftovers",
        20_000,
      );
      await eventually(async () => {
        const g = (await lagByGroup(store.db)).find((x) => x.group === CLEANUP_GROUP);
        return g !== undefined && g.pending === 0 && !g.retrying;
      }, "post.cleanup caught up");
      expect((await lagByGroup(store.db)).find((x) => x.group === CLEANUP_GROUP)?.deadLetters).toBe(0);
      expect(await leftovers(kept)).toEqual({ likes: 2, comments: 2 });
    }, 40_000);
  });
}
