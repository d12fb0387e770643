/**
 * The full-text index of post text. The migrator manages proto-declared
 * tables and knows neither FTS5 nor FULLTEXT (it would drop an index it did
 * not declare), so this table is hand-written DDL, created by the discover
 * service when it is built (`CREATE … IF NOT EXISTS`, safe from many
 * processes) and left alone by the migrator, as the event bus's tables are:
 *
 * - SQLite: `discover_post_fts`, a contentless FTS5 table (the text is not
 *   stored twice; `contentless_delete=1` lets a hidden or deleted post's row
 *   go), tokenizer unicode61 with diacritics folded; rowid = post id.
 * - MariaDB/MySQL: `discover_post_text` (post_id, text) with an InnoDB
 *   FULLTEXT index, queried IN BOOLEAN MODE with every word required.
 *
 * Words are runs of letters, digits and `_`, lower-cased; words shorter than
 * 3 characters are left out on both engines (InnoDB's innodb_ft_min_token_size
 * is 3, so the two engines answer the same).
 */
import type { SqlExecutor } from "../../platform/storage/driver.js";

export const MIN_WORD = 3;
export const MAX_WORDS = 8;

export async function ensureSearchTables(db: SqlExecutor): Promise<void> {
  if (db.dialect === "sqlite") {
    await db.exec(
      "CREATE VIRTUAL TABLE IF NOT EXISTS discover_post_fts USING fts5(" +
        "text, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2')",
    );
  } else {
    await db.exec(
      "CREATE TABLE IF NOT EXISTS discover_post_text (" +
        "post_id BIGINT NOT NULL PRIMARY KEY, text VARCHAR(2000) NOT NULL, " +
        "FULLTEXT KEY discover_post_text_ft (text)" +
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
    );
  }
}

/** The words of a query (or a text) as the index sees them. */
export function searchWords(text: string): string[] {
  const words =
    text
      .normalize("NFC")
      .toLowerCase()
      .match(/[\p{L}\p{M}\p{N}_]+/gu) ?? [];
  return [...new Set(words.filter((w) => [...w].length >= MIN_WORD))].slice(0, MAX_WORDS);
}

export async function putText(db: SqlExecutor, postId: bigint, text: string): Promise<void> {
  if (db.dialect === "sqlite") {
    await db.run("DELETE FROM discover_post_fts WHERE rowid = ?", [postId]);
    if (text) await db.run("INSERT INTO discover_post_fts (rowid, text) VALUES (?, ?)", [postId, text]);
  } else if (text) {
    await db.run(
      "INSERT INTO discover_post_text (post_id, text) VALUES (?, ?) ON DUPLICATE KEY UPDATE text = VALUES(text)",
      [postId, text],
    );
  }
}

export async function deleteText(db: SqlExecutor, postId: bigint): Promise<void> {
  if (db.dialect === "sqlite") await db.run("DELETE FROM discover_post_fts WHERE rowid = ?", [postId]);
  else await db.run("DELETE FROM discover_post_text WHERE post_id = ?", [postId]);
}

export async function wipeText(db: SqlExecutor): Promise<void> {
  if (db.dialect === "sqlite") await db.run("DELETE FROM discover_post_fts");
  else await db.run("DELETE FROM discover_post_text");
}

/** Post ids whose text has every word, newest first, below `before` (exclusive; 0: no bound). */
export async function searchText(
  db: SqlExecutor,
  words: readonly string[],
  before: bigint,
  limit: number,
): Promise<bigint[]> {
  if (words.length === 0) return [];
  const bound = before > 0n ? before : 9_223_372_036_854_775_807n;
  if (db.dialect === "sqlite") {
    const match = words.map((w) => `"${w}"`).join(" ");
    const rows = await db.allValues(
      "SELECT rowid FROM discover_post_fts WHERE discover_post_fts MATCH ? AND rowid < ? ORDER BY rowid DESC LIMIT ?",
      [match, bound, limit],
    );
    return rows.map((r) => BigInt(r[0] as bigint));
  }
  const match = words.map((w) => `+${w}`).join(" ");
  const rows = await db.allValues(
    "SELECT post_id FROM discover_post_text WHERE MATCH(text) AGAINST (? IN BOOLEAN MODE) AND post_id < ? " +
      "ORDER BY post_id DESC LIMIT ?",
    [match, bound, limit],
  );
  return rows.map((r) => BigInt(String(r[0])));
}
