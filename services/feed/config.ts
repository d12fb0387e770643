/** Feed tuning, from the bundle's configuration (--feed-* flags, ORBIT_FEED_* variables, config file). */
import type { OrbitConfig } from "../../platform/config/config.js";

export interface FeedConfig {
  /** Items kept per home feed (Mastodon keeps 400). */
  readonly cap: number;
  /** Authors with more followers than this are merged in at read time instead of fanned out. */
  readonly celebrityThreshold: number;
  /** Posts copied into a follower's feed when they follow someone. */
  readonly backfill: number;
}

export function feedConfig(config: OrbitConfig): FeedConfig {
  return { cap: config.feedCap, celebrityThreshold: config.feedCelebrityThreshold, backfill: config.feedBackfill };
}
