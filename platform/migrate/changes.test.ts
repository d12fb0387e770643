/**
 * Each kind of change on SQLite and MariaDB: what applies by itself, what is
 * refused and what it keeps when allowed.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tablesFromProto } from "../../test/support/compile-proto.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { DestructiveChangeError, migrate, MigrationStepError, planMigration, readHistory } from "./index.js";

const header = `syntax = "proto3";\npackage demo.v1;\nimport "orbit/options/v1/options.proto";\n`;
const items = (fields: string, table = `primary_key: ["id"]`, extra = "") =>
  tablesFromProto({
    "demo/v1/items.proto":
      header +
      `message ItemRow {
        option (orbit.options.v1.table) = { sql: { name: "items" ${table} } };
        ${fields}
      }
      ${extra}`,
  });

const base = `int64 id = 1; int64 owner_id = 2;`;
const V = {
  int32: items(`${base} int32 n = 3; string code = 4; optional string note = 5;`),
  int64: items(`${base} int64 n = 3; string code = 4; optional string note = 5;`),
  codeInt: items(`${base} int32 n = 3; int64 code = 4; optional string note = 5;`),
  pk: items(`${base} int32 n = 3; string code = 4; optional string note = 5;`, `primary_key: ["owner_id", "id"]`),
  noteRequired: items(`${base} int32 n = 3; string code = 4; string note = 5;`),
  noteNone: items(
    `${base} int32 n = 3; string code = 4; string note = 5 [(orbit.options.v1.column).default = "'none'"];`,
  ),
  tag80: items(`${base} string tag = 3 [(orbit.options.v1.column).sql_type = "varchar(80)"];`),
  tag120: items(`${base} string tag = 3 [(orbit.options.v1.column).sql_type = "varchar(120)"];`),
  stars7: items(`${base} int32 stars = 3 [(orbit.options.v1.column).default = "7"];`),
  stars3: items(`${base} int32 stars = 3 [(orbit.options.v1.column).default = "3"];`),
  rating3: items(`${base} int32 rating = 3 [(orbit.options.v1.column) = { renamed_from: "stars" default: "3" }];`),
  indexed: items(`${base} int32 n = 3;`, `primary_key: ["id"] index: { columns: ["owner_id", "n"] }`),
  reindexed: items(`${base} int32 n = 3;`, `primary_key: ["id"] index: { columns: ["n"] }`),
  plain: items(`${base} int32 n = 3;`),
  twoTables: items(
    `${base} int32 n = 3;`,
    `primary_key: ["id"]`,
    `message TagRow { option (orbit.options.v1.table) = { sql: { name: "tags" primary_key: ["id"] } }; int64 id = 1; }`,
  ),
};
const opts = { dataMigrations: [] as const };

describe.each(ENGINES)("changes on $name", ({ name, open }) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await open();
  });
  afterEach(async () => {
    await store.dispose();
  });
  const mysql = name === "mariadb";
  const rows = (sql = "SELECT * FROM items ORDER BY id") => store.db.all<Record<string, unknown>>(sql);
  const seed = async () => {
    await store.db.run(
      "INSERT INTO items (id, owner_id, n, code, note) VALUES (1, 5, 7, '12', NULL), (2, 5, 8, 'x', 'hi')",
    );
  };

  it("widens int32 to int64 by itself, keeping values", async () => {
    await migrate(store.db, V.int32, opts);
    await seed();
    const r = await migrate(store.db, V.int64, opts);
    // SQLite has one INTEGER type: nothing to do there.
    expect(r.applied.map((s) => s.id)).toEqual(mysql ? ["alter_column:items.n"] : []);
    if (mysql) {
      expect(r.applied[0]!.locking).toMatch(/^LOCKS items/);
      expect(r.applied[0]!.algorithms).toEqual(["ALGORITHM=COPY (the server's choice)"]);
    }
    expect((await rows()).map((x) => Number(x.n))).toEqual([7, 8]);
    expect((await planMigration(store.db, V.int64, opts)).steps).toEqual([]);
  });

  // Narrowing the declared type: [from, to, live type MariaDB reports, declared types, a value that fits, one that does not].
  const narrowings = [
    ["int64 to int32", "int64 n = 3;", "int32 n = 3;", "bigint(20)", "BIGINT", "INT", "7", "9000000000"],
    [
      "string to varchar(4)",
      "string n = 3;",
      `string n = 3 [(orbit.options.v1.column).sql_type = "varchar(4)"];`,
      "text",
      "TEXT",
      "VARCHAR(4)",
      "'abc'",
      "'abcdef'",
    ],
    ["int64 to uint64", "int64 n = 3;", "uint64 n = 3;", "bigint(20)", "BIGINT", "BIGINT UNSIGNED", "7", "-1"],
    ["int64 to bool", "int64 n = 3;", "bool n = 3;", "bigint(20)", "BIGINT", "TINYINT(1)", "1", "300"],
  ] as const;
  it.each(narrowings)(
    "refuses narrowing %s, naming the table, column and both types; applies it when allowed",
    async (_, a, b, liveFrom, from, to, fits, misfit) => {
      const wide = items(`${base} ${a}`);
      const narrow = items(`${base} ${b}`);
      await migrate(store.db, wide, opts);
      await store.db.run(`INSERT INTO items (id, owner_id, n) VALUES (1, 5, ${fits})`);
      // SQLite keeps any value whatever the declared type; MariaDB would refuse to convert this one.
      if (!mysql) await store.db.run(`INSERT INTO items (id, owner_id, n) VALUES (2, 5, ${misfit})`);
      const plan = await planMigration(store.db, narrow, opts);
      expect(plan.blocked).toBeInstanceOf(DestructiveChangeError);
      const esc = (s: string) => s.replace(/[()]/g, "\\$&");
      expect(plan.blocked!.message).toMatch(
        new RegExp(`table items: change the type of items\\.n from ${esc(mysql ? liveFrom : from)} to ${esc(to)}`, "i"),
      );
      if (!mysql) {
        expect((plan.blocked as DestructiveChangeError).changes).toEqual([
          expect.objectContaining({
            table: "items",
            column: "n",
            loses: expect.stringMatching(/\(1 row of items holds such a value\)$/),
          }),
        ]);
      }
      await expect(migrate(store.db, narrow, opts)).rejects.toBeInstanceOf(DestructiveChangeError);

      const r = await migrate(store.db, narrow, { ...opts, allowDestructive: true });
      expect(r.applied.map((s) => [s.id, s.destructive])).toEqual([
        [mysql ? "alter_column:items.n" : "retype_column:items.n", true],
      ]);
      // SQLite rewrites nothing and keeps every value.
      if (!mysql) expect((await rows()).length).toBe(2);
      expect((await planMigration(store.db, narrow, opts)).upToDate).toBe(true);
    },
  );

  it("treats a declared type the history does not have as unknown, not as narrowing (databases migrated by older binaries)", async () => {
    await migrate(store.db, V.int64, opts);
    // An older binary recorded states without the declared types.
    await store.db.run("UPDATE orbit_migrations SET statements = '' WHERE kind = 'state'");
    const legacy = await planMigration(store.db, V.int64, opts);
    expect(legacy.steps).toEqual([]);
    expect(legacy.unrecorded).toEqual(["items"]);
    if (!mysql) expect((await planMigration(store.db, V.int32, opts)).blocked).toBeUndefined();
    // The first run records them (no step); from then on narrowing is recognised.
    expect((await migrate(store.db, V.int64, opts)).applied).toEqual([]);
    expect((await planMigration(store.db, V.int64, opts)).upToDate).toBe(true);
    expect((await planMigration(store.db, V.int32, opts)).blocked).toBeInstanceOf(DestructiveChangeError);
  });

  it("widens varchar(80) to varchar(120) in place", async () => {
    await migrate(store.db, V.tag80, opts);
    await store.db.run("INSERT INTO items (id, owner_id, tag) VALUES (1, 1, 'abc')");
    const r = await migrate(store.db, V.tag120, opts);
    expect(r.applied.map((s) => s.id)).toEqual(mysql ? ["alter_column:items.tag"] : []);
    if (mysql) expect(r.applied[0]!.algorithms[0]).toMatch(/INSTANT|INPLACE/);
    expect((await rows())[0]!.tag).toBe("abc");
  });

  it("refuses a type change, and converts the values when allowed", async () => {
    await migrate(store.db, V.int32, opts);
    await store.db.run("INSERT INTO items (id, owner_id, n, code) VALUES (1, 5, 7, '12'), (2, 5, 8, '40')");
    await expect(migrate(store.db, V.codeInt, opts)).rejects.toThrow(
      /change the type of items\.code from \w+ to (INTEGER|BIGINT)/,
    );
    const r = await migrate(store.db, V.codeInt, { ...opts, allowDestructive: true });
    expect(r.applied.map((s) => s.op)).toEqual([mysql ? "alter_column" : "rebuild_table"]);
    expect((await rows()).map((x) => [Number(x.id), Number(x.code), Number(x.n)])).toEqual([
      [1, 12, 7],
      [2, 40, 8],
    ]);
    expect((await planMigration(store.db, V.codeInt, opts)).upToDate).toBe(true);
  });

  it("refuses a primary key change, and rewrites the table when allowed", async () => {
    await migrate(store.db, V.int32, opts);
    await seed();
    await expect(migrate(store.db, V.pk, opts)).rejects.toThrow(
      /change the primary key of items from \(id\) to \(owner_id, id\)/,
    );
    const r = await migrate(store.db, V.pk, { ...opts, allowDestructive: true });
    expect(r.applied.map((s) => s.op)).toEqual([mysql ? "replace_primary_key" : "rebuild_table"]);
    expect((await rows()).map((x) => [Number(x.id), x.code, x.note])).toEqual([
      [1, "12", null],
      [2, "x", "hi"],
    ]);
    expect((await planMigration(store.db, V.pk, opts)).upToDate).toBe(true);
  });

  it("relaxes NOT NULL by itself; tightening is refused, then fills NULLs with the default", async () => {
    await migrate(store.db, V.noteRequired, opts);
    await store.db.run("INSERT INTO items (id, owner_id, n, code, note) VALUES (1, 5, 7, 'a', 'kept')");
    const relax = await migrate(store.db, V.int32, opts);
    expect(relax.applied.map((s) => s.op)).toEqual([mysql ? "alter_column" : "rebuild_table"]);
    await store.db.run("INSERT INTO items (id, owner_id, n, code, note) VALUES (2, 5, 8, 'b', NULL)");
    const refused = await migrate(store.db, V.noteNone, opts).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DestructiveChangeError);
    expect((refused as Error).message).toMatch(
      /make items\.note NOT NULL: rows holding NULL in note would get the default 'none' instead/,
    );
    await migrate(store.db, V.noteNone, { ...opts, allowDestructive: true });
    expect((await rows()).map((x) => x.note)).toEqual(["kept", "none"]);
  });

  it("changes a default by itself", async () => {
    await migrate(store.db, V.stars7, opts);
    await store.db.run("INSERT INTO items (id, owner_id) VALUES (1, 1)");
    const r = await migrate(store.db, V.stars3, opts);
    expect(r.applied.map((s) => s.op)).toEqual([mysql ? "alter_column" : "rebuild_table"]);
    expect(r.applied[0]!.destructive).toBe(false);
    await store.db.run("INSERT INTO items (id, owner_id) VALUES (2, 1)");
    expect((await rows()).map((x) => Number(x.stars))).toEqual([7, 3]);
    expect((await planMigration(store.db, V.stars3, opts)).upToDate).toBe(true);
  });

  it("renames a column and changes its default together, keeping the values", async () => {
    await migrate(store.db, V.stars7, opts);
    await store.db.run("INSERT INTO items (id, owner_id, stars) VALUES (1, 1, 5)");
    const r = await migrate(store.db, V.rating3, opts);
    expect(r.applied.map((s) => s.id)).toEqual(
      mysql ? ["rename_column:items.stars->rating", "alter_column:items.rating"] : ["rebuild_table:items"],
    );
    await store.db.run("INSERT INTO items (id, owner_id) VALUES (2, 1)");
    expect((await rows()).map((x) => Number(x.rating))).toEqual([5, 3]);
    expect((await planMigration(store.db, V.rating3, opts)).upToDate).toBe(true);
  });

  it("adds and drops indexes by itself", async () => {
    await migrate(store.db, V.plain, opts);
    const add = await migrate(store.db, V.indexed, opts);
    expect(add.applied.map((s) => s.id)).toEqual(["add_index:items.items_by_owner_id_n"]);
    if (mysql) expect(add.applied[0]!.algorithms).toEqual(["ALGORITHM=INPLACE, LOCK=NONE"]);
    const swap = await migrate(store.db, V.reindexed, opts);
    expect(swap.applied.map((s) => [s.id, s.destructive])).toEqual([
      ["drop_index:items.items_by_owner_id_n", false],
      ["add_index:items.items_by_n", false],
    ]);
  });

  it("adds columns instantly on MySQL", async () => {
    await migrate(store.db, V.plain, opts);
    const r = await migrate(store.db, V.int32, opts);
    expect(r.applied.map((s) => s.id)).toEqual(["add_column:items.code", "add_column:items.note"]);
    if (mysql) for (const s of r.applied) expect(s.algorithms).toEqual(["ALGORITHM=INSTANT"]);
  });

  it("refuses to drop a table removed from its proto file, and drops it when allowed", async () => {
    await migrate(store.db, V.twoTables, opts);
    await store.db.run("INSERT INTO tags (id) VALUES (1)");
    // Another file's tables are not ours to drop: migrating only "items" from elsewhere leaves tags alone.
    const elsewhere = V.plain.map((t) => ({ ...t, file: "other/v1/items.proto" }));
    expect((await planMigration(store.db, elsewhere, opts)).steps).toEqual([]);
    await expect(migrate(store.db, V.plain, opts)).rejects.toThrow(
      /table tags: drop table tags \(made from demo\/v1\/items.proto, which no longer declares it\): all of its rows would be lost \(tags has 1 row\)/,
    );
    const r = await migrate(store.db, V.plain, { ...opts, allowDestructive: true });
    expect(r.applied.map((s) => s.id)).toEqual(["drop_table:tags"]);
    expect((await migrate(store.db, V.plain, opts)).plan.upToDate).toBe(true);
  });
});

describe.each(ENGINES)("a step that fails on $name", ({ name, open }) => {
  it("stops with the step and statement named; earlier steps stay (MySQL) or roll back (SQLite)", async () => {
    const store = await open();
    try {
      const slug = `string slug = 3 [(orbit.options.v1.column).sql_type = "varchar(64)"];`;
      const before = items(`int64 id = 1; int64 owner_id = 2; ${slug}`);
      const after = items(
        `int64 id = 1; int64 owner_id = 2; ${slug} int32 n = 4;`,
        `primary_key: ["id"] unique_index: { columns: ["slug"] }`,
      );
      await migrate(store.db, before, opts);
      await store.db.run("INSERT INTO items (id, owner_id, slug) VALUES (1, 1, 'same'), (2, 1, 'same')");
      const err = await migrate(store.db, after, opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MigrationStepError);
      expect((err as MigrationStepError).stepId).toBe("add_index:items.items_uniq_slug");
      expect((err as Error).message).toMatch(
        /migration step add_index:items\.items_uniq_slug failed: .*\n  statement: .*items_uniq_slug/,
      );
      const history = (await readHistory(store.db))
        .filter((h) => h.kind === "schema")
        .map((h) => `${h.step} ${h.status}`);
      if (name === "mariadb") {
        expect(history).toEqual([
          "create_table:items applied",
          "add_column:items.n applied",
          "add_index:items.items_uniq_slug failed",
        ]);
      } else {
        expect(history).toEqual(["create_table:items applied"]);
      }
      // Fix the data and boot again: the rest applies.
      await store.db.run("UPDATE items SET slug = 'other' WHERE id = 2");
      const r = await migrate(store.db, after, opts);
      expect(r.applied.map((s) => s.id)).toEqual(
        name === "mariadb"
          ? ["add_index:items.items_uniq_slug"]
          : ["add_column:items.n", "add_index:items.items_uniq_slug"],
      );
    } finally {
      await store.dispose();
    }
  });
});
