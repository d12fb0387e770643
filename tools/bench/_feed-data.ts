/**
 * The social graph the feed bench seeds, made in memory from a fixed seed (so
 * runs are comparable): `users` accounts, each following `follows` others; a
 * few celebrities followed by `celebShare` of everyone (above the bench's
 * celebrity threshold, so their posts are merged at read time); `posts` posts
 * by uniformly random authors, ids time-ordered and increasing with the index.
 *
 * Users and posts are indices here; userId()/postId() turn them into the
 * int64 ids stored.
 */
import { idFloorForTime } from "../../platform/ids.js";

export interface FeedSizes {
  readonly users: number;
  readonly follows: number;
  readonly posts: number;
  readonly celebs: number;
  /** Share of users following each celebrity. */
  readonly celebShare: number;
}

export interface SocialData {
  readonly sizes: FeedSizes;
  /** Followees of user u at [u·follows, (u+1)·follows). */
  readonly followees: Int32Array;
  /** Followers of user u at followers[followerStart[u] … followerStart[u+1]). */
  readonly followers: Int32Array;
  readonly followerStart: Int32Array;
  readonly isCeleb: Uint8Array;
  /** Author of each post. */
  readonly author: Int32Array;
  /** Posts of user u (ascending) at authorPosts[authorStart[u] … authorStart[u+1]). */
  readonly authorPosts: Int32Array;
  readonly authorStart: Int32Array;
  /** Celebrity threshold for the bundle: more followers than this = celebrity. */
  readonly celebThreshold: number;
  readonly firstPostMs: number;
}

const USER_BASE = 1n << 40n;
const ID_SHIFT = 22n;

export function userId(u: number): bigint {
  return USER_BASE + BigInt(u);
}

export function userIndex(id: bigint): number {
  return Number(id - USER_BASE);
}

/** mulberry32: a small, fast, seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Counting sort of (key, value) pairs into CSR form. */
function csr(n: number, keys: Int32Array, values: Int32Array): { start: Int32Array; items: Int32Array } {
  const start = new Int32Array(n + 1);
  for (const k of keys) start[k + 1]!++;
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, n);
  const items = new Int32Array(keys.length);
  for (let i = 0; i < keys.length; i++) items[fill[keys[i]!]!++] = values[i]!;
  return { start, items };
}

export function makeSocialData(sizes: FeedSizes, seed = 42): SocialData {
  const { users: U, follows: F, posts: P, celebs: C, celebShare } = sizes;
  if (F >= U) throw new RangeError(`follows (${F}) must be below users (${U})`);
  const rnd = prng(seed);
  const followees = new Int32Array(U * F);
  const seen = new Uint8Array(U);
  for (let u = 0; u < U; u++) {
    let n = 0;
    const row = u * F;
    for (let c = 0; c < C && n < F; c++) {
      if (c !== u && rnd() < celebShare) {
        followees[row + n++] = c;
        seen[c] = 1;
      }
    }
    while (n < F) {
      const v = Math.floor(rnd() * U);
      if (v === u || seen[v]) continue;
      seen[v] = 1;
      followees[row + n++] = v;
    }
    for (let i = 0; i < F; i++) seen[followees[row + i]!] = 0;
  }
  const followerOf = new Int32Array(U * F);
  for (let u = 0; u < U; u++) followerOf.fill(u, u * F, (u + 1) * F);
  const { start: followerStart, items: followers } = csr(U, followees, followerOf);

  const isCeleb = new Uint8Array(U);
  const celebThreshold = Math.max(2 * F, Math.floor(U * celebShare * 0.5));
  for (let u = 0; u < U; u++) if (followerStart[u + 1]! - followerStart[u]! > celebThreshold) isCeleb[u] = 1;

  const author = new Int32Array(P);
  for (let i = 0; i < P; i++) author[i] = Math.floor(rnd() * U);
  const { start: authorStart, items: authorPosts } = csr(
    U,
    author,
    Int32Array.from({ length: P }, (_, i) => i),
  );
  // One post per millisecond, ending a minute ago.
  const firstPostMs = Date.now() - 60_000 - P;
  return {
    sizes,
    followees,
    followers,
    followerStart,
    isCeleb,
    author,
    authorPosts,
    authorStart,
    celebThreshold,
    firstPostMs,
  };
}

export function postId(d: SocialData, i: number): bigint {
  return idFloorForTime(d.firstPostMs) + (BigInt(i) << ID_SHIFT);
}

export function postTimeMs(d: SocialData, i: number): number {
  return d.firstPostMs + i;
}

export function followerCount(d: SocialData, u: number): number {
  return d.followerStart[u + 1]! - d.followerStart[u]!;
}

/** Home-feed rows the fan-out writes for post i: the author's, and each follower's unless the author is a celebrity. */
export function fanoutRows(d: SocialData, i: number): number {
  const a = d.author[i]!;
  return d.isCeleb[a] ? 1 : 1 + followerCount(d, a);
}

/**
 * Post indices (newest first, below `end`) that user u's fanned-out feed
 * holds: own posts and non-celebrity followees' posts, the newest `cap`.
 */
export function fannedFeed(d: SocialData, u: number, end: number, cap: number): number[] {
  const out: number[] = [];
  const add = (a: number) => {
    for (let k = d.authorStart[a]!; k < d.authorStart[a + 1]!; k++)
      if (d.authorPosts[k]! < end) out.push(d.authorPosts[k]!);
  };
  add(u);
  const F = d.sizes.follows;
  for (let k = u * F; k < (u + 1) * F; k++) if (!d.isCeleb[d.followees[k]!]) add(d.followees[k]!);
  out.sort((a, b) => b - a);
  if (out.length > cap) out.length = cap;
  return out;
}

/** What GetHomeFeed's first page should show user u: own and every followee's posts, newest first. */
export function expectedPage(d: SocialData, u: number, size: number): number[] {
  const out: number[] = [];
  const add = (a: number) => {
    for (let k = d.authorStart[a]!; k < d.authorStart[a + 1]!; k++) out.push(d.authorPosts[k]!);
  };
  add(u);
  const F = d.sizes.follows;
  for (let k = u * F; k < (u + 1) * F; k++) add(d.followees[k]!);
  out.sort((a, b) => b - a);
  return out.slice(0, size);
}
