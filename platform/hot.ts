/**
 * The hot score shared by every ranked list (discover's hot posts, a
 * community's hot feed): Reddit's "hot" formula, which is time-invariant, so
 * a post's rank changes only when its engagement does and a hot list is a
 * plain index range, never re-scored by a clock:
 *
 *   hot = log10(max(1, likes + 2 × comments)) + (created_at_s − epoch) / 45000
 *
 * Every 45,000 s (12.5 h) a newer post needs ten times less engagement to
 * rank as high; a comment weighs two likes. Compared with the HN/Lemmy form
 * (points / (age + 2)^gravity) the ordering decays the same way, but that
 * form changes every score as time passes and must be recomputed for every
 * post on a timer; this one is written once per like or comment and read
 * straight off an index. The stored form (`hotRank`) is the score × 10^6 as
 * an integer, so every engine orders it exactly and pages have an exact
 * keyset. The time in the formula is the post's creation time, not the
 * clock, so replaying the same events gives the same ranks.
 *
 * The epoch only shifts every score by the same constant (ordering is the
 * same for any epoch), but ranks written with one epoch must not be mixed
 * with ranks written with another: a projection that stored ranks with an
 * older epoch passes it explicitly (or is rebuilt by a replay).
 */

/** 2026-01-01T00:00:00Z: ranks stay small numbers for years. */
export const HOT_EPOCH_S = 1_767_225_600;
/** Seconds of age worth a factor of ten in engagement. */
export const HOT_DECAY_S = 45_000;
/** A comment counts as this many likes. */
export const HOT_COMMENT_WEIGHT = 2;

export function hotScore(
  likes: bigint | number,
  comments: bigint | number,
  createdAtMs: bigint | number,
  epochS: number = HOT_EPOCH_S,
): number {
  const engagement = Math.max(1, Number(likes) + HOT_COMMENT_WEIGHT * Number(comments));
  return Math.log10(engagement) + (Number(createdAtMs) / 1000 - epochS) / HOT_DECAY_S;
}

/** The stored, indexed form of the score: round(score × 10^6). */
export function hotRank(
  likes: bigint | number,
  comments: bigint | number,
  createdAtMs: bigint | number,
  epochS: number = HOT_EPOCH_S,
): bigint {
  return BigInt(Math.round(hotScore(likes, comments, createdAtMs, epochS) * 1e6));
}
