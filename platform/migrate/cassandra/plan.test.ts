/**
 * The Cassandra planner against system_schema rows as Cassandra 4 reports
 * them, for wide tables shaped like the contract's
 * (orbit/contract/v1/tables.proto): mixed clustering order, a TTL, counters.
 */
import { describe, expect, it } from "vitest";
import { createTableCql } from "../../storage/cassandra/cql.js";
import type { TableSpec, WideTableSpec } from "../../storage/schema.js";
import { tablesFromProto } from "../../../test/support/compile-proto.js";
import { DestructiveChangeError, UnsupportedChangeError } from "../errors.js";
import { liveFromSystemSchema, type SystemColumnRow, type SystemTableRow } from "./introspect.js";
import { planCassandraMigration } from "./migrate.js";
import { planCassandraTable } from "./plan.js";
import type { CqlSession } from "./session.js";

const KS = "orbit";
const PROTO = `syntax = "proto3";
package demo.v1;
import "orbit/options/v1/options.proto";
message TimelineRow {
  option (orbit.options.v1.table) = { wide: { name: "timeline" partition_key: ["owner_id"]
    clustering: { column: "bucket" order: ORDER_ASC }
    clustering: { column: "item_id" order: ORDER_DESC } } };
  int64 owner_id = 1;
  int32 bucket = 2;
  int64 item_id = 3;
  string body = 4;
  bytes payload = 5;
  optional string note = 6;
  uint64 big = 7;
}
message ExpiringRow {
  option (orbit.options.v1.table) = { wide: { name: "expiring" partition_key: ["key"]
    clustering: { column: "seq" } default_ttl_seconds: 3600 } };
  string key = 1;
  int64 seq = 2;
  string value = 3;
}
message TallyRow {
  option (orbit.options.v1.table) = { wide: { name: "tallies" partition_key: ["owner_id"] clustering: { column: "name" } } };
  int64 owner_id = 1;
  string name = 2;
  int64 hits = 3 [(orbit.options.v1.column).counter = true];
  int64 misses = 4 [(orbit.options.v1.column).counter = true];
}
`;
const wide = (text: string): WideTableSpec[] =>
  tablesFromProto({ "demo/v1/wide.proto": text }).filter((t): t is WideTableSpec => t.kind === "wide");
const contract = wide(PROTO);
const spec = (specs: WideTableSpec[], name: string) => specs.find((t) => t.name === name)!;

// What `SELECT … FROM system_schema.tables/columns WHERE keyspace_name = 'orbit'` returns.
const TABLES: SystemTableRow[] = [
  { table_name: "timeline", default_time_to_live: 0 },
  { table_name: "expiring", default_time_to_live: 3600 },
  { table_name: "tallies", default_time_to_live: 0 },
];
const col = (
  table_name: string,
  column_name: string,
  kind: string,
  position: number,
  type: string,
  clustering_order = "none",
): SystemColumnRow => ({
  table_name,
  column_name,
  kind,
  position,
  type,
  clustering_order,
});
const COLUMNS: SystemColumnRow[] = [
  col("timeline", "owner_id", "partition_key", 0, "bigint"),
  col("timeline", "bucket", "clustering", 0, "int", "asc"),
  col("timeline", "item_id", "clustering", 1, "bigint", "desc"),
  col("timeline", "body", "regular", -1, "text"),
  col("timeline", "payload", "regular", -1, "blob"),
  col("timeline", "note", "regular", -1, "text"),
  col("timeline", "big", "regular", -1, "varint"),
  col("expiring", "key", "partition_key", 0, "varchar"),
  col("expiring", "seq", "clustering", 0, "bigint", "asc"),
  col("expiring", "value", "regular", -1, "text"),
  col("tallies", "owner_id", "partition_key", 0, "bigint"),
  col("tallies", "name", "clustering", 0, "text", "asc"),
  col("tallies", "hits", "regular", -1, "counter"),
  col("tallies", "misses", "regular", -1, "counter"),
];
const live = liveFromSystemSchema(TABLES, COLUMNS);
const plan = (specs: WideTableSpec[], name: string, l = live) => planCassandraTable(spec(specs, name), l.get(name), KS);

/** A session that answers the two system_schema queries from fixture rows. */
function fixtureSession(tables: SystemTableRow[], columns: SystemColumnRow[]): CqlSession {
  return {
    url: "cassandra://fixture/orbit",
    async execute(cql) {
      if (cql.includes("system_schema.tables")) return { rows: tables as never, applied: true };
      if (cql.includes("system_schema.columns")) return { rows: columns as never, applied: true };
      throw new Error(`the fixture session cannot run: ${cql}`);
    },
    schemaAgreement: async () => true,
  };
}

describe("Cassandra planner from system_schema rows", () => {
  it("reads keys, clustering order, TTL and normalised types", () => {
    expect(live.get("timeline")).toMatchObject({
      partitionKey: ["owner_id"],
      clustering: [
        { column: "bucket", order: "asc" },
        { column: "item_id", order: "desc" },
      ],
      defaultTtlSeconds: 0,
    });
    expect(live.get("expiring")!.columns.get("key")).toBe("text");
  });

  it("plans nothing for an unchanged schema", async () => {
    for (const t of contract) expect(plan(contract, t.name).steps, t.name).toEqual([]);
    const p = await planCassandraMigration(fixtureSession(TABLES, COLUMNS), KS, contract as TableSpec[]);
    expect(p.steps).toEqual([]);
    expect([...p.unrecorded].sort()).toEqual(["expiring", "tallies", "timeline"]);
  });

  it("creates a missing table with the shared CQL builder", () => {
    const p = planCassandraTable(spec(contract, "timeline"), undefined, KS);
    expect(p.steps.map((s) => s.statements[0]!.sql)).toEqual([createTableCql(spec(contract, "timeline"), KS)]);
  });

  it("adds a new field as a column", () => {
    const next = wide(PROTO.replace("uint64 big = 7;", "uint64 big = 7;\n  string extra = 8;"));
    expect(plan(next, "timeline").steps.map((s) => [s.statements[0]!.sql, s.losses.length])).toEqual([
      ["ALTER TABLE orbit.timeline ADD extra text", 0],
    ]);
  });

  it("refuses to drop a removed field unless allowed, naming the column", async () => {
    const next = wide(PROTO.replace("bytes payload = 5;", ""));
    const p = plan(next, "timeline");
    expect(p.steps.map((s) => s.statements[0]!.sql)).toEqual(["ALTER TABLE orbit.timeline DROP payload"]);
    const full = await planCassandraMigration(fixtureSession(TABLES, COLUMNS), KS, next as TableSpec[]);
    expect(full.blocked).toBeInstanceOf(DestructiveChangeError);
    expect(full.blocked!.message).toMatch(
      /table timeline: drop column timeline\.payload \(blob\): every value of payload would be lost/,
    );
    const allowed = await planCassandraMigration(fixtureSession(TABLES, COLUMNS), KS, next as TableSpec[], {
      allowDestructive: true,
    });
    expect(allowed.blocked).toBeUndefined();
  });

  it("refuses a type change always: Cassandra cannot make it", async () => {
    const next = wide(PROTO.replace("int32 bucket = 2;", "int64 bucket = 2;"));
    expect(plan(next, "timeline").unsupported).toEqual([
      "orbit.timeline.bucket: Cassandra cannot change a column's type (int → bigint); add a new field instead",
    ]);
    const full = await planCassandraMigration(fixtureSession(TABLES, COLUMNS), KS, next as TableSpec[], {
      allowDestructive: true,
    });
    expect(full.blocked).toBeInstanceOf(UnsupportedChangeError);
  });

  it("re-creates the table for a clustering change, losing every row", () => {
    const next = wide(PROTO.replace('column: "item_id" order: ORDER_DESC', 'column: "item_id" order: ORDER_ASC'));
    const p = plan(next, "timeline");
    expect(p.steps.map((s) => s.id)).toEqual(["recreate_table:timeline"]);
    expect(p.steps[0]!.statements.map((s) => s.sql)).toEqual([
      "DROP TABLE IF EXISTS orbit.timeline",
      createTableCql(spec(next, "timeline"), KS),
    ]);
    expect(p.steps[0]!.losses[0]!.loses).toMatch(/every row is lost/);
    expect(p.steps[0]!.losses[0]!.summary).toBe(
      "change the primary key of timeline from (owner_id), bucket asc, item_id desc to (owner_id), bucket asc, item_id asc",
    );
  });

  it("changes the default TTL in place", () => {
    const next = wide(PROTO.replace("default_ttl_seconds: 3600", "default_ttl_seconds: 60"));
    expect(plan(next, "expiring").steps.map((s) => s.statements[0]!.sql)).toEqual([
      "ALTER TABLE orbit.expiring WITH default_time_to_live = 60",
    ]);
  });

  it("renames a key column in place, and a regular one only by add + destructive drop", () => {
    const keyRename = wide(
      PROTO.replace(
        "int64 item_id = 3;",
        'int64 entry_id = 3 [(orbit.options.v1.column).renamed_from = "item_id"];',
      ).replace('column: "item_id"', 'column: "entry_id"'),
    );
    expect(plan(keyRename, "timeline").steps.map((s) => [s.statements[0]!.sql, s.losses.length])).toEqual([
      ["ALTER TABLE orbit.timeline RENAME item_id TO entry_id", 0],
    ]);
    const regular = wide(
      PROTO.replace("string body = 4;", 'string text = 4 [(orbit.options.v1.column).renamed_from = "body"];'),
    );
    const p = plan(regular, "timeline");
    expect(p.steps.map((s) => [s.statements[0]!.sql, s.losses.length])).toEqual([
      ["ALTER TABLE orbit.timeline ADD text text", 0],
      ["ALTER TABLE orbit.timeline DROP body", 1],
    ]);
    expect(p.steps[1]!.losses[0]!.loses).toMatch(/cannot rename a regular column: text is added empty/);
  });
});
