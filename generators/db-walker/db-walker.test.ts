import { describe, expect, it } from "vitest";
import { compileProto } from "../../test/support/compile-proto.js";
import { ScalarType, type DescField } from "@bufbuild/protobuf";
import type { ColumnSpec } from "../../platform/storage/schema.js";
import { defaultOf } from "./defaults.js";
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

const thing =
  header +
  `message ThingRow {
    option (orbit.options.v1.table) = { sql: { name: "things" primary_key: ["id"]
      index: { columns: ["owner_id", "created_at_ms"] } index: { columns: ["kind"] }
      unique_index: { columns: ["slug"] } } };
    int64 id = 1; int64 owner_id = 2; string slug = 3; int32 kind = 4; int64 created_at_ms = 5;
    int64 hits = 6 [(orbit.options.v1.column).counter = true];
    optional string note = 7;
  }
  message NotATable { string x = 1; }`;

describe("db walker", () => {
  it("writes a _db.ts per file with tables and a manifest of every table", () => {
    const out = generate({
      "demo/v1/things.proto": thing,
      "demo/v1/plain.proto": `syntax = "proto3";\npackage demo.v1;\nmessage Plain { string x = 1; }`,
    });
    expect([...out.keys()].sort()).toEqual(["demo/v1/things_db.ts", "manifest.json"]);
    const manifest = JSON.parse(out.get("manifest.json")!);
    expect(manifest.version).toBe(1);
    expect(manifest.tables.map((t: { name: string }) => t.name)).toEqual(["things"]);
  });

  it("emits a typed DAO whose finders are named after the indexes they use", () => {
    const ts = generate({ "demo/v1/things.proto": thing }).get("demo/v1/things_db.ts")!;
    expect(ts).toContain("export const ThingRowTable: SqlTableSpec = {");
    expect(ts).toContain("export class ThingRowDao {");
    for (const m of [
      "async insert(row: ThingRowInit): Promise<void>",
      "insertMany(rows: readonly ThingRowInit[]): Promise<number>",
      "async insertIfAbsent(row: ThingRowInit): Promise<boolean>",
      "async upsert(row: ThingRowInit): Promise<void>",
      "async get(key: ThingRowKey): Promise<ThingRow | undefined>",
      "async update(key: ThingRowKey, patch: ThingRowPatch): Promise<boolean>",
      "async delete(key: ThingRowKey): Promise<boolean>",
      "list(page?: PageOptions): Promise<Page<ThingRow>>",
      'async getBySlug(where: Pick<ThingRow, "slug">): Promise<ThingRow | undefined>',
      'listByOwnerId(where: Pick<ThingRow, "ownerId">, page?: PageOptions): Promise<Page<ThingRow>>',
      'async countByOwnerId(where: Pick<ThingRow, "ownerId">): Promise<number>',
      'listByKind(where: Pick<ThingRow, "kind">, page?: PageOptions): Promise<Page<ThingRow>>',
      "async incrementHits(key: ThingRowKey, delta: bigint | number = 1): Promise<boolean>",
      "async getMany(keys: readonly ThingRowKey[]): Promise<ThingRow[]>",
    ]) {
      expect(ts).toContain(m);
    }
    expect(ts).toContain('export type ThingRowKey = Pick<ThingRow, "id">;');
    expect(ts).toContain('export type ThingRowPatch = RowPatch<ThingRow, "id" | "hits", "note">;');
  });

  it("spells out the SQL of both dialects as constants", () => {
    const ts = generate({ "demo/v1/things.proto": thing }).get("demo/v1/things_db.ts")!;
    // Counters are not written by insert/upsert.
    expect(ts).toContain(
      `insert: 'INSERT INTO "things" ("id", "owner_id", "slug", "kind", "created_at_ms", "note") VALUES (?, ?, ?, ?, ?, ?)',`,
    );
    expect(ts).toContain(
      "insert: 'INSERT INTO `things` (`id`, `owner_id`, `slug`, `kind`, `created_at_ms`, `note`) VALUES (?, ?, ?, ?, ?, ?)',",
    );
    expect(ts).toContain(
      `ascAfter: 'SELECT "id", "owner_id", "slug", "kind", "created_at_ms", "hits", "note" FROM "things" WHERE "owner_id" = ? AND ("created_at_ms" > ? OR ("created_at_ms" = ? AND "id" > ?)) ORDER BY "created_at_ms" ASC, "id" ASC LIMIT ?',`,
    );
    expect(ts).toContain(
      "descAfter: 'SELECT `id`, `owner_id`, `slug`, `kind`, `created_at_ms`, `hits`, `note` FROM `things` WHERE `kind` = ? AND (`id` < ?) ORDER BY `id` DESC LIMIT ?',",
    );
    expect(ts).toContain(`upsertTail: ' ON CONFLICT ("id") DO UPDATE SET "owner_id" = excluded."owner_id",`);
    // A unique secondary index (slug): MySQL's update list applies only when the
    // primary key matches, and the rows it left alone are found by upsertCheck.
    expect(ts).toContain(
      "upsertTail: ' ON DUPLICATE KEY UPDATE `owner_id` = IF(`id` <=> VALUES(`id`), VALUES(`owner_id`), `owner_id`),",
    );
    expect(ts).toContain("upsertCheck: 'SELECT COUNT(*) AS `n` FROM `things` WHERE `id` IN',");
    expect(ts).toContain("upsertCheck: '',"); // SQLite needs none
    expect(ts).toContain(
      'const thingRowUpsertCheck: UpsertCheck = { table: "things", keyAt: [0], uniqueIndexes: ["things_uniq_slug"] };',
    );
    expect(ts).toContain(
      "if (r.changes === 0 && this.q.upsertCheck) await checkUpserted(this.db, this.q.upsertCheck, thingRowUpsertCheck, [p]);",
    );
    expect(ts).toContain(`hits: 'UPDATE "things" SET "hits" = "hits" + ? WHERE "id" = ?',`);
    expect(ts).toContain(
      `getBySlug: 'SELECT "id", "owner_id", "slug", "kind", "created_at_ms", "hits", "note" FROM "things" WHERE "slug" = ?',`,
    );
  });

  it("checks bound values: declared lengths, 64-bit ranges and missing key fields, naming table and column", () => {
    const ts = generate({
      "demo/v1/checks.proto":
        header +
        `message CheckRow { option (orbit.options.v1.table) = { sql: { name: "checks" primary_key: ["code", "n"] } };
          string code = 1; uint64 n = 2; string name = 3 [(orbit.options.v1.column).sql_type = "varchar(20)"];
          string body = 4; bytes tag = 5 [(orbit.options.v1.column).sql_type = "varbinary(16)"]; int64 at = 6;
          float ratio = 7; double exact = 8; }`,
    }).get("demo/v1/checks_db.ts")!;
    // A string key is VARCHAR(255) on MySQL: checked everywhere. TEXT is not.
    expect(ts).toContain('textParam(row.code ?? "", 255, "checks.code"),');
    expect(ts).toContain('uint64Param(row.n ?? 0n, d, "checks.n"),');
    expect(ts).toContain('textParam(row.name ?? "", 20, "checks.name"),');
    expect(ts).toContain('    row.body ?? "",');
    expect(ts).toContain('bytesParam(row.tag ?? EMPTY, 16, "checks.tag"),');
    expect(ts).toContain('int64Param(row.at ?? 0n, "checks.at"),');
    // proto float: float32 on the way in and out, on every engine; double untouched.
    expect(ts).toContain("    Math.fround(row.ratio ?? 0),");
    expect(ts).toMatch(/ratio: Math\.fround\(toNumber\(r\[\d+\]\)\),/);
    expect(ts).toContain("    row.exact ?? 0,");
    expect(ts).toMatch(/exact: toNumber\(r\[\d+\]\),/);
    expect(ts).toContain(
      'const r = await this.db.getValues(this.q.get, [key.code ?? missingKey("checks.code", "code"), uint64Param(key.n ?? missingKey("checks.n", "n"), this.db.dialect, "checks.n")]);',
    );
  });

  it("binds declared defaults for absent fields, as literals of the field's type", () => {
    const d = (f: string) => `[(orbit.options.v1.column).default = ${JSON.stringify(f)}]`;
    const ts = generate({
      "demo/v1/defs.proto":
        header +
        `message DefRow { option (orbit.options.v1.table) = { sql: { name: "defs" primary_key: ["id"] } };
          int64 id = 1; int32 a = 2 ${d("7")}; uint64 b = 3 ${d("18446744073709551615")}; string c = 4 ${d("'it''s'")};
          bool e = 5 ${d("TRUE")}; double g = 6 ${d("-1.5e3")}; bytes h = 7 ${d("X'00ff'")}; bytes i = 8 ${d("''")};
          optional int32 j = 9 ${d("3")}; float k = 10 ${d("0.1")}; uint32 l = 11 ${d("4294967295")}; int32 m = 12; }`,
    }).get("demo/v1/defs_db.ts")!;
    for (const line of [
      'int32Param(row.a ?? 7, "defs.a"),',
      'uint64Param(row.b ?? 18446744073709551615n, d, "defs.b"),',
      `row.c ?? "it's",`,
      "(row.e ?? true) ? 1 : 0,",
      "row.g ?? -1500,",
      "row.h ?? Uint8Array.of(0, 255),",
      "row.i ?? EMPTY,",
      // An absent optional field is unset (NULL), whatever its default.
      'row.j === undefined ? null : int32Param(row.j ?? 0, "defs.j"),',
      "Math.fround(row.k ?? 0.1),",
      'int32Param(row.l ?? 4294967295, "defs.l", true),',
      'int32Param(row.m ?? 0, "defs.m"),',
    ]) {
      expect(ts).toContain(`    ${line}\n`);
    }
  });

  it("fails generation when a default is not a value of the field's type, naming file, message and field", () => {
    // What gen refuses, and why, is declaration-checks.test.ts's; here: it stops the db walker.
    const bad = (decl: string) => () =>
      generate({
        "demo/v1/baddef.proto":
          header +
          `message BadDefRow { option (orbit.options.v1.table) = { sql: { name: "bad_defs" primary_key: ["id"] } }; int64 id = 1; ${decl} }`,
      });
    const at = (field: string, text: string) =>
      `demo/v1/baddef.proto: demo.v1.BadDefRow.${field}: default ${JSON.stringify(text)} `;
    const cases: [string, string, string][] = [
      [`int32 n = 2 [(orbit.options.v1.column).default = "'x'"];`, "n", "'x'"],
      [`int32 n = 2 [(orbit.options.v1.column).default = "2147483648"];`, "n", "2147483648"],
      [`int64 n = 2 [(orbit.options.v1.column).default = "1.5"];`, "n", "1.5"],
      [`bool b = 2 [(orbit.options.v1.column).default = "2"];`, "b", "2"],
      [`string s = 2 [(orbit.options.v1.column).default = "7"];`, "s", "7"],
      [
        `string s = 2 [(orbit.options.v1.column).sql_type = "varchar(2)", (orbit.options.v1.column).default = "'abc'"];`,
        "s",
        "'abc'",
      ],
      [`double x = 2 [(orbit.options.v1.column).default = "'x'"];`, "x", "'x'"],
      [`int32 n = 2 [(orbit.options.v1.column).default = "NULL"];`, "n", "NULL"],
    ];
    for (const [decl, field, text] of cases) {
      expect(bad(decl), decl).toThrow(
        expect.objectContaining({ name: "TableDeclarationError", message: expect.stringContaining(at(field, text)) }),
      );
    }
  });

  it("turns only literals of the field's type into values (defaultOf, behind gen's declaration checks)", () => {
    const col = (encoding: ColumnSpec["encoding"], def: string, extra: Partial<ColumnSpec> = {}): ColumnSpec => ({
      name: "c",
      field: "c",
      encoding,
      sqlite: "",
      mysql: "",
      cql: "",
      nullable: false,
      default: def,
      ...extra,
    });
    const scalar = { fieldKind: "scalar", scalar: ScalarType.INT32 } as unknown as DescField;
    const where = "demo/v1/x.proto: demo.v1.X.c";
    expect(defaultOf(col("int", "7"), scalar, where)).toBe("7");
    expect(defaultOf(col("bigint", "-7"), scalar, where)).toBe("-7n");
    expect(defaultOf(col("bool", "TRUE"), scalar, where)).toBe("true");
    expect(defaultOf(col("string", "'it''s'"), scalar, where)).toBe(`"it's"`);
    expect(defaultOf(col("bytes", "X'00ff'"), scalar, where)).toBe("Uint8Array.of(0, 255)");
    expect(defaultOf(col("proto", "''"), scalar, where)).toBe("");
    expect(() => defaultOf(col("int", "'x'"), scalar, where)).toThrow(`${where}: default "'x'" is not a valid int32`);
    expect(() => defaultOf(col("int", "-1", { unsigned: true }), scalar, where)).toThrow(
      `${where}: default "-1" is not a valid uint32`,
    );
    expect(() => defaultOf(col("string", "'abc'"), scalar, where, 2)).toThrow(
      `${where}: default "'abc'" is longer than the column's 2 characters`,
    );
    expect(() => defaultOf(col("json", "'[1]'"), scalar, where)).toThrow(`${where}: default "'[1]'" is not allowed`);
  });

  it("emits one bounded delete per set of equality columns, with its SQL for both dialects", () => {
    const pairs =
      header +
      `message PairRow {
        option (orbit.options.v1.table) = { sql: { name: "pairs" primary_key: ["a", "b"]
          index: { columns: ["a", "at_ms"] } index: { columns: ["b", "a"] } } };
        int64 a = 1; string b = 2; int64 at_ms = 3;
      }`;
    const ts = generate({ "demo/v1/things.proto": thing, "demo/v1/pairs.proto": pairs });
    const things = ts.get("demo/v1/things_db.ts")!;
    expect(things).toContain('deleteByOwnerId(where: Pick<ThingRow, "ownerId">, opts: DeleteOptions): Promise<number>');
    expect(things).toContain('deleteByKind(where: Pick<ThingRow, "kind">, opts: DeleteOptions): Promise<number>');
    expect(things).toContain(
      'return deleteLimited(this.db, this.q.deletes.deleteByOwnerId, [int64Param(where.ownerId ?? missingKey("things.owner_id", "ownerId"), "things.owner_id")], opts);',
    );
    // A single-column key: SQLite deletes by key from a limited subquery (no
    // reliance on SQLITE_ENABLE_UPDATE_DELETE_LIMIT), in the finder's index order.
    expect(things).toContain(
      `deleteByOwnerId: 'DELETE FROM "things" WHERE "id" IN (SELECT "id" FROM "things" WHERE "owner_id" = ? ORDER BY "created_at_ms", "id" LIMIT ?)',`,
    );
    expect(things).toContain(
      "deleteByOwnerId: 'DELETE FROM `things` WHERE `owner_id` = ? ORDER BY `created_at_ms`, `id` LIMIT ?',",
    );
    expect(things).toContain("deleteByKind: 'DELETE FROM `things` WHERE `kind` = ? ORDER BY `id` LIMIT ?',");

    const pair = ts.get("demo/v1/pairs_db.ts")!;
    // listByA (key prefix) and listByAOrderByAtMs share one deleteByA.
    expect(pair).toContain("listByAOrderByAtMs(");
    expect(pair.match(/ deleteByA\(/g)).toHaveLength(1);
    expect(pair).not.toContain("deleteByAOrderBy");
    // A count has no order either: one countByA, no countByAOrderByAtMs.
    expect(pair.match(/ countByA\(/g)).toHaveLength(1);
    expect(pair).not.toContain("countByAOrderBy");
    expect(pair).toContain(`countByA: 'SELECT COUNT(*) AS "n" FROM "pairs" WHERE "a" = ?',`);
    expect(pair).toContain('countByB(where: Pick<PairRow, "b">): Promise<number>');
    expect(pair).toContain('deleteByB(where: Pick<PairRow, "b">, opts: DeleteOptions): Promise<number>');
    // A composite key (a WITHOUT ROWID table on SQLite): the key as a row value.
    expect(pair).toContain(
      `deleteByA: 'DELETE FROM "pairs" WHERE ("a", "b") IN (SELECT "a", "b" FROM "pairs" WHERE "a" = ? ORDER BY "b" LIMIT ?)',`,
    );
    expect(pair).toContain("deleteByA: 'DELETE FROM `pairs` WHERE `a` = ? ORDER BY `b` LIMIT ?',");
    expect(pair).toContain(
      `deleteByB: 'DELETE FROM "pairs" WHERE ("a", "b") IN (SELECT "a", "b" FROM "pairs" WHERE "b" = ? ORDER BY "a" LIMIT ?)',`,
    );
  });

  it("keeps the plain upsert for tables whose unique indexes all include the primary key", () => {
    const ts = generate({
      "demo/v1/plain.proto":
        header +
        `message PlainRow { option (orbit.options.v1.table) = { sql: { name: "plain" primary_key: ["a", "b"]
          unique_index: { columns: ["b", "a", "c"] } } };
          int64 a = 1; int64 b = 2; int64 c = 3; string d = 4; }`,
    }).get("demo/v1/plain_db.ts")!;
    expect(ts).toContain("upsertTail: ' ON DUPLICATE KEY UPDATE `c` = VALUES(`c`), `d` = VALUES(`d`)',");
    expect(ts.match(/upsertCheck: '',/g)).toHaveLength(2);
    expect(ts).not.toContain("checkUpserted");
    expect(ts).toContain("await this.db.run(this.q.upsert, plainRowToSql(row, this.db.dialect));");
  });

  it("guards a composite-key upsert on every key column", () => {
    const ts = generate({
      "demo/v1/comp.proto":
        header +
        `message CompRow { option (orbit.options.v1.table) = { sql: { name: "comp" primary_key: ["a", "b"]
          unique_index: { columns: ["c"] } } };
          int64 a = 1; string b = 2; int64 c = 3; }`,
    }).get("demo/v1/comp_db.ts")!;
    expect(ts).toContain(
      "upsertTail: ' ON DUPLICATE KEY UPDATE `c` = IF(`a` <=> VALUES(`a`) AND `b` <=> VALUES(`b`), VALUES(`c`), `c`)',",
    );
    expect(ts).toContain("upsertCheck: 'SELECT COUNT(*) AS `n` FROM `comp` WHERE (`a`, `b`) IN',");
    expect(ts).toContain('keyAt: [0, 1], uniqueIndexes: ["comp_uniq_c"]');
  });

  it("emits no delete for a table without list finders", () => {
    const ts = generate({
      "demo/v1/solo.proto":
        header +
        `message SoloRow { option (orbit.options.v1.table) = { sql: { name: "solo" primary_key: ["id"] } }; int64 id = 1; }`,
    }).get("demo/v1/solo_db.ts")!;
    expect(ts).toContain("deletes: {},");
    expect(ts).not.toContain("deleteLimited");
    expect(ts).not.toContain("DeleteOptions");
  });

  it("fails generation when two sets of columns would give the same delete", () => {
    expect(() =>
      generate({
        "demo/v1/clash.proto":
          header +
          `message ClashRow { option (orbit.options.v1.table) = { sql: { name: "clash" primary_key: ["id"]
            index: { columns: ["a_b"] } index: { columns: ["a", "b", "c"] } } };
            int64 id = 1; int64 a_b = 2; int64 a = 3; int64 b = 4; int64 c = 5; }`,
      }),
    ).toThrow(/columns \(a_b\) and \(a,b\) both give the finder deleteByAB/);
  });

  it("fails generation with a message naming the message and field", () => {
    expect(() =>
      generate({
        "demo/v1/bad.proto":
          header +
          `message BadRow { option (orbit.options.v1.table) = { sql: { primary_key: ["nope"] } }; int64 id = 1; }`,
      }),
    ).toThrow(/demo\/v1\/bad\.proto: demo\.v1\.BadRow: primary_key names "nope"/);
  });
});
