import { describe, expect, it } from "vitest";
import { tablesFromProto } from "../../test/support/compile-proto.js";

const header = `syntax = "proto3";\npackage demo.v1;\nimport "orbit/options/v1/options.proto";\n`;

describe("tableSpecOf", () => {
  it("maps fields to columns with types per engine, keys, indexes and defaults", () => {
    const [t] = tablesFromProto({
      "demo/v1/t.proto":
        header +
        `message ThingRow {
          option (orbit.options.v1.table) = { sql: { name: "things" primary_key: ["id"]
            index: { columns: ["owner_id", "id"] } unique_index: { columns: ["slug"] } } };
          int64 id = 1; int64 owner_id = 2; string slug = 3; string body = 4;
          optional string note = 5; bytes data = 6; bool on = 7; uint64 big = 8;
          repeated int64 refs = 9; string title = 10 [(orbit.options.v1.column) = { sql_type: "varchar(80)" renamed_from: ["name"] }];
        }`,
    });
    expect(t!.kind).toBe("sql");
    expect(t!.name).toBe("things");
    expect(t!.primaryKey).toEqual(["id"]);
    expect(t!.indexes).toEqual([
      { name: "things_uniq_slug", columns: ["slug"], unique: true },
      { name: "things_by_owner_id_id", columns: ["owner_id", "id"], unique: false },
    ]);
    const col = (n: string) => t!.columns.find((c) => c.name === n)!;
    expect(col("id")).toMatchObject({
      encoding: "bigint",
      sqlite: "INTEGER",
      mysql: "BIGINT",
      cql: "bigint",
      nullable: false,
      default: "0",
    });
    expect(col("slug")).toMatchObject({ encoding: "string", mysql: "VARCHAR(255)" });
    expect(col("body")).toMatchObject({ encoding: "string", mysql: "TEXT", default: "''" });
    expect(col("note")).toMatchObject({ nullable: true });
    expect(col("note").default).toBeUndefined();
    expect(col("data")).toMatchObject({ encoding: "bytes", sqlite: "BLOB", mysql: "LONGBLOB" });
    expect(col("on")).toMatchObject({ encoding: "bool", mysql: "TINYINT(1)" });
    expect(col("big")).toMatchObject({ encoding: "bigint", mysql: "BIGINT UNSIGNED", cql: "varint", unsigned: true });
    expect(col("refs")).toMatchObject({ encoding: "proto", repeated: true, mysql: "LONGBLOB" });
    expect(col("title")).toMatchObject({ mysql: "VARCHAR(80)", sqlite: "TEXT", renamedFrom: ["name"], field: "title" });
    expect(col("owner_id").field).toBe("ownerId");
  });

  it("builds wide tables with partition key, clustering order and TTL", () => {
    const [t] = tablesFromProto({
      "demo/v1/w.proto":
        header +
        `message FeedRow {
          option (orbit.options.v1.table) = { wide: { name: "feed" partition_key: ["user_id"]
            clustering: { column: "post_id" order: ORDER_DESC } default_ttl_seconds: 60 } };
          int64 user_id = 1; int64 post_id = 2; string body = 3;
        }`,
    });
    expect(t).toMatchObject({
      kind: "wide",
      name: "feed",
      partitionKey: ["user_id"],
      clustering: [{ column: "post_id", order: "desc" }],
      primaryKey: ["user_id", "post_id"],
      defaultTtlSeconds: 60,
    });
  });

  it.each([
    [
      "a primary key naming a missing field",
      `sql: { primary_key: ["nope"] }`,
      "int64 id = 1;",
      /primary_key names "nope"/,
    ],
    ["a sql table without primary key", `sql: { name: "x" }`, "int64 id = 1;", /needs a primary_key/],
    ["a wide table without partition key", `wide: { name: "x" }`, "int64 id = 1;", /needs a partition_key/],
    ["a nullable key", `sql: { primary_key: ["id"] }`, "optional int64 id = 1;", /cannot be nullable/],
    ["a message-typed key", `sql: { primary_key: ["id"] }`, "repeated int64 id = 1;", /cannot be key/],
    [
      "counters mixed with plain columns in a wide table",
      `wide: { partition_key: ["id"] }`,
      "int64 id = 1; int64 n = 2 [(orbit.options.v1.column).counter = true]; string s = 3;",
      /only key and counter columns/,
    ],
    [
      "a non-int64 counter",
      `sql: { primary_key: ["id"] }`,
      "int64 id = 1; int32 n = 2 [(orbit.options.v1.column).counter = true];",
      /must be int64/,
    ],
    [
      "a bad sql_type",
      `sql: { primary_key: ["id"] }`,
      `int64 id = 1; string s = 2 [(orbit.options.v1.column).sql_type = "text; drop table x"];`,
      /not a plain SQL type/,
    ],
  ])("rejects %s with a clear message", (_what, opt, fields, msg) => {
    expect(() =>
      tablesFromProto({
        "demo/v1/bad.proto": header + `message BadRow { option (orbit.options.v1.table) = { ${opt} }; ${fields} }`,
      }),
    ).toThrow(msg);
  });

  it("defaults the table name to the message name in snake_case", () => {
    const [t] = tablesFromProto({
      "demo/v1/n.proto":
        header +
        `message UserProfileRow { option (orbit.options.v1.table) = { sql: { primary_key: ["id"] } }; int64 id = 1; }`,
    });
    expect(t!.name).toBe("user_profile_row");
  });
});
