/**
 * Messages live in the wide table chat_messages, laid out as Discord lays out
 * its messages: a partition per (conversation, bucket), where the bucket is a
 * 10-day window of the time-ordered message id, and message ids newest first
 * inside. A partition stays bounded however long a conversation lives, and
 * history pages backwards bucket by bucket, never below the conversation's
 * own id (it was created then).
 *
 * On the SQL store the rows are written in the caller's transaction (the
 * wide table is a table of the same database), so a message, its conversation
 * row, the change log and the push commit together. On Cassandra they are
 * written while the transaction holds the conversation's lock, just before
 * it commits (see docs/chat.md, "Cassandra").
 */
import { ChatMessageRowDao } from "../../gen/orbit/chat/v1/tables_wide.js";
import type { ChatMessageRow } from "../../gen/orbit/chat/v1/tables_pb.js";
import { ID_EPOCH_MS, idTimeMs } from "../../platform/ids.js";
import type { SqlDb, SqlTx } from "../../platform/storage/driver.js";
import { SqlWideStore } from "../../platform/storage/wide/sql-store.js";
import type { WideStore } from "../../platform/storage/wide/store.js";

/** The bucket window: 10 days (Discord's). Fixed: changing it would hide stored rows. */
export const BUCKET_MS = 10 * 24 * 3600 * 1000;

/** The bucket of a time-ordered id. */
export function bucketOf(id: bigint): number {
  return Math.floor((idTimeMs(id) - Number(ID_EPOCH_MS)) / BUCKET_MS);
}

/** A transaction seen as a store, so a SqlWideStore writes through it. */
function txAsDb(tx: SqlTx): SqlDb {
  return {
    dialect: tx.dialect,
    url: "transaction",
    all: (sql, params) => tx.all(sql, params),
    get: (sql, params) => tx.get(sql, params),
    getValues: (sql, params) => tx.getValues(sql, params),
    allValues: (sql, params) => tx.allValues(sql, params),
    run: (sql, params) => tx.run(sql, params),
    exec: (sql) => tx.exec(sql),
    transaction: (fn) => fn(tx),
    withConnection: (fn) => fn(tx),
    close: async () => {},
  };
}

export class MessageStore {
  readonly dao: ChatMessageRowDao;
  /** True when the wide table is in `db` (writes join the caller's transaction). */
  readonly inSql: boolean;

  constructor(
    private readonly wide: WideStore,
    db: SqlDb,
  ) {
    this.dao = new ChatMessageRowDao(wide);
    // The same database (ctx.db is a guarded view of the store the wide part was given).
    this.inSql = wide instanceof SqlWideStore && wide.db.url === db.url && wide.db.dialect === db.dialect;
  }

  /** The DAO to write with inside `tx`. */
  private writer(tx: SqlTx | undefined): ChatMessageRowDao {
    return tx && this.inSql ? new ChatMessageRowDao(new SqlWideStore(txAsDb(tx))) : this.dao;
  }

  put(tx: SqlTx | undefined, row: ChatMessageRow): Promise<void> {
    return this.writer(tx).put(row);
  }

  /** Several rows (multi-row statements on the SQL store). */
  putMany(tx: SqlTx | undefined, rows: readonly ChatMessageRow[]): Promise<void> {
    return this.writer(tx).putMany(rows);
  }

  /** The message, if it is in this conversation. */
  get(conversationId: bigint, messageId: bigint, tx?: SqlTx): Promise<ChatMessageRow | undefined> {
    const dao = tx && this.inSql ? this.writer(tx) : this.dao;
    return dao.get({ conversationId, bucket: bucketOf(messageId), messageId });
  }

  /**
   * Up to `limit` messages older than `before` (0: from the newest), newest
   * first, stopping at the conversation's first bucket. Returns the rows and
   * whether older ones may remain.
   */
  async page(
    conversationId: bigint,
    before: bigint,
    newest: bigint,
    limit: number,
  ): Promise<{ rows: ChatMessageRow[]; more: boolean }> {
    const rows: ChatMessageRow[] = [];
    const first = bucketOf(conversationId);
    let bucket = bucketOf(before > 0n ? before : newest);
    for (; bucket >= first && rows.length < limit; bucket--) {
      let token = "";
      do {
        const page = await this.dao.scan(
          { conversationId, bucket },
          {
            limit: limit - rows.length,
            pageToken: token,
            ...(before > 0n ? { to: { key: { messageId: before }, inclusive: false } } : {}),
          },
        );
        rows.push(...page.rows);
        token = page.nextPageToken;
      } while (token && rows.length < limit);
      if (rows.length >= limit) return { rows, more: true };
    }
    return { rows, more: false };
  }
}
