import { describe, expect, it } from "vitest";
import { tablesFromProto } from "../../test/support/compile-proto.js";

const header = `syntax = "proto3";\npackage demo.v1;\nimport "orbit/options/v1/options.proto";\n`;
const col = (opts: string) => `[(orbit.options.v1.column) = { ${opts} }]`;

/** One SQL table `BadRow` (primary key id) in demo/v1/bad.proto with `fields` after `int64 id = 1;`. */
function row(fields: string, table = `sql: { primary_key: ["id"] }`, extra = ""): Record<string, string> {
  return {
    "demo/v1/bad.proto":
      header +
      `enum Kind { KIND_UNSPECIFIED = 0; KIND_A = 1; KIND_B = 5; }\n` +
      `message BadRow { option (orbit.options.v1.table) = { ${table} }; int64 id = 1; ${fields} }\n${extra}`,
  };
}

function accepts(fields: string, table?: string) {
  return tablesFromProto(row(fields, table))[0]!;
}

describe("sql_type must fit the field's proto type", () => {
  it.each([
    ["string", "varchar(10)", "VARCHAR(10)", "TEXT"],
    ["string", "tinytext", "TINYTEXT", "TEXT"],
    ["string", "mediumtext", "MEDIUMTEXT", "TEXT"],
    ["string", "longtext", "LONGTEXT", "TEXT"],
    ["bytes", "varbinary(32)", "VARBINARY(32)", "BLOB"],
    ["bytes", "blob", "BLOB", "BLOB"],
    ["int32", "int", "INT", "INTEGER"],
    ["int32", "bigint", "BIGINT", "INTEGER"],
    ["uint32", "int unsigned", "INT UNSIGNED", "INTEGER"],
    ["uint32", "bigint", "BIGINT", "INTEGER"],
    ["int64", "bigint", "BIGINT", "INTEGER"],
    ["uint64", "bigint unsigned", "BIGINT UNSIGNED", "INTEGER"],
    ["double", "double", "DOUBLE", "REAL"],
    ["double", "real", "REAL", "REAL"],
    ["float", "double", "DOUBLE", "REAL"],
    ["bool", "tinyint(1)", "TINYINT(1)", "INTEGER"],
    ["bool", "boolean", "BOOLEAN", "INTEGER"],
    ["Kind", "bigint", "BIGINT", "INTEGER"],
    ["repeated string", "text", "TEXT", "TEXT"],
  ])("accepts %s as %s", (type, sqlType, mysql, sqlite) => {
    const t = accepts(
      `${type} v = 2 ${col(`sql_type: "${sqlType}"${type === "repeated string" ? " json: true" : ""}`)};`,
    );
    expect(t.columns[1]).toMatchObject({ mysql, sqlite });
  });

  it.each([
    [
      "string",
      "int",
      /demo\/v1\/bad\.proto: demo\.v1\.BadRow\.v: sql_type "int" does not fit a string field \(use varchar\(n\), tinytext/,
    ],
    ["string", "varchar", /sql_type "varchar" needs a length in 1\.\.16383/],
    ["string", "varchar(20000)", /needs a length in 1\.\.16383/],
    ["string", "char(8)", /CHAR, which drops trailing spaces on MySQL\/MariaDB but not on SQLite \(use varchar\(n\)/],
    ["string", "blob", /does not fit a string field/],
    ["string", "varchar(10) unsigned", /does not fit a string field/],
    ["string", "datetime", /does not fit a string field/],
    ["int64", "varchar(10)", /BadRow\.v: sql_type "varchar\(10\)" does not fit an int64 field \(use bigint\)/],
    ["int64", "int", /sql_type "int" cannot hold every int64 value \(use bigint\)/],
    ["int32", "smallint", /cannot hold every int32 value \(use int or bigint\)/],
    ["int32", "int unsigned", /cannot hold every int32 value/],
    ["uint32", "int", /cannot hold every uint32 value \(use int unsigned, bigint or bigint unsigned\)/],
    ["uint64", "bigint", /cannot hold every uint64 value \(use bigint unsigned\)/],
    ["bytes", "int", /sql_type "int" does not fit a bytes field \(use varbinary\(n\), tinyblob/],
    ["bytes", "text", /does not fit a bytes field/],
    ["bytes", "binary(16)", /BINARY, which pads short values with zero bytes/],
    ["bool", "text", /sql_type "text" does not fit a bool field \(use tinyint\(1\) or boolean\)/],
    ["bool", "int", /does not fit a bool field/],
    ["double", "float", /cannot hold every double value \(use double\)/],
    ["double", "decimal(10,2)", /cannot hold every double value/],
    ["double", "varchar(10)", /does not fit a double field/],
    ["Kind", "tinyint", /cannot hold every enum demo\.v1\.Kind value \(use int or bigint\)/],
    ["Kind", "varchar(10)", /does not fit an enum demo\.v1\.Kind field/],
    ["repeated int64", "text", /does not fit a repeated int64 field \(use varbinary\(n\), tinyblob/],
  ])("refuses %s as %s", (type, sqlType, msg) => {
    expect(() => accepts(`${type} v = 2 ${col(`sql_type: "${sqlType}"`)};`)).toThrow(msg);
  });

  it("refuses TEXT and BLOB types in keys and indexes, which MySQL cannot index without a prefix", () => {
    expect(() =>
      accepts(`string v = 2 ${col(`sql_type: "text"`)};`, `sql: { primary_key: ["id"] index: { columns: ["v"] } }`),
    ).toThrow(
      /BadRow\.v: sql_type "text" cannot be a key or index column: MySQL\/MariaDB cannot index TEXT without a prefix \(use varchar\(n\)\)/,
    );
    expect(() => accepts(`bytes v = 2 ${col(`sql_type: "blob"`)};`, `sql: { primary_key: ["id", "v"] }`)).toThrow(
      /cannot index BLOB without a prefix \(use varbinary\(n\)\)/,
    );
  });

  it("refuses keys wider than InnoDB's 3072 bytes", () => {
    expect(() =>
      accepts(
        `string v = 2 ${col(`sql_type: "varchar(800)"`)};`,
        `sql: { primary_key: ["id"] unique_index: { columns: ["v"] } }`,
      ),
    ).toThrow(
      /BadRow: index bad_row_uniq_v takes 3200 bytes on MySQL\/MariaDB \(v VARCHAR\(800\) 3200;.*more than InnoDB's 3072/,
    );
    expect(() =>
      accepts(
        `string a = 2; string b = 3; string c = 4; string d = 5;`,
        `sql: { primary_key: ["id"] index: { columns: ["a", "b", "c", "d"] } }`,
      ),
    ).toThrow(/index bad_row_by_a_b_c_d takes 4080 bytes/);
    expect(() =>
      accepts(`string a = 2; string b = 3;`, `wide: { partition_key: ["a"] clustering: { column: "b" } }`),
    ).not.toThrow();
    expect(
      accepts(`string a = 2; string b = 3; string c = 4;`, `sql: { primary_key: ["a", "b", "c"] }`).primaryKey,
    ).toEqual(["a", "b", "c"]);
  });
});

describe("default must be a literal of the field's type", () => {
  it.each([
    ["int32", "7"],
    ["int32", "-2147483648"],
    ["uint64", "18446744073709551615"],
    ["bool", "TRUE"],
    ["bool", "0"],
    ["double", "1.5e3"],
    ["string", "'it''s'"],
    ["bytes", "X'00ff'"],
    ["bytes", "''"],
    ["Kind", "5"],
    ["optional string", "NULL"],
  ])("accepts %s with default %s", (type, def) => {
    const t = accepts(`${type} v = 2 ${col(`default: "${def}"`)};`);
    expect(t.columns[1]!.default).toBe(def);
  });

  it("accepts a string default as long as its varchar", () => {
    expect(accepts(`string v = 2 ${col(`sql_type: "varchar(3)" default: "'héé'"`)};`).columns[1]!.default).toBe(
      "'héé'",
    );
  });

  it.each([
    ["int32", "'abc'", /BadRow\.v: default "'abc'" does not fit an int32 field \(use an integer such as 7\)/],
    ["int32", "1.5", /does not fit an int32 field/],
    ["int32", "2147483648", /default "2147483648" is out of range for an int32 field \(-2147483648\.\.2147483647\)/],
    ["uint32", "-1", /out of range for a uint32 field/],
    ["int64", "9223372036854775808", /out of range for an int64 field/],
    ["bool", "maybe", /BadRow\.v: default "maybe" does not fit a bool field \(use TRUE, FALSE, 1 or 0\)/],
    ["bool", "2", /does not fit a bool field/],
    ["double", "'x'", /does not fit a double field \(use a number such as 1\.5\)/],
    ["float", "1e39", /out of range for a FLOAT column/],
    ["string", "abc", /default "abc" does not fit a string field \(use a quoted SQL string such as 'abc'/],
    ["string", "0", /does not fit a string field/],
    ["string", "'unterminated", /does not fit a string field/],
    ["bytes", "'abc'", /does not fit a bytes field \(use X'hex'/],
    ["bytes", "X'0'", /does not fit a bytes field/],
    [
      "Kind",
      "3",
      /default "3" is not a value of enum demo\.v1\.Kind \(use one of 0 \(KIND_UNSPECIFIED\), 1 \(KIND_A\), 5 \(KIND_B\)\)/,
    ],
    ["Kind", "'KIND_A'", /does not fit enum demo\.v1\.Kind/],
    ["string", "NULL", /default "NULL" on a NOT NULL column \(make the field `optional` to allow NULL\)/],
    ["repeated int64", "''", /on a repeated int64 field: defaults are for scalar and enum columns only/],
  ])("refuses %s with default %s", (type, def, msg) => {
    expect(() => accepts(`${type} v = 2 ${col(`default: "${def}"`)};`)).toThrow(msg);
  });

  it("refuses a string default longer than its column", () => {
    expect(() => accepts(`string v = 2 ${col(`sql_type: "varchar(3)" default: "'abcd'"`)};`)).toThrow(
      /BadRow\.v: default "'abcd'" is 4 characters, longer than its VARCHAR\(3\) column holds \(3\)/,
    );
    // In a key, a string is VARCHAR(255).
    expect(() =>
      accepts(
        `string v = 2 ${col(`default: "'${"x".repeat(256)}'"`)};`,
        `sql: { primary_key: ["id"] index: { columns: ["v"] } }`,
      ),
    ).toThrow(/is 256 characters, longer than its VARCHAR\(255\) column holds/);
    expect(() => accepts(`string v = 2 ${col(`sql_type: "tinytext" default: "'${"é".repeat(128)}'"`)};`)).toThrow(
      /is 256 bytes, longer than its TINYTEXT column holds \(255\)/,
    );
    expect(() => accepts(`bytes v = 2 ${col(`sql_type: "varbinary(1)" default: "X'0000'"`)};`)).toThrow(
      /is 2 bytes, longer than its VARBINARY\(1\)/,
    );
  });
});

describe("nullable needs presence", () => {
  it("accepts nullable on optional and message fields", () => {
    const t = accepts(
      `optional string a = 2 ${col("nullable: true")}; Inner b = 3 ${col("nullable: true")}; message Inner { int32 x = 1; }`,
    );
    expect(t.columns.map((c) => c.nullable)).toEqual([false, true, true]);
  });

  it.each([
    [
      "string",
      /BadRow\.v: nullable = true on a string field without presence \(NULL would read back as undefined\); declare it `optional string v = 2;` instead/,
    ],
    ["int64", /declare it `optional int64 v = 2;`/],
    ["Kind", /nullable = true on an enum demo\.v1\.Kind field without presence.*`optional Kind v = 2;`/],
    ["repeated int64", /nullable = true on a repeated int64 field: repeated and map fields have no presence/],
    ["map<string, int64>", /nullable = true on a map field/],
  ])("refuses nullable on a %s without optional", (type, msg) => {
    expect(() => accepts(`${type} v = 2 ${col("nullable: true")};`)).toThrow(msg);
  });
});

describe("other declarations gen refuses", () => {
  it("refuses an optional counter", () => {
    expect(() => accepts(`optional int64 n = 2 ${col("counter: true")};`)).toThrow(
      /BadRow\.n: a counter cannot be optional or nullable \(NULL \+ 1 stays NULL\)/,
    );
  });

  it("refuses a counter in a wide table's key", () => {
    expect(() =>
      accepts(`int64 n = 2 ${col("counter: true")};`, `wide: { partition_key: ["id"] clustering: { column: "n" } }`),
    ).toThrow(/BadRow\.n: a counter cannot be a key/);
  });

  it.each([
    [`string a = 2 ${col(`renamed_from: "a"`)};`, /BadRow\.a: renamed_from names the column itself/],
    [
      `string a = 2 ${col(`renamed_from: "b"`)}; string b = 3;`,
      /BadRow\.a: renamed_from names "b", which is still a field of the message/,
    ],
    [
      `string a = 2 ${col(`renamed_from: "old"`)}; string b = 3 ${col(`renamed_from: "old"`)};`,
      /BadRow\.b: renamed_from names "old", which a also claims/,
    ],
    [`string a = 2 ${col(`renamed_from: ["old", "old"]`)};`, /renamed_from lists "old" twice/],
    [`string a = 2 ${col(`renamed_from: "Old-Name"`)};`, /renamed_from "Old-Name" is not a valid column name/],
  ])("refuses a bad renamed_from (%#)", (fields, msg) => {
    expect(() => accepts(fields)).toThrow(msg);
  });

  it("refuses a bad renamed_from in a wide table too", () => {
    expect(() => accepts(`string a = 2 ${col(`renamed_from: "id"`)};`, `wide: { partition_key: ["id"] }`)).toThrow(
      /renamed_from names "id", which is still a field/,
    );
  });

  it.each([
    [
      `index: { columns: ["a"] } index: { columns: ["a"] name: "other" }`,
      /index other is on the same columns \(a\) as index bad_row_by_a/,
    ],
    [`unique_index: { columns: ["id"] }`, /index bad_row_uniq_id is on the same columns \(id\) as the primary key/],
    [`index: { columns: ["a"] name: "x" } index: { columns: ["b"] name: "x" }`, /two indexes are named x/],
    [`index: { columns: ["a", "nope"] }`, /index bad_row_by_a_nope names "nope", which is not a field of BadRow/],
  ])("refuses bad indexes (%#)", (indexes, msg) => {
    expect(() => accepts(`string a = 2; string b = 3;`, `sql: { primary_key: ["id"] ${indexes} }`)).toThrow(msg);
  });

  it("refuses table and index names used twice across tables, and reserved names", () => {
    expect(() =>
      tablesFromProto(
        row(
          "",
          `sql: { name: "t" primary_key: ["id"] }`,
          `message OtherRow { option (orbit.options.v1.table) = { wide: { name: "t" partition_key: ["id"] } }; int64 id = 1; }`,
        ),
      ),
    ).toThrow(/demo\/v1\/bad\.proto: demo\.v1\.OtherRow: table name "t" is also used by demo\.v1\.BadRow/);
    expect(() =>
      tablesFromProto(
        row(
          "int64 a = 2;",
          `sql: { name: "t" primary_key: ["id"] index: { columns: ["a"] name: "by_a" } }`,
          `message OtherRow { option (orbit.options.v1.table) = { sql: { name: "u" primary_key: ["id"] index: { columns: ["a"] name: "by_a" } } }; int64 id = 1; int64 a = 2; }`,
        ),
      ),
    ).toThrow(/OtherRow: index name "by_a" is also used by demo\.v1\.BadRow/);
    expect(() => accepts("", `sql: { name: "orbit_migrations" primary_key: ["id"] }`)).toThrow(
      /table name "orbit_migrations" is reserved/,
    );
  });
});
