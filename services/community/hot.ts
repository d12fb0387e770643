/**
 * The hot score of a community post (Reddit's "hot" form): the log of its
 * engagement plus its age term. Because the age term depends on the creation
 * time only, a post's score changes only when it gets a like or a comment —
 * no periodic rescan — while newer posts start ever higher, which is the decay:
 * a post needs 10× the engagement to stay level with one 12.5 hours newer.
 */
const EPOCH_S = 1_704_067_200; // 2024-01-01
const DECAY_S = 45_000;

export function hotScore(likes: number, comments: number, createdAtMs: number): number {
  const engagement = Math.max(1, likes + 2 * comments);
  return Math.log10(engagement) + (createdAtMs / 1000 - EPOCH_S) / DECAY_S;
}

/** Stored as an integer (× 1e6) so every engine orders it exactly. */
export function hotScoreKey(likes: bigint, comments: bigint, createdAtMs: bigint): bigint {
  return BigInt(Math.round(hotScore(Number(likes), Number(comments), Number(createdAtMs)) * 1e6));
}
