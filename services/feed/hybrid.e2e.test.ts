/**
 * The hybrid feed over the network: with a celebrity threshold of 1, an
 * account with two followers is a celebrity — its posts are not fanned out
 * but merged into its followers' feeds at read time, and they leave a feed
 * as soon as the follower unfollows. With a cap of 3, a feed keeps 3 items.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBundle, type BundleProcess } from "../../test/support/bundle-process.js";
import { eventually, signUp, type Member } from "../../test/support/social-client.js";

describe("hybrid home feed (celebrity threshold 1, cap 3)", () => {
  let b: BundleProcess;
  let star: Member, fan: Member, other: Member, small: Member;

  beforeAll(async () => {
    b = await startBundle(["--services", "social"], {
      env: { ORBIT_SCRYPT_LOG_N: "12", ORBIT_FEED_CELEBRITY_THRESHOLD: "1", ORBIT_FEED_CAP: "3" },
    });
    [star, fan, other, small] = (await Promise.all(["star", "fan", "other", "small"].map((h) => signUp(b.url, h)))) as [
      Member,
      Member,
      Member,
      Member,
    ];
  }, 60_000);
  afterAll(async () => {
    await b?.stop();
  });

  const feedIds = async (m: Member) => (await m.api.feed.getHomeFeed({ pageSize: 50 })).posts.map((p) => p.id);

  it("merges a celebrity's posts at read time and drops them on unfollow", async () => {
    await fan.api.graph.follow({ userId: star.user.id });
    await other.api.graph.follow({ userId: star.user.id }); // star: 2 followers > 1
    const p1 = (await star.api.posts.createPost({ text: "one" })).post!.id;
    const p2 = (await star.api.posts.createPost({ text: "two" })).post!.id;
    await eventually(async () => (await feedIds(fan)).join() === [p2, p1].join(), "star's posts in fan's feed");
    const page = await fan.api.feed.getHomeFeed({ pageSize: 1 });
    expect(page.posts.map((p) => p.id)).toEqual([p2]);
    const next = await fan.api.feed.getHomeFeed({ pageSize: 1, pageToken: page.nextPageToken });
    expect(next.posts.map((p) => p.id)).toEqual([p1]);
    await fan.api.graph.unfollow({ userId: star.user.id });
    await eventually(async () => (await feedIds(fan)).length === 0, "star's posts leave fan's feed", 5_000);
  });

  it("keeps at most `cap` items in a fanned-out feed (trimmed when following backfills)", async () => {
    const ids: bigint[] = [];
    for (let i = 0; i < 5; i++) ids.push((await small.api.posts.createPost({ text: `post ${i}` })).post!.id);
    await fan.api.graph.follow({ userId: small.user.id }); // small: 1 follower, fanned out; backfill then trim to 3
    const newest = ids.slice(-3).reverse();
    await eventually(async () => (await feedIds(fan)).join() === newest.join(), "fan's feed holds small's newest 3");
  });
});
