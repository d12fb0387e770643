/**
 * MySQL statements under a deadline (watchdog.ts): one past its deadline is
 * cancelled (its connection destroyed, so it cannot run or commit later) and
 * fails with StoreDeadlineError; `runCommitted` commits one write only when
 * its check passes and never after the deadline. The deadline comes from
 * platform/deadline.ts, set here directly (the RPC layer sets it per call).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mysqlStore, type TestStore } from "../../test/support/stores.js";
import { setDeadlineSource } from "../deadline.js";
import { MysqlDb, StoreDeadlineError } from "./mysql.js";

let store: TestStore;
let db: MysqlDb;
let deadline: number | undefined;

beforeAll(async () => {
  store = await mysqlStore();
  db = store.db as MysqlDb;
  setDeadlineSource(() => deadline);
  await db.exec("CREATE TABLE notes (id BIGINT PRIMARY KEY, text VARCHAR(40) NOT NULL)");
});
afterAll(async () => {
  setDeadlineSource(() => undefined);
  await store?.dispose();
});

async function count(text: string): Promise<number> {
  deadline = undefined;
  const row = await db.getValues("SELECT COUNT(*) FROM notes WHERE text = ?", [text]);
  return Number(row![0]);
}

describe("MySQL under a deadline", () => {
  it("cancels a statement that runs past the deadline, and the pool serves the next one", async () => {
    deadline = Date.now() + 200;
    await expect(db.getValues("SELECT SLEEP(5)")).rejects.toBeInstanceOf(StoreDeadlineError);
    deadline = Date.now() + 10_000;
    expect(await db.getValues("SELECT 1 + 1")).toEqual([2]);
    deadline = Date.now() - 1; // already passed
    await expect(db.get("SELECT 1")).rejects.toBeInstanceOf(StoreDeadlineError);
  });

  it("runCommitted commits when the check passes, and rolls back when it throws", async () => {
    deadline = Date.now() + 10_000;
    const r = await db.runCommitted("INSERT INTO notes (id, text) VALUES (?, ?)", [1n, "kept"], () => undefined);
    expect(r.changes).toBe(1);
    deadline = Date.now() + 10_000;
    const late = new Error("the call already ended");
    await expect(
      db.runCommitted("INSERT INTO notes (id, text) VALUES (?, ?)", [2n, "dropped"], () => {
        throw late;
      }),
    ).rejects.toBe(late);
    expect(await count("kept")).toBe(1);
    expect(await count("dropped")).toBe(0);
  });

  it("runCommitted past the deadline (blocked on a row lock) fails and never commits", async () => {
    deadline = undefined;
    await db.run("INSERT INTO notes (id, text) VALUES (?, ?)", [10n, "locked"]);
    let unlock!: () => void;
    const held = new Promise<void>((r) => (unlock = r));
    let locked!: () => void;
    const hasLock = new Promise<void>((r) => (locked = r));
    const holder = db.transaction(async (tx) => {
      await tx.run("UPDATE notes SET text = 'locked' WHERE id = 10");
      locked();
      await held;
    });
    // The holder has its row lock (and began without a deadline) before the late write starts.
    await hasLock;
    deadline = Date.now() + 300;
    await expect(
      db.runCommitted("UPDATE notes SET text = ? WHERE id = ?", ["late", 10n], () => undefined),
    ).rejects.toBeInstanceOf(StoreDeadlineError);
    unlock();
    await holder;
    expect(await count("late")).toBe(0);
    expect(await count("locked")).toBe(1);
  });

  it("keeps bad input an error of its own, and the connection usable", async () => {
    deadline = Date.now() + 10_000;
    await expect(
      db.runCommitted("INSERT INTO notes (id, text) VALUES (?, ?)", [1n, "dup"], () => undefined),
    ).rejects.toMatchObject({ code: "ER_DUP_ENTRY" });
    await expect(db.run("INSERT INTO notes (id, text) VALUES (?, ?)", [1n, "dup"])).rejects.toMatchObject({
      code: "ER_DUP_ENTRY",
    });
    expect(await count("dup")).toBe(0);
  });
});
