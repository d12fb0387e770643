/**
 * The newcomer flow, on SQLite and MariaDB: boot on an empty database, add a
 * field, rename one with renamed_from, remove one (refused, then allowed),
 * and boot again with nothing to do. Tables come from real proto text
 * compiled with buf, as `npm run gen` would see it.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tablesFromProto } from "../../test/support/compile-proto.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { DestructiveChangeError, migrate, planMigration, readHistory } from "./index.js";

const header = `syntax = "proto3";\npackage demo.v1;\nimport "orbit/options/v1/options.proto";\n`;
const table = (fields: string) =>
  tablesFromProto({
    "demo/v1/notes.proto":
      header +
      `message NoteRow {
        option (orbit.options.v1.table) = { sql: { name: "notes" primary_key: ["id"]
          index: { columns: ["owner_id", "id"] } } };
        ${fields}
      }`,
  });

const v1 = table(`int64 id = 1; int64 owner_id = 2; string title = 3;`);
// add a field
const v2 = table(`int64 id = 1; int64 owner_id = 2; string title = 3; string body = 4; int32 stars = 5;`);
// rename title → headline, keeping the values
const v3 = table(
  `int64 id = 1; int64 owner_id = 2; string headline = 3 [(orbit.options.v1.column).renamed_from = "title"]; string body = 4; int32 stars = 5;`,
);
// remove body
const v4 = table(
  `int64 id = 1; int64 owner_id = 2; string headline = 3 [(orbit.options.v1.column).renamed_from = "title"]; int32 stars = 5;`,
);

const opts = { dataMigrations: [] as const };

describe.each(ENGINES)("newcomer flow on $name", ({ open }) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await open();
  });
  afterEach(async () => {
    await store.dispose();
  });

  const columns = async () => {
    const rows = await store.db.all<Record<string, unknown>>("SELECT * FROM notes ORDER BY id");
    return { names: Object.keys(rows[0] ?? {}).sort(), rows };
  };

  it("creates, adds, renames, refuses a drop, drops when allowed, then has nothing to do", async () => {
    // Boot on an empty database.
    const r1 = await migrate(store.db, v1, opts);
    expect(r1.applied.map((s) => s.id)).toEqual(["create_table:notes"]);
    await store.db.run("INSERT INTO notes (id, owner_id, title) VALUES (?, ?, ?), (?, ?, ?)", [
      1,
      10,
      "first",
      2,
      10,
      "second",
    ]);

    // Add fields: columns appear, rows keep their values and get the defaults.
    const r2 = await migrate(store.db, v2, opts);
    expect(r2.applied.map((s) => s.id)).toEqual(["add_column:notes.body", "add_column:notes.stars"]);
    let { names, rows } = await columns();
    expect(names).toEqual(["body", "id", "owner_id", "stars", "title"]);
    expect(rows.map((r) => [Number(r.id), r.title, r.body, Number(r.stars)])).toEqual([
      [1, "first", "", 0],
      [2, "second", "", 0],
    ]);
    await store.db.run("UPDATE notes SET body = ? WHERE id = ?", ["some text", 1]);

    // Rename with renamed_from: the values move with the column.
    const r3 = await migrate(store.db, v3, opts);
    expect(r3.applied.map((s) => s.id)).toEqual(["rename_column:notes.title->headline"]);
    ({ names, rows } = await columns());
    expect(names).toEqual(["body", "headline", "id", "owner_id", "stars"]);
    expect(rows.map((r) => r.headline)).toEqual(["first", "second"]);

    // Remove a field: refused, naming the table, the column and the loss; nothing changes.
    const refused = await migrate(store.db, v4, opts).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DestructiveChangeError);
    const err = refused as DestructiveChangeError;
    expect(err.changes).toEqual([
      expect.objectContaining({ table: "notes", column: "body", loses: expect.stringContaining("2 rows") }),
    ]);
    expect(err.message).toMatch(
      /table notes: drop column notes\.body .*every value of body would be lost \(notes has 2 rows\)/,
    );
    expect(err.message).toMatch(/--allow-destructive/);
    expect((await columns()).names).toContain("body");

    // The dry run shows the same refusal without throwing.
    const dry = await planMigration(store.db, v4, opts);
    expect(dry.blocked).toBeInstanceOf(DestructiveChangeError);
    expect(dry.steps.map((s) => [s.id, s.destructive])).toEqual([["drop_column:notes.body", true]]);

    // Allowed: dropped, the other values intact.
    const r4 = await migrate(store.db, v4, { ...opts, allowDestructive: true });
    expect(r4.applied.map((s) => s.id)).toEqual(["drop_column:notes.body"]);
    ({ names, rows } = await columns());
    expect(names).toEqual(["headline", "id", "owner_id", "stars"]);
    expect(rows.map((r) => [Number(r.id), r.headline])).toEqual([
      [1, "first"],
      [2, "second"],
    ]);

    // A second boot of an unchanged schema plans nothing and writes nothing.
    const before = (await readHistory(store.db)).length;
    const r5 = await migrate(store.db, v4, opts);
    expect(r5.plan.upToDate).toBe(true);
    expect(r5.plan.steps).toEqual([]);
    expect(r5.applied).toEqual([]);
    expect((await readHistory(store.db)).length).toBe(before);

    // The history holds every applied step once, with a checksum and the process.
    const history = await readHistory(store.db);
    const schema = history.filter((h) => h.kind === "schema");
    expect(schema.map((h) => [h.step, h.status])).toEqual([
      ["create_table:notes", "applied"],
      ["add_column:notes.body", "applied"],
      ["add_column:notes.stars", "applied"],
      ["rename_column:notes.title->headline", "applied"],
      ["drop_column:notes.body", "applied"],
    ]);
    for (const h of schema) {
      expect(h.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(h.process).toMatch(/:\d+$/);
      expect(h.finishedAtMs).toBeGreaterThanOrEqual(h.startedAtMs);
    }
  });
});
