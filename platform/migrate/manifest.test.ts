/**
 * Every table of the project's manifest (gen/manifest.json: SQL tables and
 * wide tables kept on SQL, every column type in orbit/contract/v1) migrates
 * on an empty database, and a second run plans nothing.
 */
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Manifest } from "../storage/schema.js";
import { WIDE_EXPIRES_COLUMN } from "../storage/schema.js";
import { tablesFromProto } from "../../test/support/compile-proto.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { migrate, planMigration } from "./index.js";
import { introspectMysql } from "./introspect-mysql.js";
import { introspectSqlite } from "./introspect-sqlite.js";
import { detectMysqlServer } from "./mysql-server.js";

const manifest = JSON.parse(readFileSync(new URL("../../gen/manifest.json", import.meta.url), "utf8")) as Manifest;
const contract = tablesFromProto({
  "orbit/contract/v1/tables.proto": readFileSync(
    new URL("../../proto/internal/orbit/contract/v1/tables.proto", import.meta.url),
    "utf8",
  ),
});
const opts = { dataMigrations: [] as const };

describe.each(ENGINES)("the whole manifest on $name", ({ open }) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await open();
  });
  afterEach(async () => {
    await store.dispose();
  });

  const live = async () =>
    store.db.dialect === "mysql"
      ? introspectMysql(store.db, await detectMysqlServer(store.db))
      : introspectSqlite(store.db);

  it("creates every table, then plans nothing", async () => {
    const r1 = await migrate(store.db, manifest.tables, opts);
    expect(r1.applied.length).toBe(manifest.tables.length);
    const second = await planMigration(store.db, manifest.tables, opts);
    expect(second.steps).toEqual([]);
    expect(second.upToDate).toBe(true);
    const schema = await live();
    for (const t of manifest.tables) expect(schema.has(t.name), t.name).toBe(true);
  });

  it("keeps wide tables on SQL as partition + clustering key with the hidden expiry column", async () => {
    await migrate(store.db, contract, opts);
    const schema = await live();
    const timeline = schema.get("timeline")!;
    expect(timeline.primaryKey).toEqual(["owner_id", "bucket", "item_id"]);
    expect(timeline.columns.map((c) => c.name)).toContain(WIDE_EXPIRES_COLUMN);
    expect(timeline.columns.find((c) => c.name === WIDE_EXPIRES_COLUMN)!.nullable).toBe(true);
    expect(schema.get("expiring")!.indexes).toEqual([
      { name: "expiring_by_expiry", columns: [WIDE_EXPIRES_COLUMN], unique: false },
    ]);
    expect(
      schema
        .get("kitchen")!
        .indexes.map((i) => i.name)
        .sort(),
    ).toEqual(["kitchen_by_mood", "kitchen_by_owner_id_created_at_ms", "kitchen_uniq_slug"]);
    const again = await migrate(store.db, contract, opts);
    expect(again.plan.upToDate).toBe(true);
    expect(again.applied).toEqual([]);
  });

  it("leaves wide tables alone when they live on Cassandra", async () => {
    const r = await migrate(store.db, contract, { ...opts, wide: "cassandra" });
    expect(r.applied.map((s) => s.table).sort()).toEqual(["kitchen", "mix", "pairs"]);
  });
});
