/**
 * The backfill of user_handle_skeletons on a store whose accounts predate it: every handle gets
 * its skeleton, and of two old look-alikes (`alice`, then `aIice`) the older keeps it.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  HandleSkeletonRowDao,
  HandleSkeletonRowTable,
  UserRowDao,
  UserRowTable,
} from "../../gen/orbit/user/v1/tables_db.js";
import { migrate } from "../../platform/migrate/index.js";
import { handleSkeleton } from "../../platform/text.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";

describe.each(ENGINES)("0001_handle_skeletons on $name", ({ open }) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await open();
  });
  afterEach(async () => {
    await store.dispose();
  });

  it("fills a skeleton for each existing handle; the older of two look-alikes keeps it", async () => {
    // The schema before the skeleton table, with accounts in it.
    await migrate(store.db, [UserRowTable], { dataMigrations: [] });
    const users = new UserRowDao(store.db);
    const handles = ["alice", "bob", "aIice", "carol"];
    for (const [i, handle] of handles.entries()) {
      await users.insert({ id: BigInt(10 + i), handle, handleKey: handle.toLowerCase(), createdAtMs: 1n });
    }

    const r = await migrate(store.db, [UserRowTable, HandleSkeletonRowTable]);
    expect(r.dataApplied).toContain("0001_handle_skeletons");

    const skeletons = new HandleSkeletonRowDao(store.db);
    expect((await skeletons.get({ skeleton: handleSkeleton("alice") }))?.userId).toBe(10n);
    expect((await skeletons.get({ skeleton: handleSkeleton("bob") }))?.userId).toBe(11n);
    expect((await skeletons.get({ skeleton: handleSkeleton("carol") }))?.userId).toBe(13n);
    const rows = await store.db.all<{ n: unknown }>("SELECT COUNT(*) AS n FROM user_handle_skeletons");
    expect(Number(rows[0]!.n)).toBe(3); // aIice (id 12) shares alice's skeleton: left without one

    // Run once: a second boot plans nothing.
    expect((await migrate(store.db, [UserRowTable, HandleSkeletonRowTable])).plan.upToDate).toBe(true);
  });
});
