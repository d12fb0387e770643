/**
 * Emits, for one SQL table: its TableSpec, the SQL of every method for both
 * dialects, row mappers and a typed DAO class.
 */
import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import type { GeneratedFile, ImportSymbol, Printable } from "@bufbuild/protoplugin";
import type { ColumnSpec, SqlTableSpec } from "../../platform/storage/schema.js";
import { countFinders, deleteFinders, listFinders, pascal, uniqueFinders } from "./finders.js";
import {
  docText,
  fieldNotes,
  generatedFromField,
  generatedFromMessage,
  protoComments,
  specLiteral,
  statementLiteral,
  wrapDoc,
} from "../common/emit-text.js";
import { MAX_DELETE_LIMIT } from "../../platform/storage/sql/query.js";
import { tableSql, uniqueSecondaries } from "./sql.js";
import { defaultOf } from "./defaults.js";
import { parseMysqlType } from "../../platform/storage/sql/sql-types.js";

const RT = "../platform/storage";

interface Runtime {
  SqlExecutor: ImportSymbol;
  SqlValue: ImportSymbol;
  Dialect: ImportSymbol;
  SqlTableSpec: ImportSymbol;
  column: ImportSymbol;
  Page: ImportSymbol;
  PageOptions: ImportSymbol;
  RowInit: ImportSymbol;
  RowPatch: ImportSymbol;
  keysetPage: ImportSymbol;
  selectIn: ImportSymbol;
  insertRows: ImportSymbol;
  upsertRows: ImportSymbol;
  checkUpserted: ImportSymbol;
  UpsertCheck: ImportSymbol;
  UpdateBuilder: ImportSymbol;
  DeleteOptions: ImportSymbol;
  deleteLimited: ImportSymbol;
  conv: (name: string) => ImportSymbol;
  rep: (name: string) => ImportSymbol;
  inp: (name: string) => ImportSymbol;
  pb: (name: string) => ImportSymbol;
}

export function runtimeImports(f: GeneratedFile): Runtime {
  return {
    SqlExecutor: f.import("SqlExecutor", `${RT}/driver.js`, true),
    SqlValue: f.import("SqlValue", `${RT}/driver.js`, true),
    Dialect: f.import("Dialect", `${RT}/driver.js`, true),
    SqlTableSpec: f.import("SqlTableSpec", `${RT}/schema.js`, true),
    column: f.import("column", `${RT}/schema.js`),
    Page: f.import("Page", `${RT}/sql/page.js`, true),
    PageOptions: f.import("PageOptions", `${RT}/sql/page.js`, true),
    RowInit: f.import("RowInit", `${RT}/sql/types.js`, true),
    RowPatch: f.import("RowPatch", `${RT}/sql/types.js`, true),
    keysetPage: f.import("keysetPage", `${RT}/sql/query.js`),
    selectIn: f.import("selectIn", `${RT}/sql/query.js`),
    insertRows: f.import("insertRows", `${RT}/sql/query.js`),
    upsertRows: f.import("upsertRows", `${RT}/sql/query.js`),
    checkUpserted: f.import("checkUpserted", `${RT}/sql/query.js`),
    UpsertCheck: f.import("UpsertCheck", `${RT}/sql/query.js`, true),
    UpdateBuilder: f.import("UpdateBuilder", `${RT}/sql/query.js`),
    DeleteOptions: f.import("DeleteOptions", `${RT}/sql/query.js`, true),
    deleteLimited: f.import("deleteLimited", `${RT}/sql/query.js`),
    conv: (name) => f.import(name, `${RT}/sql/convert.js`),
    rep: (name) => f.import(name, `${RT}/sql/repeated.js`),
    inp: (name) => f.import(name, `${RT}/sql/input.js`),
    pb: (name) => f.import(name, "@bufbuild/protobuf"),
  };
}

const lit = (s: string) => JSON.stringify(s);

/**
 * An object of SQL strings as a readable TS literal: bare keys, single quotes,
 * long statements as concatenated clauses (the same text, in lines that fit).
 */
export function sqlLiteral(v: unknown, indent: string): string {
  if (typeof v === "string") return statementLiteral(v);
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length === 0) return "{}";
  const inner = indent + "  ";
  const key = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : lit(k));
  return `{\n${entries.map(([k, x]) => `${inner}${key(k)}: ${sqlLiteral(x, inner)},`).join("\n")}\n${indent}}`;
}
const camel = (s: string) => {
  const p = pascal(s);
  return p[0]!.toLowerCase() + p.slice(1);
};

/** "index follows_by_x", or "the primary key". */
const indexName = (index: string) => (index === "primary key" ? "the primary key" : `index ${index}`);

const fileOf = (message: DescMessage) => message.file.name + ".proto";

function fieldOf(message: DescMessage, col: ColumnSpec): DescField {
  const field = message.fields.find((x) => x.name === col.name);
  if (!field) throw new Error(`${message.typeName} has no field ${col.name}`);
  return field;
}

/**
 * A repeated scalar or enum field (64-bit ints as bigint): its column is
 * read and written by the runtime's encodeRepeated/decodeRepeated, without
 * building the whole row message.
 */
function isScalarList(field: DescField): field is DescField & { fieldKind: "list" } {
  return (
    field.fieldKind === "list" && (field.listKind === "enum" || (field.listKind === "scalar" && !field.longAsString))
  );
}

/**
 * A proto `float` column: values are rounded to float32 (Math.fround) when
 * bound and when read, so SQLite (REAL, a double) stores and compares what
 * MySQL's FLOAT does, and both read back what protobuf would.
 */
function isFloat(field: DescField): boolean {
  return field.fieldKind === "scalar" && field.scalar === ScalarType.FLOAT;
}

/** `repeated string`: its JSON column is a plain JSON array of strings. */
function isStringList(field: DescField): boolean {
  return field.fieldKind === "list" && field.listKind === "scalar" && field.scalar === ScalarType.STRING;
}

function scalarOf(field: DescField & { fieldKind: "list" }): ScalarType {
  return field.listKind === "scalar" ? field.scalar : ScalarType.INT32;
}

/** The TypeScript type of one element of a scalar list. */
function listElementType(field: DescField & { fieldKind: "list" }): string {
  if (field.listKind === "enum") return "number";
  switch (field.scalar) {
    case ScalarType.STRING:
      return "string";
    case ScalarType.BYTES:
      return "Uint8Array";
    case ScalarType.BOOL:
      return "boolean";
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return "bigint";
    default:
      return "number";
  }
}

/** Expression reading column `col` from array row `r`, where it stands at `index` (select-list order). */
function readExpr(f: GeneratedFile, rt: Runtime, message: DescMessage, col: ColumnSpec, index: number): Printable[] {
  const v = `r[${index}]`;
  const field = fieldOf(message, col);
  let e: Printable[];
  switch (col.encoding) {
    case "bigint":
      e = [col.unsigned ? rt.conv("toUint64") : rt.conv("toBigInt"), `(${v})`];
      break;
    case "int":
    case "double":
    case "enum":
      e = isFloat(field) ? [`Math.fround(`, rt.conv("toNumber"), `(${v}))`] : [rt.conv("toNumber"), `(${v})`];
      break;
    case "bool":
      e = [rt.conv("toBool"), `(${v})`];
      break;
    case "string":
      e = [rt.conv("toText"), `(${v})`];
      break;
    case "bytes":
      e = [rt.conv("toBytes"), `(${v})`];
      break;
    case "proto":
      if (field.fieldKind === "message") {
        e = [rt.pb("fromBinary"), "(", f.importSchema(field.message), ", ", rt.conv("toBytes"), `(${v}))`];
      } else if (isScalarList(field)) {
        e = [
          rt.rep("decodeRepeated"),
          `<${listElementType(field)}>(`,
          rt.conv("toBytes"),
          `(${v}), ${field.number}, `,
          rt.pb("ScalarType"),
          `.${ScalarType[scalarOf(field)]})`,
        ];
      } else {
        e = [rt.pb("fromBinary"), "(", f.importSchema(message), ", ", rt.conv("toBytes"), `(${v})).${field.localName}`];
      }
      break;
    case "json":
      if (field.fieldKind === "message") {
        e = [rt.pb("fromJsonString"), "(", f.importSchema(field.message), ", ", rt.conv("toText"), `(${v}))`];
      } else if (isStringList(field)) {
        e = [rt.rep("jsonStrings"), "(", rt.conv("toText"), `(${v}), ${lit(col.name)})`];
      } else {
        e = [
          rt.pb("fromJson"),
          "(",
          f.importSchema(message),
          `, { ${lit(field.jsonName)}: JSON.parse(`,
          rt.conv("toText"),
          `(${v}) || "null") }).${field.localName}`,
        ];
      }
      break;
  }
  if (col.nullable || col.encoding === "proto" || col.encoding === "json") {
    const empty = col.nullable || field.fieldKind === "message" ? "undefined" : field.fieldKind === "map" ? "{}" : "[]";
    // A message column keeps presence: NULL is an absent message, anything
    // else (even zero bytes, or "{}") a present one, perhaps empty. A
    // repeated or map column has no presence: NULL or empty is [] / {}.
    const isEmpty =
      field.fieldKind === "message"
        ? col.encoding === "json"
          ? `${v} == null || ${v} === "" || ${v} === "null"`
          : `${v} == null`
        : col.encoding === "json"
          ? `${v} == null || ${v} === "" || ${v} === "[]" || ${v} === "{}" || ${v} === "null"`
          : col.encoding === "proto"
            ? `${v} == null || (${v} as Uint8Array).length === 0`
            : `${v} == null`;
    return [`${isEmpty} ? ${empty} : `, ...e];
  }
  return e;
}

/**
 * The length a VARCHAR(n)/CHAR(n) (characters) or VARBINARY(n)/BINARY(n)
 * (bytes) column declares: checked on every engine, since SQLite ignores it.
 */
export function declaredLength(col: ColumnSpec): number | undefined {
  const t = parseMysqlType(col.mysql);
  const sized =
    col.encoding === "string"
      ? t.base === "varchar" || t.base === "char"
      : col.encoding === "bytes" && (t.base === "varbinary" || t.base === "binary");
  return sized ? t.args[0] : undefined;
}

/** Expression binding field `row.x` as a statement parameter. */
function writeExpr(f: GeneratedFile, rt: Runtime, message: DescMessage, table: string, col: ColumnSpec): Printable[] {
  const field = fieldOf(message, col);
  const x = `row.${field.localName}`;
  if (col.nullable && field.fieldKind !== "message") {
    // An absent optional field is NULL (unset), whatever the declared default
    // (which is still checked).
    defaultOf(col, field, `${fileOf(message)}: ${message.typeName}.${field.name}`, declaredLength(col));
    const inner = writeExpr(f, rt, message, table, { ...col, nullable: false, default: undefined });
    // `x ?? zero` of a nullable column is just `x ?? null`.
    if (inner.length === 1 && typeof inner[0] === "string" && inner[0].startsWith(`${x} ?? `)) return [`${x} ?? null`];
    return [`${x} === undefined ? null : `, ...inner];
  }
  const where = lit(`${table}.${col.name}`);
  const max = declaredLength(col);
  // The value of an absent field: the column's declared default (a TS literal
  // of the field's type), else its proto3 zero value.
  const def = defaultOf(col, field, `${fileOf(message)}: ${message.typeName}.${field.name}`, max);
  switch (col.encoding) {
    case "bigint":
      return col.unsigned
        ? [rt.inp("uint64Param"), `(${x} ?? ${def}, d, ${where})`]
        : [rt.inp("int64Param"), `(${x} ?? ${def}, ${where})`];
    case "int":
      return [rt.inp("int32Param"), `(${x} ?? ${def}, ${where}${col.unsigned ? ", true" : ""})`];
    case "double":
      return isFloat(field) ? [`Math.fround(${x} ?? ${def})`] : [`${x} ?? ${def}`];
    case "enum":
      return [`${x} ?? ${def}`];
    case "bool":
      return def === "false" ? [`${x} ? 1 : 0`] : [`(${x} ?? ${def}) ? 1 : 0`];
    case "string":
      return max === undefined ? [`${x} ?? ${def}`] : [rt.inp("textParam"), `(${x} ?? ${def}, ${max}, ${where})`];
    case "bytes":
      return max === undefined ? [`${x} ?? ${def}`] : [rt.inp("bytesParam"), `(${x} ?? ${def}, ${max}, ${where})`];
    case "proto":
      if (field.fieldKind === "message") {
        return [`${x} === undefined ? null : `, rt.pb("toBinary"), "(", f.importSchema(field.message), `, ${x})`];
      }
      if (isScalarList(field)) {
        return [
          rt.rep("encodeRepeated"),
          `(${field.number}, `,
          rt.pb("ScalarType"),
          `.${ScalarType[scalarOf(field)]}, ${field.packed}, ${x})`,
        ];
      }
      return [
        rt.pb("toBinary"),
        "(",
        f.importSchema(message),
        ", ",
        rt.pb("create"),
        "(",
        f.importSchema(message),
        `, { ${field.localName}: ${x} }))`,
      ];
    case "json":
      if (field.fieldKind === "message") {
        return [`${x} === undefined ? null : `, rt.pb("toJsonString"), "(", f.importSchema(field.message), `, ${x})`];
      }
      if (isStringList(field)) return [`JSON.stringify(${x} ?? [])`];
      return [
        "JSON.stringify((",
        rt.pb("toJson"),
        "(",
        f.importSchema(message),
        ", ",
        rt.pb("create"),
        "(",
        f.importSchema(message),
        `, { ${field.localName}: ${x} })) as Record<string, unknown>)[${lit(field.jsonName)}] ?? ${field.fieldKind === "map" ? "{}" : "[]"})`,
      ];
  }
}

function keyParam(message: DescMessage, spec: SqlTableSpec, rt: Runtime, obj: string): Printable[] {
  const out: Printable[] = ["["];
  spec.primaryKey.forEach((k, i) => {
    const col = spec.columns.find((c) => c.name === k)!;
    if (i) out.push(", ");
    out.push(...paramOf(rt, spec, col, obj, fieldOf(message, col)));
  });
  out.push("]");
  return out;
}

/**
 * A key or finder value `obj.field` as a statement parameter: a missing one
 * throws SqlInputError naming it (rather than a driver error on MySQL and a
 * silent miss on SQLite), 64-bit values are range-checked.
 */
/** `where.a, where.b` as checked statement parameters, comma-separated. */
function whereParams(rt: Runtime, spec: SqlTableSpec, message: DescMessage, cols: readonly ColumnSpec[]): Printable[] {
  const ps: Printable[] = [];
  cols.forEach((c, i) => {
    if (i) ps.push(", ");
    ps.push(...paramOf(rt, spec, c, "where", fieldOf(message, c)));
  });
  return ps;
}

function paramOf(rt: Runtime, spec: SqlTableSpec, col: ColumnSpec, obj: string, field: DescField): Printable[] {
  const where = lit(`${spec.name}.${col.name}`);
  const x: Printable[] = [`${obj}.${field.localName} ?? `, rt.inp("missingKey"), `(${where}, ${lit(field.localName)})`];
  if (col.encoding === "bigint" && col.unsigned)
    return [rt.inp("uint64Param"), "(", ...x, `, this.db.dialect, ${where})`];
  if (col.encoding === "bigint") return [rt.inp("int64Param"), "(", ...x, `, ${where})`];
  if (col.encoding === "bool") return ["(", ...x, ") ? 1 : 0"];
  if (isFloat(field)) return ["Math.fround(", ...x, ")"];
  return x;
}

export function emitSqlTable(f: GeneratedFile, message: DescMessage, spec: SqlTableSpec, rt: Runtime): void {
  const doc = (text: string, indent = "") => f.jsDoc(wrapDoc(text, indent), indent);
  const Row = f.importShape(message);
  const name = message.name;
  const fn = camel(name.replace(/_/g, ""));
  const keyFields = spec.primaryKey.map((k) => fieldOf(message, spec.columns.find((c) => c.name === k)!));
  const counters = spec.columns.filter((c) => c.counter);
  const nullable = spec.columns.filter((c) => c.nullable && !c.counter);
  const writable = spec.columns.filter((c) => !c.counter);
  const sqlite = tableSql(spec, "sqlite");
  const mysql = tableSql(spec, "mysql");
  const finders = listFinders(spec);
  const uniques = uniqueFinders(spec);
  const deletes = deleteFinders(spec);
  const counts = countFinders(spec);
  const from = generatedFromMessage(message);
  const rowDoc = protoComments(message);
  const uniqueIdx = uniqueSecondaries(spec);
  const keyUnion = keyFields.map((k) => lit(k.localName)).join(" | ");
  const counterUnion = counters.map((c) => lit(fieldOf(message, c).localName));
  const nullableUnion = nullable.map((c) => lit(fieldOf(message, c).localName));

  f.print(`// ── `, name, ` → table ${spec.name} ${"─".repeat(Math.max(0, 60 - name.length - spec.name.length))}`);
  f.print();
  f.print(
    doc(
      docText(
        `Table ${spec.name}: its schema manifest entry (diffed by the migrator; gen/manifest.json lists the same).`,
        from,
      ),
    ),
  );
  f.print(f.export("const", `${name}Table`), ": ", rt.SqlTableSpec, " = ", ...specLiteral(spec, rt.column), ";");
  f.print();
  f.print(doc(docText(`The SQL of every ${name}Dao method, per dialect.`, from)));
  f.print(f.export("const", `${name}Sql`), " = {");
  f.print("  sqlite: ", sqlLiteral(sqlite, "  "), ",");
  f.print("  mysql: ", sqlLiteral(mysql, "  "), ",");
  f.print("} as const;");
  f.print();
  f.print(doc(docText(`Primary key of ${spec.name} (${spec.primaryKey.join(", ")}).`, fieldNotes(keyFields), from)));
  f.print(f.export("type", `${name}Key`), " = Pick<", Row, ", ", keyUnion, ">;");
  f.print(doc(docText(`A ${name} to insert: the key is required; absent fields take their zero value.`, from)));
  f.print(f.export("type", `${name}Init`), " = ", rt.RowInit, "<", Row, ", ", keyUnion, ">;");
  f.print(
    doc(docText(`Fields of a ${name} to change${nullable.length ? " (null clears a nullable column)" : ""}.`, from)),
  );
  f.print(
    f.export("type", `${name}Patch`),
    " = ",
    rt.RowPatch,
    "<",
    Row,
    ", ",
    [keyUnion, ...counterUnion].join(" | "),
    ", ",
    nullableUnion.length ? nullableUnion.join(" | ") : "never",
    ">;",
  );
  f.print();
  // Row mapper: every read asks for array rows in select-list order (getValues/allValues).
  f.print(doc("A row from an array of its column values in select-list order.", ""));
  f.print(`function ${fn}FromValues(r: readonly unknown[]): `, Row, " {");
  f.print("  return {");
  f.print(`    $typeName: ${lit(message.typeName)},`);
  spec.columns.forEach((col, i) => {
    f.print(`    ${fieldOf(message, col).localName}: `, ...readExpr(f, rt, message, col, i), ",");
  });
  f.print("  };");
  f.print("}");
  f.print();
  f.print(`function ${fn}ToSql(row: ${name}Init, d: `, rt.Dialect, "): ", rt.SqlValue, "[] {");
  f.print("  return [");
  for (const col of writable) {
    f.print("    ", ...writeExpr(f, rt, message, spec.name, col), ",");
  }
  f.print("  ];");
  f.print("}");
  f.print();
  if (uniqueIdx.length) {
    const keyAt = spec.primaryKey.map((k) => writable.findIndex((c) => c.name === k));
    f.print(doc("How a MySQL upsert finds rows left alone for a unique-index conflict (checkUpserted).", ""));
    f.print(
      `const ${fn}UpsertCheck: `,
      rt.UpsertCheck,
      ` = { table: ${lit(spec.name)}, keyAt: [${keyAt.join(", ")}], uniqueIndexes: [${uniqueIdx.map(lit).join(", ")}] };`,
    );
    f.print();
  }
  // Where a keyset cursor's columns stand in a row (select-list positions).
  const cursorAt = (cols: readonly string[]) =>
    `[${cols.map((c) => spec.columns.findIndex((x) => x.name === c)).join(", ")}]`;

  // DAO class
  f.print(
    doc(
      docText(
        rowDoc,
        `Typed access to table ${spec.name}. Pass the store, or a transaction (\`db.transaction(tx => …)\`) to run any method inside it.`,
        from,
      ),
    ),
  );
  f.print(f.export("class", `${name}Dao`), " {");
  f.print(`  static readonly table = ${name}Table;`);
  f.print(`  private readonly q: (typeof ${name}Sql)["sqlite" | "mysql"];`);
  f.print("  private readonly updates: ", rt.UpdateBuilder, ";");
  f.print();
  f.print("  constructor(readonly db: ", rt.SqlExecutor, ") {");
  f.print(`    this.q = ${name}Sql[db.dialect];`);
  f.print(`    this.updates = new `, rt.UpdateBuilder, `(${lit(spec.name)}, this.q.updateWhere, db.dialect);`);
  f.print("  }");
  f.print();
  f.print(doc("The same DAO on another executor (a transaction).", "  "));
  f.print("  with(db: ", rt.SqlExecutor, `): ${name}Dao {`);
  f.print(`    return new ${name}Dao(db);`);
  f.print("  }");
  f.print();
  f.print(doc("Inserts a row; fails with a duplicate-key error if the key exists.", "  "));
  f.print(`  async insert(row: ${name}Init): Promise<void> {`);
  f.print(`    await this.db.run(this.q.insert, ${fn}ToSql(row, this.db.dialect));`);
  f.print("  }");
  f.print();
  f.print(doc("Inserts many rows with multi-row INSERTs. Returns the number inserted.", "  "));
  f.print(`  async insertMany(rows: readonly ${name}Init[]): Promise<number> {`);
  f.print(
    `    return `,
    rt.insertRows,
    `(this.db, this.q.insertHead, this.q.insertTuple, "", rows.map((r) => ${fn}ToSql(r, this.db.dialect)));`,
  );
  f.print("  }");
  f.print();
  f.print(doc("Inserts the row unless one with the same key exists. True if inserted.", "  "));
  f.print(`  async insertIfAbsent(row: ${name}Init): Promise<boolean> {`);
  f.print(`    const r = await this.db.run(this.q.insertIfAbsent, ${fn}ToSql(row, this.db.dialect));`);
  f.print("    return r.changes > 0;");
  f.print("  }");
  f.print();
  f.print(
    doc(
      `Inserts the row, or overwrites every non-key column of the existing one${counters.length ? " (counters are kept)" : ""}.`,
      "  ",
    ),
  );
  if (uniqueIdx.length === 0) {
    f.print(`  async upsert(row: ${name}Init): Promise<void> {`);
    f.print(`    await this.db.run(this.q.upsert, ${fn}ToSql(row, this.db.dialect));`);
    f.print("  }");
  } else {
    f.print(`  async upsert(row: ${name}Init): Promise<void> {`);
    f.print(`    const p = ${fn}ToSql(row, this.db.dialect);`);
    f.print(`    const r = await this.db.run(this.q.upsert, p);`);
    f.print(`    // MySQL: 0 rows changed is an identical row, or one left alone for a unique-index conflict.`);
    f.print(
      `    if (r.changes === 0 && this.q.upsertCheck) await `,
      rt.checkUpserted,
      `(this.db, this.q.upsertCheck, ${fn}UpsertCheck, [p]);`,
    );
    f.print("  }");
  }
  f.print();
  f.print(
    doc(
      "Upserts many rows with multi-row statements, all or nothing (in a transaction of their own when they need more than one statement" +
        (uniqueIdx.length ? " or a unique-index check" : "") +
        ").",
      "  ",
    ),
  );
  f.print(`  async upsertMany(rows: readonly ${name}Init[]): Promise<void> {`);
  f.print(
    `    await `,
    rt.upsertRows,
    `(this.db, this.q.insertHead, this.q.insertTuple, this.q.upsertTail, rows.map((r) => ${fn}ToSql(r, this.db.dialect)), this.q.upsertCheck`,
    uniqueIdx.length ? `, ${fn}UpsertCheck` : "",
    `);`,
  );
  f.print("  }");
  f.print();
  f.print(doc("The row with this primary key, if any.", "  "));
  f.print(`  async get(key: ${name}Key): Promise<`, Row, " | undefined> {");
  f.print(`    const r = await this.db.getValues(this.q.get, `, ...keyParam(message, spec, rt, "key"), ");");
  f.print(`    return r && ${fn}FromValues(r);`);
  f.print("  }");
  f.print();
  if (spec.primaryKey.length === 1) {
    const kcol = spec.columns.find((c) => c.name === spec.primaryKey[0])!;
    f.print(doc("The rows with these keys, in no particular order (missing keys are left out).", "  "));
    f.print(`  async getMany(keys: readonly ${name}Key[]): Promise<`, Row, "[]> {");
    f.print("    if (keys.length === 0) return [];");
    f.print(
      `    return `,
      rt.selectIn,
      `(this.db, this.q.getManyHead, keys.map((k) => `,
      ...paramOf(rt, spec, kcol, "k", fieldOf(message, kcol)),
      `), ${fn}FromValues);`,
    );
    f.print("  }");
    f.print();
  }
  f.print(doc("Changes the fields `patch` sets. True if the row exists.", "  "));
  f.print(`  async update(key: ${name}Key, patch: ${name}Patch): Promise<boolean> {`);
  f.print("    const cols: string[] = [];");
  f.print("    const params: ", rt.SqlValue, "[] = [];");
  f.print(`    const row = patch as ${name}Init;`);
  f.print("    const d = this.db.dialect;");
  for (const col of writable.filter((c) => !spec.primaryKey.includes(c.name))) {
    const lf = fieldOf(message, col).localName;
    if (col.nullable) {
      f.print(
        `    if (patch.${lf} !== undefined) { cols.push(${lit(col.name)}); params.push(patch.${lf} === null ? null : (`,
        ...writeExpr(f, rt, message, spec.name, { ...col, nullable: false }),
        ")); }",
      );
    } else {
      f.print(
        `    if (patch.${lf} !== undefined) { cols.push(${lit(col.name)}); params.push(`,
        ...writeExpr(f, rt, message, spec.name, col),
        "); }",
      );
    }
  }
  f.print(`    if (cols.length === 0) return (await this.get(key)) !== undefined;`);
  f.print(
    `    const r = await this.db.run(this.updates.sql(cols), [...params, ...`,
    ...keyParam(message, spec, rt, "key"),
    "]);",
  );
  f.print('    return r.changes > 0 || (d === "mysql" && (await this.get(key)) !== undefined);');
  f.print("  }");
  f.print();
  f.print(doc("Deletes the row with this key. True if it existed.", "  "));
  f.print(`  async delete(key: ${name}Key): Promise<boolean> {`);
  f.print(`    return (await this.db.run(this.q.delete, `, ...keyParam(message, spec, rt, "key"), ")).changes > 0;");
  f.print("  }");
  f.print();
  f.print(doc("Number of rows in the table.", "  "));
  f.print("  async count(): Promise<number> {");
  f.print("    const r = await this.db.get<{ n: unknown }>(this.q.count);");
  f.print("    return Number(r?.n ?? 0);");
  f.print("  }");
  f.print();
  f.print(doc(`A page of all rows in primary-key order (${spec.primaryKey.join(", ")}).`, "  "));
  f.print("  async list(page?: ", rt.PageOptions, "): Promise<", rt.Page, "<", Row, ">> {");
  f.print(
    `    return `,
    rt.keysetPage,
    `(this.db, this.q.list, ${lit(`${spec.name}.pk`)}, [], page, ${fn}FromValues, ${cursorAt(spec.primaryKey)});`,
  );
  f.print("  }");
  for (const u of uniques) {
    const cols = u.columns.map((c) => spec.columns.find((x) => x.name === c)!);
    const fields = cols.map((c) => fieldOf(message, c).localName);
    f.print();
    f.print(
      doc(
        docText(
          `The row with this ${u.columns.join(", ")} (unique index ${u.index}), if any.`,
          fieldNotes(cols.map((c) => fieldOf(message, c))),
        ),
        "  ",
      ),
    );
    f.print(
      `  async ${u.name}(where: Pick<`,
      Row,
      `, ${fields.map(lit).join(" | ")}>): Promise<`,
      Row,
      " | undefined> {",
    );
    const ps = whereParams(rt, spec, message, cols);
    f.print(`    const r = await this.db.getValues(this.q.unique.${u.name}, [`, ...ps, "]);");
    f.print(`    return r && ${fn}FromValues(r);`);
    f.print("  }");
  }
  const countsDone = new Set<string>();
  for (const fd of finders) {
    const cols = fd.eq.map((c) => spec.columns.find((x) => x.name === c)!);
    const fields = cols.map((c) => fieldOf(message, c).localName);
    const ps = whereParams(rt, spec, message, cols);
    f.print();
    f.print(
      doc(
        docText(
          `A page of rows with this ${fd.eq.join(", ")}, ordered by ${fd.orderBy.join(", ")} (${indexName(fd.index)}).`,
          fieldNotes(cols.map((c) => fieldOf(message, c))),
        ),
        "  ",
      ),
    );
    f.print(
      `  async ${fd.name}(where: Pick<`,
      Row,
      `, ${fields.map(lit).join(" | ")}>, page?: `,
      rt.PageOptions,
      "): Promise<",
      rt.Page,
      "<",
      Row,
      ">> {",
    );
    f.print(
      `    return `,
      rt.keysetPage,
      `(this.db, this.q.finders.${fd.name}, ${lit(`${spec.name}.${fd.index}`)}, [`,
      ...ps,
      `], page, ${fn}FromValues, ${cursorAt(fd.orderBy)});`,
    );
    f.print("  }");
    // The count of these equality columns, after the first list finder that has them.
    const count = counts.find((c) => c.eq.join() === fd.eq.join() && !countsDone.has(c.name));
    if (!count) continue;
    countsDone.add(count.name);
    f.print();
    f.print(doc(`Number of rows with this ${fd.eq.join(", ")} (${indexName(count.index)}).`, "  "));
    f.print(`  async ${count.name}(where: Pick<`, Row, `, ${fields.map(lit).join(" | ")}>): Promise<number> {`);
    f.print(`    const r = await this.db.get<{ n: unknown }>(this.q.counts.${count.name}, [`, ...ps, "]);");
    f.print("    return Number(r?.n ?? 0);");
    f.print("  }");
  }
  for (const d of deletes) {
    const cols = d.eq.map((c) => spec.columns.find((x) => x.name === c)!);
    const fields = cols.map((c) => fieldOf(message, c).localName);
    const ps = whereParams(rt, spec, message, cols);
    f.print();
    f.print(
      doc(
        `Deletes at most \`limit\` rows with this ${d.eq.join(", ")} (1..${MAX_DELETE_LIMIT}; the first in ${d.orderBy.join(", ")} order, ${indexName(d.index)}). Returns the number deleted: call again until it is 0 to delete them all in bounded statements.`,
        "  ",
      ),
    );
    f.print(
      `  async ${d.name}(where: Pick<`,
      Row,
      `, ${fields.map(lit).join(" | ")}>, opts: `,
      rt.DeleteOptions,
      "): Promise<number> {",
    );
    f.print(`    return `, rt.deleteLimited, `(this.db, this.q.deletes.${d.name}, [`, ...ps, "], opts);");
    f.print("  }");
  }
  for (const c of counters) {
    const m = `increment${pascal(c.name)}`;
    f.print();
    const field = fieldOf(message, c);
    f.print(
      doc(
        docText(
          protoComments(field),
          `Adds \`delta\` to counter ${c.name} atomically. True if the row exists.`,
          generatedFromField(field),
        ),
        "  ",
      ),
    );
    f.print(`  async ${m}(key: ${name}Key, delta: bigint | number = 1): Promise<boolean> {`);
    f.print(
      `    const r = await this.db.run(this.q.increments.${c.name}, [BigInt(delta), ...`,
      ...keyParam(message, spec, rt, "key"),
      "]);",
    );
    f.print("    return r.changes > 0;");
    f.print("  }");
  }
  f.print("}");
  f.print();
}
