/**
 * Many producers publish in transactions that wait a random time before
 * committing (so ids commit out of order), some roll back, others publish
 * batched; two buses (as two processes) consume while this goes on. Every
 * committed event must take effect exactly once, none may be skipped, and
 * no rolled-back event may appear.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { ContractHappenedSchema, type ContractHappened } from "../../gen/orbit/contract/v1/events_pb.js";
import { openSqlStore } from "../storage/open.js";
import type { SqlDb } from "../storage/driver.js";
import { EventBus } from "./bus.js";
import { silentLogger } from "./logger.js";
import { LOG } from "./tables.js";
import { sleep, waitFor } from "../../test/support/wait.js";

const SIZES = {
  sqlite: { producers: 4, txPerProducer: 25, maxDelayMs: 3 },
  mariadb: { producers: 8, txPerProducer: 30, maxDelayMs: 25 },
} as const;

function withPool(url: string, n: number): string {
  const u = new URL(url);
  u.searchParams.set("pool", String(n));
  return u.toString();
}

describe.each(ENGINES)("concurrent producers and consumers on $name", ({ name, open }) => {
  let store: TestStore;
  const extra: SqlDb[] = [];
  const buses: EventBus[] = [];
  afterEach(async () => {
    for (const b of buses.splice(0)) await b.close();
    for (const d of extra.splice(0)) await d.close();
    await store.dispose();
  });

  it("handles every committed event exactly once in effect and never one that rolled back", async () => {
    const size = SIZES[name];
    store = await open();
    // On MariaDB the producers and each consumer get their own pool, as
    // separate processes would. On SQLite they share one connection: two
    // connections in one process would block each other's thread in
    // busy_timeout (separate SQLite processes are covered by the crash test).
    let producerDb = store.db;
    let consumerDb = store.db;
    if (name === "mariadb") {
      producerDb = openSqlStore(withPool(store.url, 20));
      consumerDb = openSqlStore(store.url);
      extra.push(producerDb, consumerDb);
    }
    await store.db.exec(
      `CREATE TABLE projection (producer VARCHAR(32) NOT NULL, seq BIGINT NOT NULL, hits INT NOT NULL, PRIMARY KEY (producer, seq))`,
    );
    const opts = { logger: silentLogger, gapGraceMs: 100, leaseTtlMs: 2000, poll: { maxMs: 20 } };
    const pub = await EventBus.open(producerDb, { ...opts, owner: "producer" });
    const c1 = await EventBus.open(consumerDb, { ...opts, owner: "consumer-1" });
    const c2 = await EventBus.open(store.db, { ...opts, owner: "consumer-2" });
    buses.push(pub, c1, c2);
    const upsert =
      name === "mariadb"
        ? "INSERT INTO projection VALUES (?, ?, 1) ON DUPLICATE KEY UPDATE hits = hits + 1"
        : "INSERT INTO projection VALUES (?, ?, 1) ON CONFLICT (producer, seq) DO UPDATE SET hits = hits + 1";
    const consumer = {
      group: "projector",
      events: [ContractHappenedSchema],
      batchSize: 50,
      handle: async (e: { message: unknown }, ctx: { tx: { run: SqlDb["run"] } }) => {
        const m = e.message as ContractHappened;
        await ctx.tx.run(upsert, [m.producer, m.seq]);
      },
    };
    // Two processes compete for the group; one of them consumes at a time.
    c1.consume(consumer);
    c2.consume(consumer);

    const committed = new Set<string>();
    const rolledBack = new Set<string>();
    const commitOrder: string[] = [];
    const producer = async (p: number) => {
      for (let t = 0; t < size.txPerProducer; t++) {
        const n = 1 + Math.floor(Math.random() * 3);
        const keys = Array.from({ length: n }, (_, i) => ({ producer: `p${p}`, seq: BigInt(t * 10 + i) }));
        const roll = Math.random();
        if (roll < 0.15) {
          // Batched, outside any transaction.
          await Promise.all(keys.map((k) => pub.publish(ContractHappenedSchema, { key: `k${p}`, ...k })));
          for (const k of keys) committed.add(`${k.producer}/${k.seq}`), commitOrder.push(`${k.producer}/${k.seq}`);
          continue;
        }
        const rollBack = roll > 0.8;
        try {
          await producerDb.transaction(async (tx) => {
            for (const k of keys) await pub.publish(tx, ContractHappenedSchema, { key: `k${p}`, ...k });
            await sleep(Math.random() * size.maxDelayMs);
            if (rollBack) throw new Error("roll back");
          });
          for (const k of keys) committed.add(`${k.producer}/${k.seq}`), commitOrder.push(`${k.producer}/${k.seq}`);
        } catch (err) {
          if (!rollBack) throw err;
          for (const k of keys) rolledBack.add(`${k.producer}/${k.seq}`);
        }
      }
    };
    await Promise.all(Array.from({ length: size.producers }, (_, p) => producer(p)));
    expect(rolledBack.size).toBeGreaterThan(0);

    const count = async () => Number((await store.db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM projection"))!.n);
    await waitFor(async () => (await count()) >= committed.size, `${committed.size} events in the projection`, 30_000);
    await sleep(100); // anything extra (a rolled-back or doubled event) would land now

    const rows = await store.db.all<{ producer: string; seq: unknown; hits: unknown }>(
      "SELECT producer, seq, hits FROM projection",
    );
    const seen = new Set(rows.map((r) => `${r.producer}/${r.seq}`));
    expect([...committed].filter((k) => !seen.has(k))).toEqual([]); // none skipped
    expect([...seen].filter((k) => !committed.has(k))).toEqual([]); // none rolled back
    expect(rows.filter((r) => Number(r.hits) !== 1)).toEqual([]); // none twice in effect
    expect(await c1.deadLetters("projector")).toEqual([]);

    // The test exercised the hazard: on MariaDB, some events committed after
    // an event with a higher id had already committed.
    const idOf = new Map<string, bigint>();
    for (const r of await store.db.all<{ id: unknown; payload: Uint8Array }>(`SELECT id, payload FROM ${LOG}`)) {
      const { fromBinary } = await import("@bufbuild/protobuf");
      const m = fromBinary(ContractHappenedSchema, r.payload);
      idOf.set(`${m.producer}/${m.seq}`, BigInt(r.id as string | bigint));
    }
    let inversions = 0;
    let maxSoFar = 0n;
    for (const k of commitOrder) {
      const id = idOf.get(k)!;
      if (id < maxSoFar) inversions++;
      else maxSoFar = id;
    }
    if (name === "mariadb") expect(inversions).toBeGreaterThan(0);
    else expect(inversions).toBe(0); // SQLite: one writer, ids commit in order
  });
});
