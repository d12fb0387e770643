/**
 * The hot score: Reddit's "hot" formula (time-invariant, so a post's rank
 * changes only when its engagement does, and the hot lists are plain index
 * ranges, never re-scored by a clock):
 *
 *   hot = log10(max(1, likes + 2 × comments)) + (created_at_s − EPOCH) / 45000
 *
 * Every 45,000 s (12.5 h) a newer post needs ten times less engagement to
 * rank as high; a comment weighs two likes. Compared with the HN/Lemmy form
 * (points / (age + 2)^gravity) the ordering decays the same way, but that
 * form changes every score as time passes and must be recomputed for every
 * post on a timer; this one is written once per like or comment and read
 * straight off an index (`hot_rank`, the score × 10^6 as an integer, so pages
 * have an exact keyset). Replaying the same events gives the same ranks:
 * the time in the formula is the post's creation time, not the clock.
 */

/** 2026-01-01T00:00:00Z: ranks stay small numbers for years. */
export const HOT_EPOCH_S = 1_767_225_600;
/** Seconds of age worth a factor of ten in engagement. */
export const HOT_DECAY_S = 45_000;
/** A comment counts as this many likes. */
export const COMMENT_WEIGHT = 2;

export function hotScore(likes: bigint | number, comments: bigint | number, createdAtMs: bigint | number): number {
  const engagement = Math.max(1, Number(likes) + COMMENT_WEIGHT * Number(comments));
  return Math.log10(engagement) + (Number(createdAtMs) / 1000 - HOT_EPOCH_S) / HOT_DECAY_S;
}

/** The stored, indexed form of the score: round(score × 10^6). */
export function hotRank(likes: bigint | number, comments: bigint | number, createdAtMs: bigint | number): bigint {
  return BigInt(Math.round(hotScore(likes, comments, createdAtMs) * 1e6));
}
