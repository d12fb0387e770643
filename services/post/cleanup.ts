/**
 * post.cleanup: once a post is deleted (post.deleted), its likes and comments
 * go too. `DeletePost` removes the post row, its hashtags and mentions in its
 * own transaction; the likes and comments of a popular post may be many, so
 * they are deleted here, after the fact, in bounded statements:
 * `deleteByPostId(…, { limit: CLEANUP_BATCH })` until a statement deletes
 * fewer than the limit. Each statement commits on its own (no transaction
 * holds 100,000 rows' locks or SQLite's write lock for long), so the group
 * commits its position after the handler ("after"): delivery is at least
 * once, and a re-run, a crash half-way or a replay only finds fewer rows to
 * delete. Nothing adds rows to a deleted post: `LikePost` and `AddComment`
 * roll back when the post row is gone.
 */
import { isMessage } from "@bufbuild/protobuf";
import { PostDeletedSchema } from "../../gen/orbit/post/v1/events_pb.js";
import { CommentRowDao, LikeRowDao } from "../../gen/orbit/post/v1/tables_db.js";
import type { ConsumerOptions } from "../../platform/events/consumer-options.js";
import type { ServiceContext } from "../../platform/kernel/context.js";
import type { SqlExecutor } from "../../platform/storage/driver.js";

export const CLEANUP_GROUP = "post.cleanup";
/** Rows per DELETE statement. */
export const CLEANUP_BATCH = 1000;
/** post.deleted events per consumer batch (a stopping bundle waits for the batch in progress). */
const EVENTS_PER_BATCH = 50;

/** Deletes everything `deleteBatch` matches, `batch` rows a statement. Returns the total. */
async function drain(deleteBatch: (limit: number) => Promise<number>, batch: number): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await deleteBatch(batch);
    total += n;
    if (n < batch) return total;
  }
}

/**
 * Deletes the likes and comments of post `postId`, `batch` rows a statement.
 * Idempotent: run again, it deletes what is left (nothing, once done).
 */
export async function deletePostLeftovers(
  db: SqlExecutor,
  postId: bigint,
  batch = CLEANUP_BATCH,
): Promise<{ likes: number; comments: number }> {
  const likes = await drain((limit) => new LikeRowDao(db).deleteByPostId({ postId }, { limit }), batch);
  const comments = await drain((limit) => new CommentRowDao(db).deleteByPostId({ postId }, { limit }), batch);
  return { likes, comments };
}

export function cleanupConsumer(ctx: ServiceContext): ConsumerOptions {
  return {
    group: CLEANUP_GROUP,
    events: [PostDeletedSchema],
    commit: "after",
    batchSize: EVENTS_PER_BATCH,
    async handle(event) {
      if (!isMessage(event.message, PostDeletedSchema)) return;
      const { postId } = event.message;
      const n = await deletePostLeftovers(ctx.db, postId);
      if (n.likes + n.comments >= CLEANUP_BATCH) {
        ctx.log.info({ postId: String(postId), ...n }, "deleted the likes and comments of a deleted post");
      }
    },
  };
}
