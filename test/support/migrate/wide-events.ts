/**
 * The wide tables the Cassandra migrator tests (offline and live) evolve:
 * `events` (partition user_id, clustering event_id DESC) with the regular
 * columns given, and a counter table `counts`.
 */
import type { TableSpec } from "../../../platform/storage/schema.js";
import { tablesFromProto } from "../compile-proto.js";

const header = `syntax = "proto3";\npackage demo.v1;\nimport "orbit/options/v1/options.proto";\n`;

export function wideEventTables(fields: string): TableSpec[] {
  return tablesFromProto({
    "demo/v1/events.proto":
      header +
      `message EventRow { option (orbit.options.v1.table) = { wide: { name: "events" partition_key: ["user_id"]
         clustering: { column: "event_id" order: ORDER_DESC } } }; ${fields} }
       message CountRow { option (orbit.options.v1.table) = { wide: { name: "counts" partition_key: ["user_id"] } };
         int64 user_id = 1; int64 n = 2 [(orbit.options.v1.column).counter = true]; }`,
  }) as TableSpec[];
}
