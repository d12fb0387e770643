/**
 * What the walkers print: long statements cut into pieces that join back to
 * the same text, table specs as `column(...)` literals equal to the specs
 * (and to gen/manifest.json, for every committed generated table), and JSDoc
 * carrying proto comments.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { column, type Manifest, type TableSpec } from "../../platform/storage/schema.js";
import { compileProto } from "../../test/support/compile-proto.js";
import { plugin } from "../db-walker/main.js";
import { manifestJson, specLiteral, statementPieces } from "./emit-text.js";

const genDir = new URL("../../gen/", import.meta.url).pathname;

describe("statementPieces", () => {
  it("cuts a long statement before its clauses and after commas; the pieces join to the statement", () => {
    const cols = Array.from({ length: 30 }, (_, i) => `"column_${i}"`).join(", ");
    const sql = `SELECT ${cols} FROM "t" WHERE "a" = ? AND ("b" > ? OR ("b" = ? AND "c" > ?)) ORDER BY "b" ASC, "c" ASC LIMIT ?`;
    const pieces = statementPieces(sql, 96);
    expect(pieces.join("")).toBe(sql);
    expect(pieces.length).toBeGreaterThan(3);
    for (const p of pieces) expect(p.length, p).toBeLessThanOrEqual(96);
    expect(pieces).toContain(' ORDER BY "b" ASC, "c" ASC LIMIT ?');
    // Every cut is after a comma or before a clause, never inside a name or a value.
    for (let i = 1; i < pieces.length; i++) {
      expect(pieces[i - 1]!.endsWith(", ") || /^ (FROM|WHERE|ORDER BY|LIMIT|AND \()/.test(pieces[i]!), pieces[i]).toBe(
        true,
      );
    }
  });

  it("leaves a short statement whole", () => {
    expect(statementPieces('SELECT COUNT(*) AS "n" FROM "t"')).toEqual(['SELECT COUNT(*) AS "n" FROM "t"']);
  });
});

describe("table specs as literals", () => {
  it("prints one column(...) per column that builds the same spec, key order included", () => {
    const spec: TableSpec = {
      kind: "sql",
      name: "t",
      message: "demo.v1.TRow",
      file: "demo/v1/t.proto",
      columns: [
        {
          name: "id",
          field: "id",
          encoding: "bigint",
          sqlite: "INTEGER",
          mysql: "BIGINT",
          cql: "bigint",
          nullable: false,
          default: "0",
        },
        {
          name: "n",
          field: "n",
          encoding: "bigint",
          sqlite: "INTEGER",
          mysql: "BIGINT",
          cql: "counter",
          nullable: false,
          default: "0",
          counter: true,
        },
        {
          name: "u",
          field: "u",
          encoding: "int",
          sqlite: "INTEGER",
          mysql: "INT UNSIGNED",
          cql: "bigint",
          nullable: true,
          renamedFrom: ["old_u"],
          unsigned: true,
        },
        {
          name: "p",
          field: "p",
          encoding: "proto",
          sqlite: "BLOB",
          mysql: "LONGBLOB",
          cql: "blob",
          nullable: true,
          protoType: "demo.v1.P",
        },
        {
          name: "l",
          field: "l",
          encoding: "proto",
          sqlite: "BLOB",
          mysql: "LONGBLOB",
          cql: "blob",
          nullable: false,
          repeated: true,
        },
      ],
      primaryKey: ["id"],
      indexes: [{ name: "t_by_u", columns: ["u"], unique: false }],
    };
    const text = specLiteral(spec, "column").join("");
    expect(text).toContain('    column("id", "id", "bigint", "INTEGER", "BIGINT", "bigint", { default: "0" }),\n');
    expect(text).toContain(
      '    column("u", "u", "int", "INTEGER", "INT UNSIGNED", "bigint", { nullable: true, renamedFrom: ["old_u"], unsigned: true }),\n',
    );
    expect(text).toContain('    { name: "t_by_u", columns: ["u"], unique: false },\n');
    const built = new Function("column", `return ${text};`)(column) as TableSpec;
    expect(JSON.stringify(built)).toBe(JSON.stringify(spec));
  });

  it("writes the manifest one line per column and index, as the same JSON", () => {
    const res = plugin.run(
      compileProto({
        "demo/v1/things.proto": `syntax = "proto3";\npackage demo.v1;\nimport "orbit/options/v1/options.proto";
          message ThingRow { option (orbit.options.v1.table) = { sql: { name: "things" primary_key: ["id"]
            index: { columns: ["owner_id"] } } }; int64 id = 1; int64 owner_id = 2; optional string note = 3; }`,
      }).request,
    );
    const text = res.file.find((f) => f.name === "manifest.json")!.content;
    const m = JSON.parse(text) as Manifest;
    expect(text).toBe(manifestJson(m.tables));
    expect(text).toContain(
      '        {"name":"note","field":"note","encoding":"string","sqlite":"TEXT","mysql":"TEXT","cql":"text","nullable":true}',
    );
    expect(text.split("\n").length).toBeLessThan(25);
  });

  it("every committed generated table constant equals its gen/manifest.json entry", async () => {
    const manifest = JSON.parse(readFileSync(join(genDir, "manifest.json"), "utf8")) as Manifest;
    const byName = new Map(manifest.tables.map((t) => [t.name, t]));
    const seen = new Set<string>();
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(dir, e.name));
        else if (/_(db|wide)\.ts$/.test(e.name)) files.push(join(dir, e.name));
      }
    };
    walk(genDir);
    for (const file of files) {
      const mod = (await import(file)) as Record<string, unknown>;
      for (const [name, v] of Object.entries(mod)) {
        if (!name.endsWith("Table") || typeof v !== "object" || v === null || !("kind" in v)) continue;
        const spec = v as TableSpec;
        expect(byName.has(spec.name), `${name} (${file}) is in gen/manifest.json`).toBe(true);
        expect(JSON.stringify(spec), name).toBe(JSON.stringify(byName.get(spec.name)));
        seen.add(spec.name);
      }
    }
    expect([...seen].sort()).toEqual([...byName.keys()].sort());
  });
});

describe("JSDoc of the generated DAO", () => {
  it("carries the message and field comments and where they come from", () => {
    const res = plugin.run(
      compileProto({
        "demo/v1/docs.proto": `syntax = "proto3";\npackage demo.v1;\nimport "orbit/options/v1/options.proto";
// A DocRow is one document.
message DocRow {
  option (orbit.options.v1.table) = { sql: { name: "docs" primary_key: ["id"] index: { columns: ["owner_id"] } } };
  int64 id = 1;
  // The account that wrote it.
  int64 owner_id = 2;
  // Times it was read.
  int64 reads = 3 [(orbit.options.v1.column).counter = true];
}`,
      }).request,
    );
    const ts = res.file.find((f) => f.name === "demo/v1/docs_db.ts")!.content;
    const from = " * @generated from message demo.v1.DocRow (demo/v1/docs.proto)\n";
    expect(ts).toContain(` * A DocRow is one document.\n *\n * Typed access to table docs.`);
    expect(ts).toContain(`${from} */\nexport class DocRowDao {`);
    expect(ts).toContain(`${from} */\nexport const DocRowTable: SqlTableSpec = {`);
    expect(ts).toContain(`${from} */\nexport type DocRowKey = `);
    expect(ts).toContain("   * - `ownerId`: The account that wrote it.\n   */\n  async listByOwnerId(");
    expect(ts).toContain(
      "   * Times it was read.\n   *\n   * Adds `delta` to counter reads atomically. True if the row exists.\n   *\n" +
        "   * @generated from field: int64 reads = 3;\n   */\n  async incrementReads(",
    );
  });
});
