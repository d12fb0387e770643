import { afterEach, describe, expect, it } from "vitest";
import { create, isMessage } from "@bufbuild/protobuf";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import {
  ContractCountedSchema,
  ContractHappenedSchema,
  ContractUnkeyedSchema,
  type ContractHappened,
} from "../../gen/orbit/contract/v1/events_pb.js";
import { EventBus } from "./bus.js";
import { silentLogger } from "./logger.js";
import type { Delivered } from "./consumer-options.js";
import { waitFor } from "../../test/support/wait.js";

describe.each(ENGINES)("event bus on $name", ({ open }) => {
  let store: TestStore | undefined;
  let buses: EventBus[] = [];
  afterEach(async () => {
    for (const b of buses) await b.close();
    buses = [];
    await store?.dispose();
    store = undefined;
  });
  async function bus(opts: Parameters<typeof EventBus.open>[1] = {}) {
    store ??= await open();
    const b = await EventBus.open(store.db, { logger: silentLogger, ...opts });
    buses.push(b);
    return b;
  }

  it("delivers events published in a transaction and batched, in id order, decoded", async () => {
    const b = await bus();
    const seen: Delivered[] = [];
    b.consume({
      group: "g1",
      events: [ContractHappenedSchema, ContractCountedSchema],
      handle: (e) => void seen.push(e),
    });
    await store!.db.transaction(async (tx) => {
      await b.publish(tx, ContractHappenedSchema, { key: "a", seq: 1n });
      await b.publish(tx, ContractCountedSchema, create(ContractCountedSchema, { accountId: 7n, amount: 3n }));
    });
    await Promise.all([1n, 2n, 3n].map((seq) => b.publish(ContractHappenedSchema, { key: "b", seq })));
    await waitFor(() => seen.length === 5, "5 events");
    expect(seen.map((e) => e.id)).toEqual([...seen.map((e) => e.id)].sort((x, y) => (x < y ? -1 : 1)));
    expect(seen[0]!.topic).toBe("contract.happened");
    expect(seen[0]!.key).toBe("a");
    expect(seen[1]!.key).toBe("7");
    expect(isMessage(seen[1]!.message, ContractCountedSchema) && seen[1]!.message.amount).toBe(3n);
    expect(seen.slice(2).map((e) => (e.message as ContractHappened).seq)).toEqual([1n, 2n, 3n]);
    expect(seen.every((e) => e.attempt === 1)).toBe(true);
  });

  it("drops events of a rolled-back transaction and still delivers what follows", async () => {
    const b = await bus({ gapGraceMs: 100 });
    const seen: bigint[] = [];
    b.consume({
      group: "g",
      events: [ContractHappenedSchema],
      handle: (e) => void seen.push((e.message as ContractHappened).seq),
    });
    await expect(
      store!.db.transaction(async (tx) => {
        await b.publish(tx, ContractHappenedSchema, { key: "x", seq: 1n });
        throw new Error("business rule says no");
      }),
    ).rejects.toThrow("business rule says no");
    await b.publish(ContractHappenedSchema, { key: "x", seq: 2n });
    await waitFor(() => seen.length === 1, "the committed event");
    expect(seen).toEqual([2n]);
  });

  it("only hands a group the topics it consumes, and moves its position past the others", async () => {
    const b = await bus({ events: [ContractCountedSchema] });
    const seen: string[] = [];
    b.consume({ group: "counted-only", events: ["contract.counted"], handle: (e) => void seen.push(e.topic) });
    await b.publish(ContractHappenedSchema, { key: "a" });
    await b.publish(ContractUnkeyedSchema, { note: "n" });
    await b.publish(ContractCountedSchema, { accountId: 1n, amount: 1n });
    await waitFor(() => seen.length === 1, "the counted event");
    expect(seen).toEqual(["contract.counted"]);
    await waitFor(async () => (await b.lagByGroup())[0]!.pending === 0, "no lag");
  });

  it("gives a group to one process at a time; another takes over when it stops", async () => {
    const a = await bus({ owner: "proc-a", leaseTtlMs: 1000 });
    const c = await bus({ owner: "proc-b", leaseTtlMs: 1000 });
    const byA: bigint[] = [];
    const byC: bigint[] = [];
    a.consume({ group: "shared", events: [ContractHappenedSchema], handle: (e) => void byA.push(e.id) });
    await waitFor(() => a.stats().consumers[0]!.state === "active", "a active");
    c.consume({ group: "shared", events: [ContractHappenedSchema], handle: (e) => void byC.push(e.id) });
    await waitFor(() => c.stats().consumers[0]!.state === "standby", "c standby");
    await a.publish(ContractHappenedSchema, { key: "k", seq: 1n });
    await waitFor(() => byA.length === 1, "a handles");
    await a.stopConsumer("shared");
    await a.publish(ContractHappenedSchema, { key: "k", seq: 2n });
    await waitFor(() => byC.length === 1, "c takes over", 20_000);
    expect(byC[0]! > byA[0]!).toBe(true);
  });

  it("reports lag per group", async () => {
    const b = await bus();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // commit "after": a transactional handler parked on the gate would hold
    // SQLite's single writer (and this process's store) for the whole wait.
    b.consume({ group: "slow", events: [ContractHappenedSchema], batchSize: 1, commit: "after", handle: () => gate });
    for (let i = 0; i < 3; i++) await b.publish(ContractHappenedSchema, { key: "k" });
    await waitFor(async () => (await b.lagByGroup())[0]?.pending === 3, "3 pending");
    const [lag] = await b.lagByGroup();
    expect(lag).toMatchObject({ group: "slow", topics: ["contract.happened"], pending: 3, deadLetters: 0 });
    expect(lag!.head).toBeGreaterThan(0n);
    release();
    await waitFor(async () => (await b.lagByGroup())[0]?.pending === 0, "caught up");
  });

  it("delivers every event once, in id order, when this process's batches and another's interleave", async () => {
    // Small batches (several INSERTs each) from two buses at once: this bus settles
    // its own blocks without a scan, the other's rows between them only by a scan.
    const a = await bus({
      owner: "proc-a",
      batch: { maxRows: 7, lingerMs: 0, chunk: { maxChunkRows: 2, maxChunkBytes: 1 << 20 } },
    });
    const other = await bus({ owner: "proc-b", batch: { maxRows: 5, lingerMs: 0 } });
    const seen: Delivered[] = [];
    a.consume({ group: "mixed", events: [ContractHappenedSchema], batchSize: 6, handle: (e) => void seen.push(e) });
    await a.consumersStarted();
    const N = 300;
    const publishes: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      publishes.push(a.publish(ContractHappenedSchema, { key: `k${i % 7}`, producer: "a", seq: BigInt(i) }));
      publishes.push(other.publish(ContractHappenedSchema, { key: `k${i % 5}`, producer: "b", seq: BigInt(i) }));
      if (i % 37 === 0) await Promise.all(publishes.splice(0));
    }
    await Promise.all(publishes);
    await waitFor(() => seen.length >= 2 * N, "every event", 20_000);
    const ids = seen.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length); // no duplicates
    expect(ids).toEqual([...ids].sort((x, y) => (x < y ? -1 : 1))); // id order
    for (const p of ["a", "b"]) {
      // each producer's events arrive in publish order (one batch at a time per process)
      const seqs = seen
        .filter((e) => (e.message as ContractHappened).producer === p)
        .map((e) => (e.message as ContractHappened).seq);
      expect(seqs).toEqual(Array.from({ length: N }, (_, i) => BigInt(i)));
    }
    const rows = await store!.db.all<{ n: unknown }>("SELECT COUNT(*) AS n FROM orbit_event_log");
    expect(Number(rows[0]!.n)).toBe(2 * N);
  });
});
