/**
 * The settled frontier against real engines: an event that commits after a
 * higher id became visible is never skipped (however long its transaction
 * runs), and holes that will never fill (rollbacks, ids burnt by a failed
 * insert, deleted rows) do not stall it forever.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ENGINES, mysqlStore, sqliteStore, type TestStore } from "../../test/support/stores.js";
import { openSqlStore } from "../storage/open.js";
import type { SqlDb } from "../storage/driver.js";
import { Frontier } from "./frontier.js";
import { appendRows, type IdRange, type LogRow } from "./log-writer.js";
import { ensureEventTables, LOG } from "./tables.js";
import { waitFor } from "../../test/support/wait.js";

const row = (key: string): LogRow => ({ topic: "t", key, payload: new Uint8Array([1]), createdMs: Date.now() });

describe("frontier on MariaDB", () => {
  let store: TestStore;
  let other: SqlDb | undefined;
  afterEach(async () => {
    await other?.close();
    other = undefined;
    await store.dispose();
  });
  async function setup(graceMs: number, probeLockWaitSec = 2) {
    store = await mysqlStore();
    other = openSqlStore(store.url); // a second "process"
    await ensureEventTables(store.db);
    const f = new Frontier(store.db, { graceMs, probeLockWaitSec });
    await f.init();
    return f;
  }

  it("waits for an in-flight transaction below a visible id, even past the grace period", async () => {
    const f = await setup(50, 2);
    let commitA!: () => void;
    const aMayCommit = new Promise<void>((r) => (commitA = r));
    let aInserted!: () => void;
    const aHasInserted = new Promise<void>((r) => (aInserted = r));
    const a = other!.transaction(async (tx) => {
      await appendRows(tx, [row("a")]); // gets id 1
      aInserted();
      await aMayCommit;
    });
    await aHasInserted;
    await appendRows(store.db, [row("b")]); // id 2, committed first
    await f.advance(); // the probe of the hole at id 1 waits 2 s on A's lock: busy, nothing skipped
    expect(f.value).toBe(0n);
    expect(f.deadIds).toBe(0n);
    // The grace period (50 ms) is long over. Probes keep waiting on A (each
    // either sees A commit or times out busy); none may skip id 1.
    const probing = (async () => {
      while (f.value < 2n) {
        await f.advance();
        expect(f.deadIds).toBe(0n);
      }
    })();
    // A probe well past the grace period waited its whole lock wait on A's row (busy) and
    // skipped nothing. (Counted by the frontier itself: the server's INNODB_TRX also shows other
    // test files' lock waits when files run side by side.)
    await waitFor(() => f.busyProbes >= 2, "a probe past the grace period to wait out A's row lock", 20_000);
    expect(f.value).toBe(0n);
    commitA();
    await probing;
    await a;
    expect(f.value).toBe(2n);
    expect(f.deadIds).toBe(0n);
  });

  it("does not skip a transaction that outlives a probe's lock wait; it reports busy and catches up", async () => {
    const f = await setup(50, 1);
    let commitA!: () => void;
    const aMayCommit = new Promise<void>((r) => (commitA = r));
    let aInserted!: () => void;
    const aHasInserted = new Promise<void>((r) => (aInserted = r));
    const a = other!.transaction(async (tx) => {
      await appendRows(tx, [row("a")]);
      aInserted();
      await aMayCommit;
    });
    await aHasInserted;
    await appendRows(store.db, [row("b")]);
    await f.advance(); // the probe times out after 1 s: busy, not dead
    expect(f.value).toBe(0n);
    expect(f.recheckAt).toBeGreaterThan(0);
    await f.advance(); // long past the grace period: still busy, still nothing skipped
    expect(f.value).toBe(0n);
    expect(f.deadIds).toBe(0n);
    commitA();
    await a;
    await f.advance();
    expect(f.value).toBe(2n);
    expect(f.deadIds).toBe(0n);
  });

  it("skips the ids of a rolled-back transaction after the grace period", async () => {
    const f = await setup(150);
    await expect(
      other!.transaction(async (tx) => {
        await appendRows(tx, [row("a"), row("a2")]); // ids 1-2
        throw new Error("rollback");
      }),
    ).rejects.toThrow("rollback");
    await appendRows(store.db, [row("b")]); // id 3
    await f.advance();
    expect(f.value).toBe(0n); // the hole is young: wait
    expect(f.recheckAt).toBeGreaterThan(Date.now() - 1);
    const recheckAt = f.recheckAt;
    await waitFor(() => Date.now() > recheckAt, "the hole's grace period to end");
    await f.advance();
    expect(f.value).toBe(3n);
    expect(f.deadIds).toBe(2n);
  });

  it("skips ids burnt by a failed multi-row insert", async () => {
    const f = await setup(100);
    await appendRows(store.db, [row("a")]); // id 1
    // The second row violates NOT NULL: the statement fails after reserving ids.
    await expect(
      store.db.run(
        `INSERT INTO ${LOG} (topic, event_key, payload, created_ms) VALUES ('t', 'k', 'x', 1), ('t', 'k', NULL, 1)`,
      ),
    ).rejects.toThrow();
    await appendRows(store.db, [row("b")]);
    const ids = (await store.db.all<{ id: string }>(`SELECT id FROM ${LOG} ORDER BY id`)).map((r) => BigInt(r.id));
    expect(ids[1]! - ids[0]!).toBeGreaterThan(1n); // there is a hole
    await f.advance();
    expect(f.value).toBe(ids[0]);
    const recheckAt = f.recheckAt;
    expect(recheckAt).toBeGreaterThan(0);
    await waitFor(() => Date.now() > recheckAt, "the burnt ids' grace period to end");
    await f.advance();
    expect(f.value).toBe(ids[1]);
  });

  it("starts above the retention floor and the furthest group position", async () => {
    store = await mysqlStore();
    await ensureEventTables(store.db);
    await store.db.run(`UPDATE orbit_event_meta SET value = 40 WHERE name = 'retention_floor'`);
    await store.db.run(
      `INSERT INTO orbit_event_groups (group_name, position, topics, updated_ms) VALUES ('a', 70, '[]', 0), ('b', 10, '[]', 0)`,
    );
    const f = new Frontier(store.db);
    await f.init();
    expect(f.value).toBe(70n);
  });
});

describe("frontier on SQLite", () => {
  let store: TestStore;
  afterEach(() => store.dispose());

  it("sees ids in commit order (one writer), and settles a deleted row's hole at once", async () => {
    store = sqliteStore();
    await ensureEventTables(store.db);
    const f = new Frontier(store.db, { graceMs: 60_000 });
    await f.init();
    await appendRows(store.db, [row("a"), row("b"), row("c")]);
    await store.db.run(`DELETE FROM ${LOG} WHERE id = 2`);
    await f.advance();
    expect(f.value).toBe(3n);
    // A rolled-back transaction leaves no hole: AUTOINCREMENT's counter rolls back too.
    await expect(
      store.db.transaction(async (tx) => {
        await appendRows(tx, [row("x")]);
        throw new Error("rollback");
      }),
    ).rejects.toThrow();
    await appendRows(store.db, [row("d")]);
    await f.advance();
    expect(f.value).toBe(4n);
  });
});

describe.each(ENGINES)("frontier over this process's own inserts on $name", ({ open }) => {
  let store: TestStore;
  afterEach(() => store.dispose());

  it("reports the ids each INSERT took, and settles a block right above it without a scan", async () => {
    store = await open();
    const db = store.db;
    await ensureEventTables(db);
    const f = new Frontier(db);
    await f.init();
    f.trustRanges = true;
    const ids = async () =>
      (await db.all<{ id: unknown }>(`SELECT id FROM ${LOG} ORDER BY id`)).map((r) => BigInt(String(r.id)));
    const limits = { maxChunkRows: 4, maxChunkBytes: 1 << 20 };

    const r1: IdRange[] = [];
    await appendRows(db, [row("a"), row("b"), row("c"), row("d"), row("e")], limits, undefined, r1); // chunks 4 + 1
    expect(r1).toEqual([
      { first: 1n, last: 4n },
      { first: 5n, last: 5n },
    ]);
    expect(await ids()).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect(f.noteCommitted(r1)).toBe(true);
    expect(f.value).toBe(5n);

    // Another writer's row (id 6) comes between: our next block (7, 8) does not start right
    // above the frontier, so it waits for a scan, which finds all three.
    await appendRows(db, [row("other")]);
    const r2: IdRange[] = [];
    await appendRows(db, [row("f"), row("g")], limits, undefined, r2);
    expect(r2).toEqual([{ first: 7n, last: 8n }]);
    expect(f.noteCommitted(r2)).toBe(false);
    expect(f.value).toBe(5n);
    await f.advance();
    expect(f.value).toBe(8n);
    expect(f.noteCommitted(r2)).toBe(true); // already covered

    // Without trust (e.g. innodb_autoinc_lock_mode 2) blocks are never taken on faith.
    const r3: IdRange[] = [];
    await appendRows(db, [row("h")], limits, undefined, r3);
    f.trustRanges = false;
    expect(f.noteCommitted(r3)).toBe(false);
    expect(f.value).toBe(8n);
  });

  it("applies a block committed while a scan runs once the scan ends", async () => {
    store = await open();
    const db = store.db;
    await ensureEventTables(db);
    const f = new Frontier(db);
    await f.init();
    f.trustRanges = true;
    const scan = f.advance(); // empty log: finds nothing
    const r: IdRange[] = [];
    await appendRows(db, [row("a"), row("b")], undefined, undefined, r);
    // The scan may or may not have seen the rows; either way they are settled when it ends.
    const noted = f.noteCommitted(r);
    await scan;
    if (!noted) expect(await f.advance()).toBe(false);
    expect(f.value).toBe(2n);
  });
});
