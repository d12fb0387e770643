/**
 * Hand-written data migrations: ordered, run once after the schema steps,
 * recorded in the same history, in one transaction with their record.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { TableSpec } from "../storage/schema.js";
import { tablesFromProto } from "../../test/support/compile-proto.js";
import { openSqlStore } from "../storage/open.js";
import { ENGINES, mysqlStore, type TestStore } from "../../test/support/stores.js";
import { dataMigration, dataMigrationsIn, InvalidManifestError, migrate, readHistory } from "./index.js";

const header = `syntax = "proto3";\npackage demo.v1;\nimport "orbit/options/v1/options.proto";\n`;
const [handles, other] = tablesFromProto({
  "demo/v1/handles.proto":
    header +
    `message HandleRow { option (orbit.options.v1.table) = { sql: { name: "handles" primary_key: ["id"] } }; int64 id = 1; string handle = 2; }
     message OtherRow { option (orbit.options.v1.table) = { sql: { name: "others" primary_key: ["id"] } }; int64 id = 1; }`,
}) as [TableSpec, TableSpec];

describe.each(ENGINES)("data migrations on $name", ({ open }) => {
  let store: TestStore;
  let dir: string;
  beforeEach(async () => {
    store = await open();
    dir = mkdtempSync(join(tmpdir(), "orbit-data-"));
  });
  afterEach(async () => {
    await store.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs files in order, once, and records them with their checksum", async () => {
    writeFileSync(
      join(dir, "0002_lower.ts"),
      `export const tables = ["handles"];
       export async function up(db) { await db.run("UPDATE handles SET handle = LOWER(handle)"); }`,
    );
    writeFileSync(
      join(dir, "0001_seed.ts"),
      `export const description = "seed two handles";
       export async function up(db) { await db.run("INSERT INTO handles (id, handle) VALUES (1, 'Ann'), (2, 'BOB')"); }`,
    );
    writeFileSync(join(dir, "README.md"), "not a migration");
    expect(dataMigrationsIn(dir).map((d) => d.id)).toEqual(["0001_seed", "0002_lower"]);

    const r1 = await migrate(store.db, [handles], { dataMigrations: dir });
    expect(r1.dataApplied).toEqual(["0001_seed", "0002_lower"]);
    expect(
      (await store.db.all<{ handle: string }>("SELECT handle FROM handles ORDER BY id")).map((r) => r.handle),
    ).toEqual(["ann", "bob"]);
    const r2 = await migrate(store.db, [handles], { dataMigrations: dir });
    expect(r2.plan.upToDate).toBe(true);
    const data = (await readHistory(store.db)).filter((h) => h.kind === "data");
    expect(data.map((h) => [h.subject, h.status, h.summary])).toEqual([
      ["0001_seed", "applied", "seed two handles"],
      ["0002_lower", "applied", "data migration 0002_lower"],
    ]);
    expect(data[0]!.checksum).toBe(dataMigrationsIn(dir)[0]!.checksum);

    // Editing a file that already ran warns; it does not run again.
    writeFileSync(join(dir, "0001_seed.ts"), `export async function up() {}`);
    const r3 = await migrate(store.db, [handles], { dataMigrations: dir });
    expect(r3.plan.warnings[0]).toMatch(/data migration 0001_seed changed since it ran/);
    expect(r3.dataApplied).toEqual([]);
  });

  it("waits for a migrate call that covers its tables", async () => {
    const m = dataMigration("0001_fill_others", {
      tables: ["others"],
      up: async (db) => {
        await db.run("INSERT INTO others (id) VALUES (1)");
      },
    });
    const r1 = await migrate(store.db, [handles], { dataMigrations: [m] });
    expect(r1.plan.postponedData).toEqual(["0001_fill_others"]);
    expect(r1.dataApplied).toEqual([]);
    const r2 = await migrate(store.db, [handles, other], { dataMigrations: [m] });
    expect(r2.dataApplied).toEqual(["0001_fill_others"]);
  });

  it("records nothing for a migration that fails, and runs it again next time", async () => {
    let fail = true;
    const m = dataMigration("0001_flaky", {
      up: async (db) => {
        await db.run("INSERT INTO handles (id, handle) VALUES (1, 'x')");
        if (fail) throw new Error("boom");
      },
    });
    await expect(migrate(store.db, [handles], { dataMigrations: [m] })).rejects.toThrow("boom");
    // Its own writes were rolled back with it.
    const exists = await store.db.all("SELECT id FROM handles").catch(() => []);
    expect(exists).toEqual([]);
    fail = false;
    const r = await migrate(store.db, [handles], { dataMigrations: [m] });
    expect(r.dataApplied).toEqual(["0001_flaky"]);
    expect((await readHistory(store.db)).filter((h) => h.kind === "data").length).toBe(1);
  });

  it("refuses two files with one number, and a file without up()", async () => {
    writeFileSync(join(dir, "0001_a.ts"), `export async function up() {}`);
    writeFileSync(join(dir, "0001_b.ts"), `export async function up() {}`);
    expect(() => dataMigrationsIn(dir)).toThrow(/0001_a\.ts and 0001_b\.ts .* share the number 1/);
    rmSync(join(dir, "0001_b.ts"));
    writeFileSync(join(dir, "0002_c.ts"), `export const nothing = 1;`);
    await expect(migrate(store.db, [handles], { dataMigrations: dir })).rejects.toThrow(InvalidManifestError);
    expect(() => dataMigration("bad id", { up: () => undefined })).toThrow(/must look like 0001_name/);
  });
});

describe("data migrations on a MariaDB pool of one connection", () => {
  it("run on the lock connection (no second connection needed)", async () => {
    const store = await mysqlStore();
    const one = openSqlStore(`${store.url}?pool=1`);
    try {
      const m = dataMigration("0001_one", {
        up: async (db) => {
          await db.run("INSERT INTO handles (id, handle) VALUES (1, 'a')");
        },
      });
      const r = await migrate(one, [handles], { dataMigrations: [m], lockTimeoutMs: 5_000 });
      expect(r.dataApplied).toEqual(["0001_one"]);
    } finally {
      await one.close();
      await store.dispose();
    }
  });
});
