/** Replay rebuilds a projection: wipe it, replay the group, get the same state. */
import { afterEach, describe, expect, it } from "vitest";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { ContractCountedSchema, type ContractCounted } from "../../gen/orbit/contract/v1/events_pb.js";
import type { SqlDb } from "../storage/driver.js";
import { EventBus } from "./bus.js";
import type { ConsumerOptions } from "./consumer-options.js";
import { silentLogger } from "./logger.js";
import { waitFor } from "../../test/support/wait.js";

async function balances(db: SqlDb): Promise<Record<string, string>> {
  const rows = await db.all<{ account_id: unknown; balance: unknown; events: unknown }>(
    "SELECT account_id, balance, events FROM balances ORDER BY account_id",
  );
  return Object.fromEntries(rows.map((r) => [String(r.account_id), `${r.balance}/${r.events}`]));
}

function projector(db: SqlDb): ConsumerOptions {
  const upsert =
    db.dialect === "mysql"
      ? "INSERT INTO balances VALUES (?, ?, 1) ON DUPLICATE KEY UPDATE balance = balance + VALUES(balance), events = events + 1"
      : "INSERT INTO balances VALUES (?, ?, 1) ON CONFLICT (account_id) DO UPDATE SET balance = balance + excluded.balance, events = events + 1";
  return {
    group: "balances",
    events: [ContractCountedSchema],
    batchSize: 7,
    handle: async (e, ctx) => {
      const m = e.message as ContractCounted;
      await ctx.tx.run(upsert, [m.accountId, m.amount]);
    },
  };
}

describe.each(ENGINES)("replay on $name", ({ open }) => {
  let store: TestStore;
  const buses: EventBus[] = [];
  afterEach(async () => {
    for (const b of buses.splice(0)) await b.close();
    await store.dispose();
  });

  it("rebuilds a wiped projection to the same state, while its consumer keeps running", async () => {
    store = await open();
    const db = store.db;
    await db.exec(
      "CREATE TABLE balances (account_id BIGINT NOT NULL PRIMARY KEY, balance BIGINT NOT NULL, events INT NOT NULL)",
    );
    const bus = await EventBus.open(db, { logger: silentLogger, leaseTtlMs: 300 });
    buses.push(bus);
    const consumer = bus.consume(projector(db));
    for (let i = 0; i < 60; i++) {
      await bus.publish(ContractCountedSchema, { accountId: BigInt(i % 5), amount: BigInt(i * 3 - 50) });
    }
    await waitFor(
      async () => (await bus.lagByGroup())[0]?.pending === 0 && consumer.handled === 60,
      "projection built",
    );
    const before = await balances(db);
    expect(Object.keys(before)).toHaveLength(5);

    // An "attack" corrupted the projection: wipe it and replay from the start.
    await db.run("DELETE FROM balances");
    const row = await bus.replay("balances", 0n);
    expect(row.position).toBe(0n);
    await waitFor(async () => JSON.stringify(await balances(db)) === JSON.stringify(before), "same state after replay");
    await waitFor(async () => (await bus.lagByGroup())[0]?.pending === 0, "caught up");
    expect(await balances(db)).toEqual(before);
  });

  it("replays from a position: only events from that id on are delivered again", async () => {
    store = await open();
    const db = store.db;
    const bus = await EventBus.open(db, { logger: silentLogger, leaseTtlMs: 300 });
    buses.push(bus);
    const ids: bigint[] = [];
    bus.consume({ group: "g", events: [ContractCountedSchema], handle: (e) => void ids.push(e.id) });
    for (let i = 0; i < 10; i++) await bus.publish(ContractCountedSchema, { accountId: 1n, amount: 1n });
    await waitFor(() => ids.length === 10, "10 events");
    const from = ids[6]!;
    await bus.replay("g", from);
    await waitFor(() => ids.length === 14, "the last 4 again");
    expect(ids.slice(10)).toEqual(ids.slice(6, 10));
  });

  it("a replay from another process (the CLI) is picked up by the running consumer", async () => {
    store = await open();
    const db = store.db;
    const worker = await EventBus.open(db, { logger: silentLogger, leaseTtlMs: 300 });
    const cli = await EventBus.open(db, { logger: silentLogger });
    buses.push(worker, cli);
    const ids: bigint[] = [];
    worker.consume({ group: "g", events: [ContractCountedSchema], handle: (e) => void ids.push(e.id) });
    for (let i = 0; i < 3; i++) await worker.publish(ContractCountedSchema, { accountId: 1n, amount: 1n });
    await waitFor(() => ids.length === 3, "3 events");
    await cli.replay("g", 0n);
    await waitFor(() => ids.length === 6, "replayed through the lease renewal");
    expect(ids.slice(3)).toEqual(ids.slice(0, 3));
  });
});
