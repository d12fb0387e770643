/**
 * Which of some posts a user liked, in one query. The generated LikeRowDao
 * has a point get per (post, user) but no multi-key get for a composite key,
 * so this is the one hand-written statement of the post service: it reads
 * the (user_id, post_id) index of post_likes. IN lists are padded to a power
 * of two (few distinct statements to prepare), 500 ids per statement.
 */
import { LikeRowTable } from "../../gen/orbit/post/v1/tables_db.js";
import type { SqlExecutor, SqlValue } from "../../platform/storage/driver.js";
import { quoteIdent } from "../../platform/storage/sql/query.js";
import { toBigInt } from "../../platform/storage/sql/convert.js";

const MAX_IN = 512;

export async function likedAmong(db: SqlExecutor, userId: bigint, postIds: readonly bigint[]): Promise<Set<bigint>> {
  const liked = new Set<bigint>();
  const q = (n: string) => quoteIdent(n, db.dialect);
  const head = `SELECT ${q("post_id")} FROM ${q(LikeRowTable.name)} WHERE ${q("user_id")} = ? AND ${q("post_id")} IN`;
  for (let i = 0; i < postIds.length; i += MAX_IN) {
    const chunk = postIds.slice(i, i + MAX_IN);
    const n = 2 ** Math.ceil(Math.log2(chunk.length));
    const params: SqlValue[] = [userId, ...chunk];
    while (params.length < n + 1) params.push(chunk[chunk.length - 1]!);
    const rows = await db.all<{ post_id: unknown }>(`${head} (${new Array<string>(n).fill("?").join(", ")})`, params);
    for (const r of rows) liked.add(toBigInt(r.post_id));
  }
  return liked;
}
