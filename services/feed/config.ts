/** Feed tuning (ORBIT_FEED_* environment variables override the defaults). */
export interface FeedConfig {
  /** Items kept per home feed (Mastodon keeps 400). */
  readonly cap: number;
  /** Authors with more followers than this are merged in at read time instead of fanned out. */
  readonly celebrityThreshold: number;
  /** Posts copied into a follower's feed when they follow someone. */
  readonly backfill: number;
}

function int(name: string, def: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return n;
}

export function feedConfig(): FeedConfig {
  return {
    cap: int("ORBIT_FEED_CAP", 400),
    celebrityThreshold: int("ORBIT_FEED_CELEBRITY_THRESHOLD", 10_000),
    backfill: int("ORBIT_FEED_BACKFILL", 20),
  };
}
