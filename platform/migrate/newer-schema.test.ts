/**
 * A binary older than the database: its table schema is one the history
 * shows was superseded. It refuses to start unless told, naming the table,
 * who moved it on and what it would undo.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tablesFromProto } from "../../test/support/compile-proto.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { dataMigration, migrate, NewerSchemaError, planMigration } from "./index.js";

const header = `syntax = "proto3";\npackage demo.v1;\nimport "orbit/options/v1/options.proto";\n`;
const cards = (fields: string) =>
  tablesFromProto({
    "demo/v1/cards.proto":
      header +
      `message CardRow { option (orbit.options.v1.table) = { sql: { name: "cards" primary_key: ["id"] } }; ${fields} }`,
  });
const old = cards(`int64 id = 1; string front = 2;`);
const current = cards(`int64 id = 1; string front = 2; string back = 3;`);
const opts = { dataMigrations: [] as const };

describe.each(ENGINES)("an older binary on $name", ({ open }) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await open();
  });
  afterEach(async () => {
    await store.dispose();
  });

  it("refuses to start, starts when told, and rolls back only when told twice", async () => {
    await migrate(store.db, old, { ...opts, processId: "old-binary" });
    await migrate(store.db, current, { ...opts, processId: "new-binary" });
    await store.db.run("INSERT INTO cards (id, front, back) VALUES (1, 'q', 'a')");

    const err = await migrate(store.db, old, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NewerSchemaError);
    expect((err as NewerSchemaError).tables.map((t) => [t.table, t.process])).toEqual([["cards", "new-binary"]]);
    expect((err as Error).message).toMatch(/table cards was migrated to a newer schema at .* by new-binary/);
    expect((err as Error).message).toMatch(/drop column cards\.back .*every value of back would be lost/);
    expect((err as Error).message).toMatch(/--allow-newer-schema/);

    // Told: it starts and leaves the newer table as it is.
    const told = await migrate(store.db, old, { ...opts, allowNewerSchema: true });
    expect(told.skippedNewer).toEqual(["cards"]);
    expect(told.applied).toEqual([]);
    expect(Object.keys((await store.db.get<object>("SELECT * FROM cards"))!)).toContain("back");

    // allowDestructive alone is not enough to undo a newer schema.
    await expect(migrate(store.db, old, { ...opts, allowDestructive: true })).rejects.toBeInstanceOf(NewerSchemaError);

    // Both: an explicit rollback.
    const rolled = await migrate(store.db, old, { ...opts, allowNewerSchema: true, allowDestructive: true });
    expect(rolled.applied.map((s) => s.id)).toEqual(["drop_column:cards.back"]);
    // The rolled-back schema is now the latest: the old binary boots normally.
    expect((await planMigration(store.db, old, opts)).upToDate).toBe(true);
  });

  it("recognises an older binary from a widened type, also on SQLite where both types are INTEGER", async () => {
    const narrow = cards(`int64 id = 1; int32 n = 2;`);
    const wide = cards(`int64 id = 1; int64 n = 2;`);
    await migrate(store.db, narrow, { ...opts, processId: "old-binary" });
    await migrate(store.db, wide, { ...opts, processId: "new-binary" });
    const err = await migrate(store.db, narrow, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NewerSchemaError);
    expect((err as NewerSchemaError).tables.map((t) => [t.table, t.process])).toEqual([["cards", "new-binary"]]);
    expect((err as Error).message).toMatch(/cards\.n .*(BIGINT|bigint).*(INT|int)/i);
    const told = await migrate(store.db, narrow, { ...opts, allowNewerSchema: true });
    expect(told.skippedNewer).toEqual(["cards"]);
    // The newer binary still boots with nothing to do.
    expect((await planMigration(store.db, wide, opts)).upToDate).toBe(true);
  });

  it("does not mistake a new change for an older binary", async () => {
    await migrate(store.db, old, opts);
    // A schema never seen before is new, even if it drops something.
    const plan = await planMigration(store.db, cards(`int64 id = 1;`), opts);
    expect(plan.blocked?.name).toBe("DestructiveChangeError");
  });

  it("refuses when the history holds data migrations this binary does not have", async () => {
    const m = dataMigration("0001_seed", { up: async () => undefined });
    await migrate(store.db, old, { dataMigrations: [m] });
    const err = await migrate(store.db, old, { dataMigrations: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NewerSchemaError);
    expect((err as Error).message).toMatch(/data migrations applied by a newer binary: 0001_seed/);
    const told = await migrate(store.db, old, { dataMigrations: [], allowNewerSchema: true });
    expect(told.plan.warnings).toEqual(["data migrations applied by a newer binary: 0001_seed"]);
  });
});
