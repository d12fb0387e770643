/**
 * Which of some posts a user liked, in one query. The generated LikeRowDao
 * has a point get per (post, user) but no multi-key get for a composite key,
 * so this is the one hand-written statement of the post service: it reads
 * the (user_id, post_id) index of post_likes, in padded IN lists (inLists).
 */
import { LikeRowTable } from "../../gen/orbit/post/v1/tables_db.js";
import type { SqlExecutor } from "../../platform/storage/driver.js";
import { inLists, quoteIdent } from "../../platform/storage/sql/query.js";
import { toBigInt } from "../../platform/storage/sql/convert.js";

export async function likedAmong(db: SqlExecutor, userId: bigint, postIds: readonly bigint[]): Promise<Set<bigint>> {
  const liked = new Set<bigint>();
  const q = (n: string) => quoteIdent(n, db.dialect);
  const head = `SELECT ${q("post_id")} FROM ${q(LikeRowTable.name)} WHERE ${q("user_id")} = ? AND ${q("post_id")} IN`;
  for (const { list, items } of inLists(postIds)) {
    const rows = await db.allValues(`${head} ${list}`, [userId, ...items]);
    for (const r of rows) liked.add(toBigInt(r[0]));
  }
  return liked;
}
