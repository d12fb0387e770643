/**
 * The two roles of the crash test, shared by the child processes it kills
 * (crash-child.ts) and the parent that drains the log at the end.
 *
 *  producer: business write (a `produced` row) + event in one transaction,
 *            random delay before commit, some rollbacks; plus batched publishes
 *            recorded in `acked` once the publish resolved.
 *  consumer: group "tx" (projection written in the position's transaction)
 *            and group "after" (own transaction + firstDelivery inbox, then
 *            position). Each projection row counts its hits.
 */
import { ContractHappenedSchema, type ContractHappened } from "../../../gen/orbit/contract/v1/events_pb.js";
import type { SqlDb, SqlExecutor } from "../../../platform/storage/driver.js";
import { EventBus } from "../../../platform/events/bus.js";
import { firstDelivery } from "../../../platform/events/inbox.js";
import { silentLogger } from "../../../platform/events/logger.js";

export const BUS_OPTIONS = { logger: silentLogger, gapGraceMs: 100, leaseTtlMs: 1000, poll: { maxMs: 20 } } as const;

export async function createCrashTables(db: SqlDb): Promise<void> {
  for (const t of ["produced", "acked"]) {
    await db.exec(
      `CREATE TABLE ${t} (producer VARCHAR(32) NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (producer, seq))`,
    );
  }
  for (const t of ["projection_tx", "projection_after"]) {
    await db.exec(
      `CREATE TABLE ${t} (event_id BIGINT NOT NULL PRIMARY KEY, producer VARCHAR(32) NOT NULL, seq BIGINT NOT NULL, hits INT NOT NULL)`,
    );
  }
}

function upsert(x: SqlExecutor, table: string, id: bigint, m: ContractHappened): Promise<unknown> {
  const tail =
    x.dialect === "mysql"
      ? "ON DUPLICATE KEY UPDATE hits = hits + 1"
      : "ON CONFLICT (event_id) DO UPDATE SET hits = hits + 1";
  return x.run(`INSERT INTO ${table} (event_id, producer, seq, hits) VALUES (?, ?, ?, 1) ${tail}`, [
    id,
    m.producer,
    m.seq,
  ]);
}

export function startConsumers(db: SqlDb, bus: EventBus): void {
  bus.consume({
    group: "tx",
    events: [ContractHappenedSchema],
    batchSize: 25,
    handle: (e, ctx) => upsert(ctx.tx, "projection_tx", e.id, e.message as ContractHappened),
  });
  bus.consume({
    group: "after",
    events: [ContractHappenedSchema],
    batchSize: 25,
    commit: "after",
    handle: (e) =>
      db.transaction(async (tx) => {
        if (await firstDelivery(tx, "after", e.id))
          await upsert(tx, "projection_after", e.id, e.message as ContractHappened);
      }),
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Publishes forever (until killed). */
export async function produce(db: SqlDb, bus: EventBus, name: string): Promise<never> {
  const last = await db.get<{ s: unknown }>("SELECT MAX(seq) AS s FROM produced WHERE producer = ?", [name]);
  let seq = BigInt((last?.s as bigint | string | null) ?? 0) + 1n;
  // Batched events are numbered from this process's start time, so a
  // restarted producer never reuses the number of an un-acknowledged publish.
  let batchSeq = BigInt(Date.now()) * 1000n;
  for (;;) {
    if (Math.random() < 0.2) {
      const s = batchSeq++;
      await bus.publish(ContractHappenedSchema, { key: `${name}.b`, producer: `${name}.b`, seq: s });
      await db.run("INSERT INTO acked (producer, seq) VALUES (?, ?)", [name, s]);
      continue;
    }
    const n = 1 + Math.floor(Math.random() * 3);
    const rollBack = Math.random() < 0.1;
    try {
      await db.transaction(async (tx) => {
        for (let i = 0n; i < BigInt(n); i++) {
          await tx.run("INSERT INTO produced (producer, seq) VALUES (?, ?)", [name, seq + i]);
          await bus.publish(tx, ContractHappenedSchema, {
            key: `${name}.${(seq + i) % 3n}`,
            producer: name,
            seq: seq + i,
          });
        }
        await sleep(Math.random() * 4);
        if (rollBack) throw new Error("roll back");
      });
      seq += BigInt(n);
    } catch (err) {
      if (!rollBack) throw err;
    }
  }
}
