/**
 * A group's read walks the log's primary key from its position: no sort of
 * the range up to the frontier. (It once did on MySQL: ORDER BY named the
 * DOUBLE alias of the id, so every read of a backlog sorted the backlog.)
 */
import { afterEach, describe, expect, it } from "vitest";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { groupReadSql } from "./consumer.js";
import { ensureEventTables } from "./tables.js";

describe.each(ENGINES)("group read plan on $name", ({ name, open }) => {
  let store: TestStore | undefined;
  afterEach(async () => {
    await store?.dispose();
    store = undefined;
  });

  it.each([[["a.b"]], [["a.b", "c.d"]]])("reads in primary-key order without sorting (topics %j)", async (topics) => {
    store = await open();
    const db = store.db;
    await ensureEventTables(db);
    const sql = groupReadSql(db.dialect, topics, 500);
    const params = [0, 1_000_000, ...topics];
    if (name === "mariadb") {
      const plan = await db.all<Record<string, unknown>>(`EXPLAIN ${sql}`, params);
      expect(plan).toHaveLength(1);
      expect(String(plan[0]!.key)).toBe("PRIMARY");
      expect(String(plan[0]!.Extra ?? "")).not.toMatch(/filesort/i);
    } else {
      const plan = await db.all<Record<string, unknown>>(`EXPLAIN QUERY PLAN ${sql}`, params);
      const text = plan.map((r) => String(r.detail)).join("\n");
      expect(text).toMatch(/PRIMARY KEY|INTEGER PRIMARY KEY|rowid/i);
      expect(text).not.toMatch(/TEMP B-TREE/i);
    }
  });
});
