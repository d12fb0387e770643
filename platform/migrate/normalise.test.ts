/**
 * Tables made by hand, spelled the way people and servers spell them
 * (bigint(20), INTEGER, BOOLEAN, DOUBLE PRECISION, '0' for 0, DEFAULT (0),
 * a latin1 default charset), match the manifest: the plan is empty.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tablesFromProto } from "../../test/support/compile-proto.js";
import { mysqlStore, sqliteStore, type TestStore } from "../../test/support/stores.js";
import { migrate, planMigration } from "./index.js";

const things = tablesFromProto({
  "demo/v1/things.proto": `syntax = "proto3";
    package demo.v1;
    import "orbit/options/v1/options.proto";
    message ThingRow {
      option (orbit.options.v1.table) = { sql: { name: "things" primary_key: ["id"]
        index: { columns: ["owner_id", "id"] } unique_index: { columns: ["slug"] } } };
      int64 id = 1; int64 owner_id = 2; string slug = 3; string title = 4; bool flag = 5;
      int32 small = 6; double ratio = 7; optional string note = 8; uint32 u = 9; bytes data = 10;
      int32 stars = 11 [(orbit.options.v1.column).default = "7"];
      string tag = 12 [(orbit.options.v1.column) = { sql_type: "varchar(40)" default: "'it''s'" }];
    }`,
});
const opts = { dataMigrations: [] as const };

describe("hand-made tables with other spellings plan nothing", () => {
  let store: TestStore;
  afterEach(async () => {
    await store.dispose();
  });

  describe("MariaDB", () => {
    beforeEach(async () => {
      store = await mysqlStore();
    });
    it("matches bigint(20), INTEGER, BOOLEAN, DOUBLE PRECISION, quoted numbers", async () => {
      await store.db.exec(`CREATE TABLE things (
        id BIGINT(20) NOT NULL DEFAULT '0', owner_id bigint NOT NULL DEFAULT 0,
        slug varchar(255) NOT NULL DEFAULT '', title TEXT NOT NULL DEFAULT '', flag BOOLEAN NOT NULL DEFAULT FALSE,
        small INTEGER NOT NULL DEFAULT 0, ratio DOUBLE PRECISION NOT NULL DEFAULT 0.0, note TEXT DEFAULT NULL,
        u INT(10) UNSIGNED NOT NULL DEFAULT 0, data LONGBLOB NOT NULL DEFAULT '', stars int(11) NOT NULL DEFAULT '7',
        tag VARCHAR(40) NOT NULL DEFAULT 'it''s',
        PRIMARY KEY (id), UNIQUE KEY things_uniq_slug (slug), KEY things_by_owner_id_id (owner_id, id)
      ) DEFAULT CHARSET=latin1`);
      const plan = await planMigration(store.db, things, opts);
      expect(plan.steps).toEqual([]);
      expect(plan.unrecorded).toEqual(["things"]);
      // The first run only records the table's state; then nothing at all.
      const r = await migrate(store.db, things, opts);
      expect(r.applied).toEqual([]);
      expect((await planMigration(store.db, things, opts)).upToDate).toBe(true);
    });
  });

  describe("SQLite", () => {
    beforeEach(() => {
      store = sqliteStore();
    });
    it("matches BIGINT, int, VARCHAR, DOUBLE, DEFAULT (0)", async () => {
      await store.db.exec(`CREATE TABLE things (
        id BIGINT NOT NULL DEFAULT (0), owner_id int NOT NULL DEFAULT 0, slug VARCHAR(255) NOT NULL DEFAULT '',
        title text NOT NULL DEFAULT '', flag TINYINT NOT NULL DEFAULT 0, small INT NOT NULL DEFAULT '0',
        ratio DOUBLE NOT NULL DEFAULT 0.0, note TEXT, u INTEGER NOT NULL DEFAULT 0, data BLOB NOT NULL DEFAULT '',
        stars INTEGER NOT NULL DEFAULT 7, tag VARCHAR(40) NOT NULL DEFAULT 'it''s', PRIMARY KEY (id))`);
      await store.db.exec(`CREATE UNIQUE INDEX things_uniq_slug ON things (slug)`);
      await store.db.exec(`CREATE INDEX things_by_owner_id_id ON things (owner_id, id)`);
      const plan = await planMigration(store.db, things, opts);
      expect(plan.steps).toEqual([]);
      await migrate(store.db, things, opts);
      expect((await planMigration(store.db, things, opts)).upToDate).toBe(true);
    });
  });
});
