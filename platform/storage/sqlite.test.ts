import { afterEach, describe, expect, it } from "vitest";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";

describe("SqliteDb transactions", () => {
  let store: TestStore | undefined;
  afterEach(async () => {
    await store?.dispose();
  });

  it("serialises concurrent transactions and keeps statements outside them waiting", async () => {
    store = sqliteStore();
    const db = store.db;
    await db.exec("CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
    await db.run("INSERT INTO c VALUES (1, 0)");
    // Read-modify-write with a yield in between: lost updates would show if
    // two transactions interleaved.
    await Promise.all(
      Array.from({ length: 50 }, () =>
        db.transaction(async (tx) => {
          const r = await tx.get<{ n: bigint }>("SELECT n FROM c WHERE id = 1");
          await new Promise((res) => setImmediate(res));
          await tx.run("UPDATE c SET n = ? WHERE id = 1", [r!.n + 1n]);
        }),
      ),
    );
    expect(await db.get("SELECT n FROM c WHERE id = 1")).toEqual({ n: 50n });
  });

  it("runs afterCommit callbacks only on commit, and refuses use of a finished transaction", async () => {
    store = sqliteStore();
    const db = store.db;
    await db.exec("CREATE TABLE t (a INTEGER)");
    const seen: string[] = [];
    let leaked: import("../../platform/storage/driver.js").SqlTx | undefined;
    await db.transaction(async (tx) => {
      tx.afterCommit(() => seen.push("committed"));
      leaked = tx;
    });
    await db
      .transaction(async (tx) => {
        tx.afterCommit(() => seen.push("rolled back?"));
        throw new Error("no");
      })
      .catch(() => undefined);
    expect(seen).toEqual(["committed"]);
    await expect(leaked!.run("INSERT INTO t VALUES (1)")).rejects.toThrow(/already finished/);
  });

  it("never runs a statement made outside a transaction inside the next one (which may roll back)", async () => {
    store = sqliteStore();
    const db = store.db;
    await db.exec("CREATE TABLE t (x INTEGER)");
    let finishFirst!: () => void;
    const first = db.transaction(() => new Promise<void>((r) => (finishFirst = r)));
    const outside = db.run("INSERT INTO t VALUES (1)"); // waits for the first transaction
    const second = db.transaction(async () => {
      await new Promise((r) => setTimeout(r, 5));
      throw new Error("roll back");
    });
    finishFirst();
    await first;
    await outside;
    await expect(second).rejects.toThrow("roll back");
    expect(await db.all("SELECT x FROM t")).toEqual([{ x: 1n }]);
  });
});
