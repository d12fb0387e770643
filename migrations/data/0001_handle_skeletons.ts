/**
 * Fills user_handle_skeletons (the UTS #39 skeleton of each handle, platform/text.ts) for the
 * accounts made before SignUp wrote it. Oldest account first (ids grow with time): when two old
 * handles are look-alikes (`alice` and `aIice`), the older keeps the skeleton and the newer is
 * left without one — it keeps working, and no new account can take either look-alike, since the
 * older one's skeleton row already refuses them.
 */
import type { SqlExecutor } from "../../platform/storage/driver.js";
import { handleSkeleton } from "../../platform/text.js";

export const tables = ["users", "user_handle_skeletons"];
export const description = "user_handle_skeletons: the confusable skeleton of every existing handle";

export async function up(db: SqlExecutor): Promise<void> {
  const q = (name: string) => (db.dialect === "mysql" ? `\`${name}\`` : `"${name}"`);
  const insert =
    db.dialect === "mysql"
      ? "INSERT IGNORE INTO `user_handle_skeletons` (`skeleton`, `user_id`) VALUES (?, ?)"
      : 'INSERT OR IGNORE INTO "user_handle_skeletons" ("skeleton", "user_id") VALUES (?, ?)';
  let after: bigint | number = -1;
  for (;;) {
    const rows: { id: bigint | number; handle: string }[] = await db.all<{ id: bigint | number; handle: string }>(
      `SELECT ${q("id")} AS id, ${q("handle")} AS handle FROM ${q("users")} WHERE ${q("id")} > ? ORDER BY ${q("id")} LIMIT 500`,
      [after],
    );
    for (const r of rows) await db.run(insert, [handleSkeleton(r.handle), r.id]);
    if (rows.length < 500) return;
    after = rows[rows.length - 1]!.id;
  }
}
