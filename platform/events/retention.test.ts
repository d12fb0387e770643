/** Retention deletes old events every group has passed, in small batches, and nothing else. */
import { afterEach, describe, expect, it } from "vitest";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { ContractCountedSchema } from "../../gen/orbit/contract/v1/events_pb.js";
import { EventBus } from "./bus.js";
import { Frontier } from "./frontier.js";
import { firstDelivery } from "./inbox.js";
import { silentLogger } from "./logger.js";
import { appendRows, type LogRow } from "./log-writer.js";
import { GROUPS, LOG, PROCESSED } from "./tables.js";

const DAY = 86_400_000;

describe.each(ENGINES)("retention on $name", ({ open }) => {
  let store: TestStore;
  let bus: EventBus;
  afterEach(async () => {
    await bus.close();
    await store.dispose();
  });

  it("deletes events older than the age that every group has passed, in batches", async () => {
    store = await open();
    const db = store.db;
    bus = await EventBus.open(db, { logger: silentLogger });
    const now = Date.now();
    const row = (ageDays: number): LogRow => ({
      topic: "contract.counted",
      key: "k",
      payload: new Uint8Array(),
      createdMs: now - ageDays * DAY,
    });
    // ids 1-10 are 10 days old, 11-15 one day old.
    await appendRows(db, [...Array.from({ length: 10 }, () => row(10)), ...Array.from({ length: 5 }, () => row(1))]);
    const ids = (await db.all<{ id: unknown }>(`SELECT id FROM ${LOG} ORDER BY id`)).map((r) => BigInt(r.id as string));
    // Group "slow" has handled up to the 7th event; "fast" everything.
    for (const [g, pos] of [
      ["slow", ids[6]!],
      ["fast", ids[14]!],
    ] as const) {
      await db.run(`INSERT INTO ${GROUPS} (group_name, position, topics, updated_ms) VALUES (?, ?, '[]', 0)`, [g, pos]);
    }
    for (const id of ids) await firstDelivery(db, "inbox", id);

    const r = await bus.runRetention({ maxAgeMs: 7 * DAY, batchSize: 3, pauseMs: 0 });
    expect(r.deleted).toBe(7); // old AND passed by every group: events 1-7
    expect(r.floor).toBe(ids[6]);
    const left = (await db.all<{ id: unknown }>(`SELECT id FROM ${LOG} ORDER BY id`)).map((x) =>
      BigInt(x.id as string),
    );
    expect(left).toEqual(ids.slice(7));
    const inbox = Number((await db.get<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${PROCESSED}`))!.n);
    expect(inbox).toBe(8);

    // A frontier starting now begins above the floor (no wait on deleted ids).
    const f = new Frontier(db, { graceMs: 60_000 });
    await f.init();
    expect(f.value).toBe(ids[14]); // the furthest group position
    await db.run(`DELETE FROM ${GROUPS}`);
    const f2 = new Frontier(db, { graceMs: 60_000 });
    await f2.init();
    expect(f2.value).toBe(ids[6]);
    await f2.advance();
    expect(f2.value).toBe(ids[14]);

    // Once the slow group moves on, the rest of the old events go too.
    expect((await bus.runRetention({ maxAgeMs: 7 * DAY, pauseMs: 0 })).deleted).toBe(3);
    expect((await bus.runRetention({ maxAgeMs: 7 * DAY, pauseMs: 0 })).deleted).toBe(0);
  });

  it("runs on its own when configured, and keeps ids growing after the log is emptied", async () => {
    store = await open();
    const db = store.db;
    bus = await EventBus.open(db, { logger: silentLogger, retention: { maxAgeMs: 0, intervalMs: 20, pauseMs: 0 } });
    await bus.publish(ContractCountedSchema, { accountId: 1n });
    const first = BigInt((await db.get<{ id: unknown }>(`SELECT MAX(id) AS id FROM ${LOG}`))!.id as string);
    await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 200; i++) {
      const n = Number((await db.get<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${LOG}`))!.n);
      if (n === 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(Number((await db.get<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${LOG}`))!.n)).toBe(0);
    await bus.publish(ContractCountedSchema, { accountId: 2n });
    const second = BigInt((await db.get<{ id: unknown }>(`SELECT MAX(id) AS id FROM ${LOG}`))!.id as string);
    expect(second).toBeGreaterThan(first); // never reused (consumers past `first` would skip it)
  });

  it("refuses a negative age", async () => {
    store = await open();
    bus = await EventBus.open(store.db, { logger: silentLogger });
    await expect(bus.runRetention({ maxAgeMs: -1 })).rejects.toThrow(/maxAgeMs must be >= 0/);
    await expect(bus.runRetention()).rejects.toThrow(/no retention options/);
  });
});
