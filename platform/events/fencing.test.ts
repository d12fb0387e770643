/**
 * Fencing: a consumer that lost its group's lease while handling a batch
 * (paused past the TTL and taken over) cannot commit: its transaction rolls
 * back, so the new owner's work is the only work in effect. MariaDB only:
 * on SQLite one process holds the single writer for the whole handler, so
 * nothing can take over mid-batch (other processes are covered by the crash
 * test).
 */
import { afterEach, describe, expect, it } from "vitest";
import { ContractCountedSchema, type ContractCounted } from "../../gen/orbit/contract/v1/events_pb.js";
import { mysqlStore, type TestStore } from "../../test/support/stores.js";
import { EventBus } from "./bus.js";
import { silentLogger } from "./logger.js";
import { GROUPS } from "./tables.js";
import { sleep, waitFor } from "../../test/support/wait.js";

describe("fencing on MariaDB", () => {
  let store: TestStore;
  let bus: EventBus;
  afterEach(async () => {
    await bus.close();
    await store.dispose();
  });

  it("rolls back the batch of a consumer whose lease was taken over mid-batch", async () => {
    store = await mysqlStore();
    const db = store.db;
    await db.exec("CREATE TABLE sums (account_id BIGINT PRIMARY KEY, total BIGINT NOT NULL)");
    bus = await EventBus.open(db, { logger: silentLogger, owner: "a", leaseTtlMs: 600 });
    let entered = 0;
    let release!: () => void;
    let gate: Promise<void> | null = new Promise<void>((r) => (release = r));
    const consumer = bus.consume({
      group: "sums",
      events: [ContractCountedSchema],
      handle: async (e, ctx) => {
        const m = e.message as ContractCounted;
        await ctx.tx.run("INSERT INTO sums VALUES (?, ?) ON DUPLICATE KEY UPDATE total = total + VALUES(total)", [
          m.accountId,
          m.amount,
        ]);
        entered++;
        if (gate) await gate; // "paused"
      },
    });
    await bus.publish(ContractCountedSchema, { accountId: 1n, amount: 5n });
    await waitFor(() => entered === 1, "the handler to start");

    // Another process takes the group over (as after the lease expired).
    await db.run(
      `UPDATE ${GROUPS} SET owner = 'b', epoch = epoch + 1, lease_until_ms = 9e15 WHERE group_name = 'sums'`,
    );
    const stolen = gate;
    gate = null;
    release();
    await stolen;
    await waitFor(() => consumer.state === "standby", "the fenced consumer to stand by");
    expect(await db.all("SELECT * FROM sums")).toEqual([]); // its write rolled back
    expect(Number((await db.get<{ p: unknown }>(`SELECT position AS p FROM ${GROUPS}`))!.p)).toBe(0);

    // The other owner goes away; this one takes the group back and does the work once.
    await db.run(`UPDATE ${GROUPS} SET lease_until_ms = 0 WHERE group_name = 'sums'`);
    await waitFor(async () => (await db.all("SELECT * FROM sums")).length === 1, "the event handled again", 10_000);
    await sleep(50);
    expect(await db.all("SELECT account_id, total FROM sums")).toEqual([{ account_id: "1", total: "5" }]);
  });
});
