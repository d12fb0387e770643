import { describe, expect, it } from "vitest";
import { compileProto } from "../../test/support/compile-proto.js";
import { plugin } from "./main.js";

const header = `syntax = "proto3";\npackage demo.v1;\nimport "orbit/options/v1/options.proto";\n`;

function generate(sources: Record<string, string>): Map<string, string> {
  const res = plugin.run(compileProto(sources).request);
  if (res.error) throw new Error(res.error);
  return new Map(res.file.map((f) => [f.name, joinPieces(f.content)]));
}

/**
 * Long statements are emitted as `'piece' + 'piece'` (emit-text.test.ts
 * checks the cut); the assertions here read each statement whole.
 */
function joinPieces(ts: string): string {
  return ts.replace(/' \+ '/g, "");
}

const events =
  header +
  `// EventRow is one event of a stream.
  message EventRow {
    option (orbit.options.v1.table) = { wide: { name: "events" partition_key: ["tenant", "stream"]
      clustering: { column: "day" order: ORDER_ASC } clustering: { column: "seq" order: ORDER_DESC }
      clustering: { column: "token" } default_ttl_seconds: 86400 } };
    string tenant = 1; int64 stream = 2; int32 day = 3; int64 seq = 4; string token = 5;
    bytes data = 6; optional string note = 7; uint64 big = 8; uint32 small = 9;
  }
  message HitsRow {
    option (orbit.options.v1.table) = { wide: { name: "hits" partition_key: ["page_id"] } };
    int64 page_id = 1;
    int64 views = 2 [(orbit.options.v1.column).counter = true];
    int64 clicks = 3 [(orbit.options.v1.column).counter = true];
  }
  message SqlOnlyRow { option (orbit.options.v1.table) = { sql: { primary_key: ["id"] } }; int64 id = 1; }`;

describe("Cassandra walker", () => {
  it("writes <file>_wide.ts and <file>.cql only for files with wide tables", () => {
    const out = generate({
      "demo/v1/events.proto": events,
      "demo/v1/sql.proto":
        header +
        `message OnlySqlRow { option (orbit.options.v1.table) = { sql: { primary_key: ["id"] } }; int64 id = 1; }`,
      "demo/v1/plain.proto": `syntax = "proto3";\npackage demo.v1;\nmessage Plain { string x = 1; }`,
    });
    expect([...out.keys()].sort()).toEqual(["demo/v1/events.cql", "demo/v1/events_wide.ts"]);
  });

  it("emits the TableSpec, key types and a typed DAO per wide table", () => {
    const ts = generate({ "demo/v1/events.proto": events }).get("demo/v1/events_wide.ts")!;
    expect(ts).toContain('import type { EventRow, HitsRow } from "./events_pb.js";');
    expect(ts).toContain('import { EventRowSchema, HitsRowSchema } from "./events_pb.js";');
    expect(ts).toContain('from "../../../platform/storage/wide/index.js";');
    expect(ts).toContain("export const EventRowTable: WideTableSpec = {");
    expect(ts).toContain(
      '  clustering: [\n    { column: "day", order: "asc" },\n    { column: "seq", order: "desc" },\n    { column: "token", order: "asc" },\n  ],',
    );
    expect(ts).toContain('    column("stream", "stream", "bigint", "INTEGER", "BIGINT", "bigint", { default: "0" }),');
    expect(ts).not.toContain("SqlOnlyRow");
    expect(ts).toContain('export type EventRowKey = Pick<EventRow, "tenant" | "stream" | "day" | "seq" | "token">;');
    expect(ts).toContain('export type EventRowPartitionKey = Pick<EventRow, "tenant" | "stream">;');
    expect(ts).toContain(
      'export type EventRowClusteringPrefix = Pick<EventRow, "day"> & Partial<Pick<EventRow, "seq" | "token">>;',
    );
    expect(ts).toContain(
      'export type EventRowInit = WideRowInit<EventRow, "tenant" | "stream" | "day" | "seq" | "token">;',
    );
    // The message's proto comment and where it comes from, in the DAO's JSDoc.
    expect(ts).toContain(
      " * EventRow is one event of a stream.\n *\n * Typed access to the wide table events on any WideStore: " +
        "CassandraWideStore, or SqlWideStore on SQLite/MySQL.\n *\n" +
        " * @generated from message demo.v1.EventRow (demo/v1/events.proto)\n */\nexport class EventRowDao {",
    );
    for (const m of [
      "constructor(store: WideStore) {",
      "put(row: EventRowInit, opts?: WidePutOptions): Promise<void> {",
      "putMany(rows: readonly EventRowInit[], opts?: WidePutOptions): Promise<void> {",
      "get(key: EventRowKey, opts?: WideReadOptions): Promise<EventRow | undefined> {",
      "scan(partition: EventRowPartitionKey, opts?: WideScanOptions<EventRowClusteringPrefix>): Promise<WideScanPage<EventRow>> {",
      "delete(key: EventRowKey, opts?: WideWriteOptions): Promise<void> {",
      "deletePartition(partition: EventRowPartitionKey, opts?: WideWriteOptions): Promise<void> {",
    ]) {
      expect(ts).toContain(m);
    }
    expect(ts).toContain("TTL: opts.ttlSeconds (0 = never expires), else the table default (86400 s).");
    // A counter table: increment instead of put, no clustering prefix.
    const hits = ts.slice(ts.indexOf("// ── HitsRow"));
    expect(hits).toContain("export type HitsRowDelta = {\n  views?: bigint | number;\n  clicks?: bigint | number;\n};");
    expect(hits).toContain("export type HitsRowClusteringPrefix = never;");
    expect(hits).toContain("increment(key: HitsRowKey, delta: HitsRowDelta, opts?: WideWriteOptions): Promise<void> {");
    expect(hits).not.toContain("put(");
    expect(ts).toContain("export const wideTables: readonly WideTableSpec[] = [EventRowTable, HitsRowTable];");
  });

  it("spells out the CQL of every statement as constants", () => {
    const ts = generate({ "demo/v1/events.proto": events }).get("demo/v1/events_wide.ts")!;
    const cols = 'tenant, stream, day, seq, "token", data, note, big, small';
    expect(ts).toContain(
      "  createTable: `CREATE TABLE IF NOT EXISTS events (\n" +
        '  tenant text,\n  stream bigint,\n  day int,\n  seq bigint,\n  "token" text,\n  data blob,\n' +
        "  note text,\n  big varint,\n  small bigint,\n" +
        '  PRIMARY KEY ((tenant, stream), day, seq, "token")\n' +
        ') WITH CLUSTERING ORDER BY (day ASC, seq DESC, "token" ASC)\n' +
        "  AND default_time_to_live = 86400`,",
    );
    expect(ts).toContain(`  insert: 'INSERT INTO events (${cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?',`);
    expect(ts).toContain(
      `  selectByKey: 'SELECT ${cols} FROM events WHERE tenant = ? AND stream = ? AND day = ? AND seq = ? AND "token" = ?',`,
    );
    expect(ts).toContain(`  scanPartition: 'SELECT ${cols} FROM events WHERE tenant = ? AND stream = ?',`);
    expect(ts).toContain(
      `  scanRange: 'SELECT ${cols} FROM events WHERE tenant = ? AND stream = ? AND (day, seq, "token") >= (?, ?, ?) AND (day, seq, "token") <= (?, ?, ?)',`,
    );
    expect(ts).toContain(
      `  deleteRow: 'DELETE FROM events WHERE tenant = ? AND stream = ? AND day = ? AND seq = ? AND "token" = ?',`,
    );
    expect(ts).toContain(`  deletePartition: 'DELETE FROM events WHERE tenant = ? AND stream = ?',`);
    expect(ts).toContain("  increment: 'UPDATE hits SET views = views + ?, clicks = clicks + ? WHERE page_id = ?',");
    expect(ts).toContain("   * CQL: UPDATE hits SET views = views + ?, clicks = clicks + ? WHERE page_id = ?");
    const hitsCql = ts.slice(
      ts.indexOf("export const HitsRowCql"),
      ts.indexOf("} as const;", ts.indexOf("export const HitsRowCql")),
    );
    expect(hitsCql).not.toContain("insert:");
    expect(hitsCql).not.toContain("scanRange:");
  });

  it("writes the DDL of the file's wide tables to <file>.cql", () => {
    const cql = generate({ "demo/v1/events.proto": events }).get("demo/v1/events.cql")!;
    expect(cql).toBe(
      "-- Generated by the Orbit Cassandra walker (generators/cassandra-walker) from demo/v1/events.proto. DO NOT EDIT.\n" +
        "-- The wide tables of demo/v1/events.proto, to apply in the service's keyspace.\n\n" +
        "-- demo.v1.EventRow\n" +
        "CREATE TABLE IF NOT EXISTS events (\n  tenant text,\n  stream bigint,\n  day int,\n  seq bigint,\n" +
        '  "token" text,\n  data blob,\n  note text,\n  big varint,\n  small bigint,\n' +
        '  PRIMARY KEY ((tenant, stream), day, seq, "token")\n' +
        ') WITH CLUSTERING ORDER BY (day ASC, seq DESC, "token" ASC)\n  AND default_time_to_live = 86400;\n\n' +
        "-- demo.v1.HitsRow\n" +
        "CREATE TABLE IF NOT EXISTS hits (\n  page_id bigint,\n  views counter,\n  clicks counter,\n  PRIMARY KEY ((page_id))\n);\n",
    );
  });

  it("fails generation with a message naming the message and the problem", () => {
    expect(() =>
      generate({
        "demo/v1/bad.proto":
          header +
          `message BadRow { option (orbit.options.v1.table) = { wide: { partition_key: ["id"] clustering: { column: "nope" } } };
            int64 id = 1; }`,
      }),
    ).toThrow(/demo\/v1\/bad\.proto: demo\.v1\.BadRow: clustering names "nope", which is not a field of BadRow/);
    expect(() =>
      generate({
        "demo/v1/bad.proto":
          header +
          `message CounterTtlRow { option (orbit.options.v1.table) = { wide: { partition_key: ["id"] default_ttl_seconds: 5 } };
            int64 id = 1; int64 n = 2 [(orbit.options.v1.column).counter = true]; }`,
      }),
    ).toThrow(/counter tables cannot have a TTL/);
  });
});
