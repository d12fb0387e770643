/**
 * The message table's layout: buckets are 10-day windows of the message id,
 * history pages backwards across buckets (empty ones included) and stops at
 * the conversation's first bucket. On SQLite, MariaDB and (with
 * CASSANDRA_CONTACT_POINTS) Cassandra, through the wide store the service uses.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatMessageRowTable } from "../../gen/orbit/chat/v1/tables_wide.js";
import { ChatMessageRowSchema } from "../../gen/orbit/chat/v1/tables_pb.js";
import { create } from "@bufbuild/protobuf";
import { migrate, migrateCassandra } from "../../platform/migrate/index.js";
import { idFloorForTime } from "../../platform/ids.js";
import { SqlWideStore } from "../../platform/storage/wide/sql-store.js";
import { CassandraWideStore } from "../../platform/storage/wide/cassandra-store.js";
import { CASSANDRA_SKIP, liveKeyspace } from "../../test/support/cassandra.js";
import { mysqlStore, sqliteStore, type TestStore } from "../../test/support/stores.js";
import { BUCKET_MS, bucketOf, MessageStore } from "./messages.js";

const DAY = 24 * 3600 * 1000;
const T0 = Date.UTC(2025, 0, 1);

describe("bucketOf", () => {
  it("is the 10-day window of the id's time", () => {
    const a = idFloorForTime(T0);
    expect(bucketOf(a + 5n)).toBe(bucketOf(a));
    expect(bucketOf(idFloorForTime(T0 + BUCKET_MS))).toBe(bucketOf(a) + 1);
    expect(bucketOf(idFloorForTime(Date.UTC(2024, 0, 1)))).toBe(0);
  });
});

interface Opened {
  messages: MessageStore;
  dispose(): Promise<void>;
}

async function onSql(store: TestStore): Promise<Opened> {
  await migrate(store.db, [ChatMessageRowTable], { dataMigrations: [] });
  return { messages: new MessageStore(new SqlWideStore(store.db), store.db), dispose: () => store.dispose() };
}

async function onCassandra(): Promise<Opened> {
  const ks = await liveKeyspace("chat_msgs");
  const client = await ks.client();
  await migrateCassandra(client, ks.name, [ChatMessageRowTable], {});
  const sql = sqliteStore(); // the service's SQL store (unused by the message table here)
  return {
    messages: new MessageStore(new CassandraWideStore(client), sql.db),
    async dispose() {
      await sql.dispose();
      await ks.dispose();
    },
  };
}

const engines: [string, () => Promise<Opened>][] = [
  ["SQLite", () => onSql(sqliteStore())],
  ["MariaDB", async () => onSql(await mysqlStore())],
];
if (!CASSANDRA_SKIP) engines.push(["Cassandra", onCassandra]);

describe.each(engines)("message history on %s", (_n, open) => {
  let store: Opened;
  let messages: MessageStore;
  const conv = idFloorForTime(T0); // created at T0
  const ids: bigint[] = [];
  beforeAll(async () => {
    store = await open();
    messages = store.messages;
    // 3 messages a day on days 0-4, none for 40 days, one on days 45, 46 and 90.
    const days = [0, 1, 2, 3, 4, 45, 46, 90];
    let seq = 0n;
    for (const d of days) {
      for (let k = 0; k < (d < 45 ? 3 : 1); k++) {
        const id = idFloorForTime(T0 + d * DAY + k * 1000) + 7n;
        ids.push(id);
        seq += 1n;
        await messages.put(
          undefined,
          create(ChatMessageRowSchema, {
            conversationId: conv,
            bucket: bucketOf(id),
            messageId: id,
            seq,
            text: `d${d}`,
          }),
        );
      }
    }
    // Another conversation's messages stay out.
    await messages.put(
      undefined,
      create(ChatMessageRowSchema, { conversationId: conv + 1n, bucket: bucketOf(ids[0]!), messageId: ids[0]! }),
    );
  });
  afterAll(async () => {
    await store?.dispose();
  });

  it("pages newest first across buckets and empty windows, and ends at the first bucket", async () => {
    const newest = ids[ids.length - 1]!;
    const seen: bigint[] = [];
    let before = 0n;
    for (let i = 0; i < 20; i++) {
      const { rows, more } = await messages.page(conv, before, newest, 4);
      seen.push(...rows.map((r) => r.messageId));
      if (!more) break;
      before = rows[rows.length - 1]!.messageId;
    }
    expect(seen.map(String)).toEqual([...ids].reverse().map(String));
    expect((await messages.get(conv, ids[3]!))?.text).toBe("d1");
    expect(await messages.get(conv, ids[3]! + 1n)).toBeUndefined();
  });
});
