/** The discover service's settings (`--discover-…`, ORBIT_DISCOVER_…, `discover…` in the config file). */
import { setting, type SettingValues } from "../../platform/config/settings.js";

export const discoverSettings = {
  trendMinAuthors: setting.integer({
    default: 5,
    min: 1,
    max: 1_000_000,
    unit: "authors",
    help: "distinct authors a hashtag needs in the window to trend",
  }),
  trendsCacheMs: setting.integer({
    default: 500,
    min: 0,
    max: 60_000,
    unit: "ms",
    help: "how long computed trends are served before a background recompute (removals drop them at once in the consuming process)",
  }),
  suggestionsMaxAgeMs: setting.integer({
    default: 600_000,
    min: 1000,
    max: 86_400_000,
    unit: "ms",
    help: "a user's precomputed suggestion list is rebuilt when read this long after it was built (changes no event marks: the follows of the accounts one follows, popularity)",
  }),
  searchesPerMinute: setting.integer({
    default: 120,
    min: 0,
    max: 1_000_000,
    unit: "per-minute",
    help: "searches (SearchUsers, SearchPosts: full-text queries) one caller may make per minute — a signed-in user, else a client address; 0 = no limit",
  }),
};

export type DiscoverConfig = SettingValues<typeof discoverSettings>;
