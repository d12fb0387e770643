/**
 * The discover bench's `hide` step: how long after a moderator's HIDE_CONTENT
 * a post is gone from what readers see — its author's home feed, its
 * hashtag's hot list and hashtag search (the issue's "within 1 s"; a fresh
 * post with no likes is not on the global hot list's first page, whose rows
 * the same consumer transaction removes). Each round, a fresh post with its
 * own hashtag is seen in all three, reported, hidden by a moderator, and the
 * three are polled together until it is absent from every one: from
 * sending Resolve to the first poll that finds it nowhere. Same-run baseline:
 * the Resolve call itself. Trends are not polled: one post does not move a
 * trend (hidden posts leave trends' rows in the same consumer transaction as
 * the hot lists).
 */
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { DiscoverService } from "../../gen/orbit/discover/v1/discover_pb.js";
import { FeedService } from "../../gen/orbit/feed/v1/feed_pb.js";
import {
  ModerationAction,
  ModerationService,
  ReportReason,
  TargetKind,
} from "../../gen/orbit/moderation/v1/moderation_pb.js";
import { PostService } from "../../gen/orbit/post/v1/post_pb.js";
import { percentile } from "./_measure.js";

interface Caller {
  posts: Client<typeof PostService>;
  feed: Client<typeof FeedService>;
  discover: Client<typeof DiscoverService>;
  moderation: Client<typeof ModerationService>;
}

function caller(baseUrl: string, token: string): Caller {
  const auth: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  const t = createConnectTransport({ baseUrl, httpVersion: "2", interceptors: [auth] });
  return {
    posts: createClient(PostService, t),
    feed: createClient(FeedService, t),
    discover: createClient(DiscoverService, t),
    moderation: createClient(ModerationService, t),
  };
}

export interface HideFigures {
  hides: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  resolveP50Ms: number;
  resolveP99Ms: number;
  /** Polls per hide (each polls the three reads at once). */
  pollsMean: number;
  /** p99 of hide → gone over p99 of the Resolve call (same run). */
  p99VsResolveP99: number;
  /** p50 / p99 of hide → gone from each surface alone (the slowest one sets the figure above). */
  bySurface: Record<"feed" | "hashtagHot" | "search", { p50Ms: number; p99Ms: number }>;
}

const SURFACES = ["feed", "hashtagHot", "search"] as const;

const round = (v: number) => Math.round(v * 100) / 100;

/** `tokens[0]` must be a moderator; `tokens[1]` reports; the others write the posts. */
export async function measureHides(baseUrl: string, tokens: readonly string[], hides: number): Promise<HideFigures> {
  const mod = caller(baseUrl, tokens[0]!);
  const reporter = caller(baseUrl, tokens[1]!);
  const lat: number[] = [];
  const resolves: number[] = [];
  const surfaces: number[][] = SURFACES.map(() => []);
  let polls = 0;
  const run = `${Date.now().toString(36)}`;
  for (let i = 0; i < hides; i++) {
    const author = caller(baseUrl, tokens[2 + (i % (tokens.length - 2))]!);
    const tag = `hide${run}n${i}`;
    const post = (await author.posts.createPost({ text: `hidden soon #${tag}` })).post!;
    const seen = async (): Promise<boolean[]> => {
      const [feed, tagHot, search] = await Promise.all([
        author.feed.getHomeFeed({ pageSize: 20 }),
        reporter.discover.getHotPosts({ hashtag: tag, pageSize: 20 }),
        reporter.discover.searchPosts({ query: `#${tag}`, pageSize: 20 }),
      ]);
      return [feed.posts, tagHot.posts, search.posts].map((l) => l.some((p) => p.id === post.id));
    };
    // Present everywhere first (the post's own consumers have run).
    const until = Date.now() + 30_000;
    while (!(await seen()).every(Boolean)) {
      if (Date.now() > until) throw new Error(`post ${post.id} never reached every list`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const report = (
      await reporter.moderation.report({ target: TargetKind.POST, targetId: post.id, reason: ReportReason.SPAM })
    ).report!;
    const t0 = performance.now();
    await mod.moderation.resolve({ reportId: report.id, action: ModerationAction.HIDE_CONTENT });
    resolves.push(performance.now() - t0);
    const goneAt: (number | undefined)[] = SURFACES.map(() => undefined);
    for (;;) {
      polls++;
      const now = await seen();
      const at = performance.now() - t0;
      now.forEach((listed, k) => {
        if (!listed) goneAt[k] ??= at;
      });
      if (!now.some(Boolean)) break;
      if (at > 30_000) throw new Error(`post ${post.id} still listed 30 s after its hide`);
    }
    lat.push(performance.now() - t0);
    goneAt.forEach((v, k) => surfaces[k]!.push(v!));
  }
  lat.sort((a, b) => a - b);
  resolves.sort((a, b) => a - b);
  for (const l of surfaces) l.sort((a, b) => a - b);
  const bySurface = Object.fromEntries(
    SURFACES.map((name, k) => [
      name,
      { p50Ms: round(percentile(surfaces[k]!, 50)), p99Ms: round(percentile(surfaces[k]!, 99)) },
    ]),
  ) as HideFigures["bySurface"];
  return {
    hides,
    p50Ms: round(percentile(lat, 50)),
    p99Ms: round(percentile(lat, 99)),
    maxMs: round(lat[lat.length - 1] ?? 0),
    resolveP50Ms: round(percentile(resolves, 50)),
    resolveP99Ms: round(percentile(resolves, 99)),
    pollsMean: round(polls / Math.max(1, hides)),
    p99VsResolveP99: round(percentile(lat, 99) / Math.max(0.01, percentile(resolves, 99))),
    bySurface,
  };
}
