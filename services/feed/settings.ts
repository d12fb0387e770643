/**
 * The feed service's settings: `--feed-cap`, `--feed-celebrity-threshold`,
 * `--feed-backfill` (ORBIT_FEED_* variables, `feedCap`… in the config file).
 */
import { setting, type SettingValues } from "../../platform/config/settings.js";

export const feedSettings = {
  cap: setting.integer({
    default: 400,
    min: 1,
    max: 100_000,
    unit: "items",
    help: "items kept per home feed (Mastodon keeps 400)",
  }),
  celebrityThreshold: setting.integer({
    default: 10_000,
    min: 1,
    max: 1_000_000_000,
    unit: "followers",
    help: "authors with more followers are merged into feeds at read time instead of fanned out",
  }),
  backfill: setting.integer({
    default: 20,
    min: 0,
    max: 1000,
    unit: "posts",
    help: "posts copied into a feed when its owner follows someone (0: none)",
  }),
};

export type FeedConfig = SettingValues<typeof feedSettings>;
