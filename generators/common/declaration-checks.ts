/**
 * Gen-time checks of column options that would otherwise pass `npm run gen`
 * and fail later (a MariaDB boot refusing a default) or behave differently per
 * engine (a CHAR column dropping trailing spaces on MySQL only). Each throws a
 * TableDeclarationError naming the file, message and field (`where`).
 *
 * The SQL type vocabulary is the migrator's (platform/storage/sql/sql-types.ts): types
 * are parsed with parseMysqlType, and an integer or float override must be a
 * widening of the field's natural type (mysqlWidens), so no value of the
 * proto type can be out of range for the column.
 */
import { ScalarType } from "@bufbuild/protobuf";
import type { DescField } from "@bufbuild/protobuf";
import {
  BLOB_RANK,
  canonicalMysqlType,
  INT_RANK,
  LOB_BYTES,
  mysqlWidens,
  parseMysqlType,
  TEXT_RANK,
  type MysqlType,
} from "../../platform/storage/sql/sql-types.js";
import { parseManifestDefault, type Literal } from "../../platform/storage/sql/sql-literal.js";
import type { ColumnSpec, Encoding } from "../../platform/storage/schema.js";
import type { ColumnOpt } from "./options.js";

export class TableDeclarationError extends Error {
  override readonly name = "TableDeclarationError";
}

/** Longest VARCHAR of utf8mb4 text MySQL/MariaDB accept (65,535 bytes / 4). */
export const MAX_VARCHAR = 16_383;
/** Longest VARBINARY (65,535 bytes less the length prefix). */
export const MAX_VARBINARY = 65_532;
/** InnoDB's limit on the bytes of one key or index (DYNAMIC rows, 16 KiB pages). */
export const MAX_KEY_BYTES = 3072;

/** The proto type of a field as a reader writes it: "int64", "string", "enum orbit.x.Kind", "repeated int64". */
export function protoTypeName(field: DescField): string {
  switch (field.fieldKind) {
    case "scalar":
      return ScalarType[field.scalar].toLowerCase();
    case "enum":
      return `enum ${field.enum.typeName}`;
    case "message":
      return field.message.typeName;
    case "list":
      return `repeated ${field.listKind === "scalar" ? ScalarType[field.scalar].toLowerCase() : field.listKind === "enum" ? field.enum.typeName : field.message.typeName}`;
    case "map":
      return "map";
  }
}

function article(word: string): string {
  return /^[aeio]|^un/i.test(word) ? "an" : "a";
}

const STRING_TYPES = "varchar(n), tinytext, text, mediumtext or longtext";
const BYTES_TYPES = "varbinary(n), tinyblob, blob, mediumblob or longblob";

/** What an override may be, for each natural type (for messages). */
function allowedTypes(encoding: Encoding, naturalMysql: string): string {
  switch (encoding) {
    case "string":
    case "json":
      return STRING_TYPES;
    case "bytes":
    case "proto":
      return BYTES_TYPES;
    case "bool":
      return "tinyint(1) or boolean";
    default:
      switch (naturalMysql) {
        case "INT":
          return "int or bigint";
        case "INT UNSIGNED":
          return "int unsigned, bigint or bigint unsigned";
        case "BIGINT":
          return "bigint";
        case "BIGINT UNSIGNED":
          return "bigint unsigned";
        case "FLOAT":
          return "float or double";
        default:
          return "double";
      }
  }
}

/**
 * An `sql_type` override must hold every value of the field's proto type
 * the same way on every engine. `naturalMysql` is the type the field gets
 * without the override (INT, BIGINT UNSIGNED, TEXT, …).
 */
export function checkSqlType(
  where: string,
  field: DescField,
  encoding: Encoding,
  naturalMysql: string,
  sqlType: string,
  inKey: boolean,
): void {
  const t = parseMysqlType(sqlType);
  const what = `sql_type "${sqlType}"`;
  const proto = protoTypeName(field);
  const use = allowedTypes(encoding, naturalMysql);
  const refuse = (why: string): never => {
    throw new TableDeclarationError(`${where}: ${what} ${why} (use ${use})`);
  };
  switch (encoding) {
    case "string":
    case "json":
    case "bytes":
    case "proto": {
      const text = encoding === "string" || encoding === "json";
      if (t.base === "char") {
        refuse("is CHAR, which drops trailing spaces on MySQL/MariaDB but not on SQLite");
      }
      if (t.base === "binary") {
        refuse("is BINARY, which pads short values with zero bytes on MySQL/MariaDB but not on SQLite");
      }
      const variable = text ? "varchar" : "varbinary";
      const lobs = text ? TEXT_RANK : BLOB_RANK;
      if (t.unsigned || t.rest || (t.base !== variable && !(t.base in lobs))) {
        refuse(`does not fit ${article(proto)} ${proto} field`);
      }
      if (t.base === variable) {
        const max = text ? MAX_VARCHAR : MAX_VARBINARY;
        const n = t.args[0];
        if (t.args.length !== 1 || n === undefined || n < 1 || n > max) {
          refuse(`needs a length in 1..${max}`);
        }
      } else if (inKey) {
        throw new TableDeclarationError(
          `${where}: ${what} cannot be a key or index column: MySQL/MariaDB cannot index ${text ? "TEXT" : "BLOB"} ` +
            `without a prefix (use ${variable}(n))`,
        );
      }
      return;
    }
    case "bool":
      if (t.base !== "tinyint" || t.rest) refuse(`does not fit a bool field`);
      return;
    case "int":
    case "bigint":
    case "enum":
    case "double": {
      const numeric = t.base in INT_RANK || t.base === "float" || t.base === "double" || t.base === "decimal";
      if (!numeric) refuse(`does not fit ${article(proto)} ${proto} field`);
      const same = canonicalMysqlType(naturalMysql) === canonicalMysqlType(sqlType);
      if (!same && !mysqlWidens(naturalMysql, sqlType)) refuse(`cannot hold every ${proto} value`);
      return;
    }
  }
}

/**
 * `nullable = true` needs a field with presence: a scalar or enum field
 * without proto3 `optional` (or a repeated/map field) cannot tell NULL from
 * its zero value, so NULL would come back as undefined in a field typed
 * string, bigint, array…
 */
export function checkNullable(where: string, field: DescField, opt: ColumnOpt | undefined): void {
  if (opt?.nullable !== true) return;
  if (field.fieldKind === "message" || field.proto.proto3Optional === true) return;
  const proto = protoTypeName(field);
  if (field.fieldKind === "list" || field.fieldKind === "map") {
    throw new TableDeclarationError(
      `${where}: nullable = true on a ${proto} field: repeated and map fields have no presence ` +
        `(NULL would read back as undefined); an empty one is stored as an empty value`,
    );
  }
  const decl = field.fieldKind === "enum" ? field.enum.name : proto;
  throw new TableDeclarationError(
    `${where}: nullable = true on ${article(proto)} ${proto} field without presence (NULL would read back as ` +
      `undefined); declare it \`optional ${decl} ${field.name} = ${field.number};\` instead`,
  );
}

const INT_LITERAL = /^[+-]?\d+$/;

function intRange(field: DescField): { lo: bigint; hi: bigint; name: string } {
  const s = field.fieldKind === "scalar" ? field.scalar : ScalarType.INT32;
  switch (s) {
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { lo: 0n, hi: 2n ** 32n - 1n, name: "uint32" };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { lo: -(2n ** 63n), hi: 2n ** 63n - 1n, name: "int64" };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { lo: 0n, hi: 2n ** 64n - 1n, name: "uint64" };
    default:
      return { lo: -(2n ** 31n), hi: 2n ** 31n - 1n, name: "int32" };
  }
}

/** Characters (varchar) or bytes (lobs, varbinary) a MySQL type holds. */
function capacity(t: MysqlType): { size: number; unit: "characters" | "bytes" } | undefined {
  if (t.base === "varchar") return { size: t.args[0] ?? 0, unit: "characters" };
  if (t.base === "varbinary") return { size: t.args[0] ?? 0, unit: "bytes" };
  if (t.base in TEXT_RANK) return { size: LOB_BYTES[TEXT_RANK[t.base]!]!, unit: "bytes" };
  if (t.base in BLOB_RANK) return { size: LOB_BYTES[BLOB_RANK[t.base]!]!, unit: "bytes" };
  return undefined;
}

const FLOAT_MAX = 3.4028234663852886e38;

/**
 * A `default` must be an SQL literal of the column's own type, in range and
 * within its length, so that SQLite and MySQL/MariaDB both accept it and
 * mean the same value.
 */
export function checkDefault(where: string, field: DescField, col: ColumnSpec, text: string): void {
  const proto = protoTypeName(field);
  const what = `default ${JSON.stringify(text)}`;
  const refuse = (why: string): never => {
    throw new TableDeclarationError(`${where}: ${what} ${why}`);
  };
  if (col.encoding === "proto" || col.encoding === "json") {
    refuse(`on ${article(proto)} ${proto} field: defaults are for scalar and enum columns only`);
  }
  let lit: Literal | undefined;
  try {
    lit = parseManifestDefault(text, where);
  } catch {
    lit = undefined;
  }
  if (lit?.kind === "null") {
    if (col.nullable) return;
    refuse(`on a NOT NULL column (make the field \`optional\` to allow NULL)`);
  }
  const t = text.trim();
  switch (col.encoding) {
    case "int":
    case "bigint": {
      const r = intRange(field);
      if (!INT_LITERAL.test(t)) refuse(`does not fit ${article(proto)} ${proto} field (use an integer such as 7)`);
      const v = BigInt(t);
      if (v < r.lo || v > r.hi) refuse(`is out of range for ${article(r.name)} ${r.name} field (${r.lo}..${r.hi})`);
      return;
    }
    case "enum": {
      if (field.fieldKind !== "enum") return;
      const values = field.enum.values.map((v) => `${v.number} (${v.name})`).join(", ");
      if (!INT_LITERAL.test(t)) refuse(`does not fit ${proto} (use the number of one of its values: ${values})`);
      const n = Number(t);
      if (!field.enum.values.some((v) => v.number === n)) {
        refuse(`is not a value of ${proto} (use one of ${values})`);
      }
      return;
    }
    case "bool":
      if (!/^(0|1|true|false)$/i.test(t)) refuse(`does not fit a bool field (use TRUE, FALSE, 1 or 0)`);
      return;
    case "double": {
      const n = lit?.kind === "number" ? Number(t) : NaN;
      if (!Number.isFinite(n)) refuse(`does not fit ${article(proto)} ${proto} field (use a number such as 1.5)`);
      const isFloat = parseMysqlType(col.mysql).base === "float";
      if (isFloat && Math.abs(n) > FLOAT_MAX) refuse(`is out of range for a FLOAT column`);
      return;
    }
    case "string": {
      if (lit?.kind !== "string") {
        return refuse(`does not fit a string field (use a quoted SQL string such as 'abc', with '' for a quote)`);
      }
      const value = lit.value;
      const cap = capacity(parseMysqlType(col.mysql));
      if (cap) {
        const len = cap.unit === "characters" ? [...value].length : Buffer.byteLength(value, "utf8");
        if (len > cap.size) refuse(`is ${len} ${cap.unit}, longer than its ${col.mysql} column holds (${cap.size})`);
      }
      return;
    }
    case "bytes": {
      const bytes = lit?.kind === "bytes" ? lit.hex.length / 2 : lit?.kind === "string" && lit.value === "" ? 0 : -1;
      if (bytes < 0) refuse(`does not fit a bytes field (use X'hex', e.g. X'00ff', or '')`);
      const cap = capacity(parseMysqlType(col.mysql));
      if (cap && bytes > cap.size) refuse(`is ${bytes} bytes, longer than its ${col.mysql} column holds (${cap.size})`);
      return;
    }
  }
}

/** Bytes a key column takes in an InnoDB index (utf8mb4: 4 bytes a character). */
function keyBytes(mysql: string): number {
  const t = parseMysqlType(mysql);
  const ints: Record<string, number> = { tinyint: 1, smallint: 2, mediumint: 3, int: 4, bigint: 8 };
  if (t.base in ints) return ints[t.base]!;
  if (t.base === "float") return 4;
  if (t.base === "double") return 8;
  if (t.base === "varchar") return 4 * (t.args[0] ?? 0);
  if (t.base === "varbinary") return t.args[0] ?? 0;
  return 0;
}

/** A key or index whose columns exceed InnoDB's 3072 bytes fails CREATE TABLE on MySQL/MariaDB. */
export function checkKeyWidth(where: string, what: string, columns: readonly ColumnSpec[]): void {
  const total = columns.reduce((n, c) => n + keyBytes(c.mysql), 0);
  if (total > MAX_KEY_BYTES) {
    const parts = columns.map((c) => `${c.name} ${c.mysql} ${keyBytes(c.mysql)}`).join(", ");
    throw new TableDeclarationError(
      `${where}: ${what} takes ${total} bytes on MySQL/MariaDB (${parts}; utf8mb4 counts 4 bytes a character), ` +
        `more than InnoDB's ${MAX_KEY_BYTES}: give its string columns a shorter sql_type such as varchar(64)`,
    );
  }
}

/**
 * `renamed_from` names a column this one used to be: it must be a plain
 * identifier, not this column's own name, not another column of the table
 * (the migrator would refuse at boot) and not claimed by two columns.
 */
export function checkRenames(where: string, columns: readonly ColumnSpec[]): void {
  const names = new Set(columns.map((c) => c.name));
  const claimed = new Map<string, string>();
  for (const c of columns) {
    for (const old of c.renamedFrom ?? []) {
      const at = `${where}.${c.name}`;
      if (!/^[a-z][a-z0-9_]{0,62}$/.test(old)) {
        throw new TableDeclarationError(`${at}: renamed_from "${old}" is not a valid column name`);
      }
      if (old === c.name) throw new TableDeclarationError(`${at}: renamed_from names the column itself`);
      if (names.has(old)) {
        throw new TableDeclarationError(
          `${at}: renamed_from names "${old}", which is still a field of the message (drop it from renamed_from, or rename that field)`,
        );
      }
      const other = claimed.get(old);
      if (other === c.name) throw new TableDeclarationError(`${at}: renamed_from lists "${old}" twice`);
      if (other) throw new TableDeclarationError(`${at}: renamed_from names "${old}", which ${other} also claims`);
      claimed.set(old, c.name);
    }
  }
}

/** Two indexes (or an index and the primary key) on the same columns in the same order. */
export function checkDuplicateIndexes(
  where: string,
  primaryKey: readonly string[],
  indexes: readonly { name: string; columns: readonly string[] }[],
): void {
  const seen = new Map<string, string>([[primaryKey.join(","), "the primary key"]]);
  const names = new Set<string>();
  for (const i of indexes) {
    if (names.has(i.name)) throw new TableDeclarationError(`${where}: two indexes are named ${i.name}`);
    names.add(i.name);
    const key = i.columns.join(",");
    const other = seen.get(key);
    if (other) {
      throw new TableDeclarationError(
        `${where}: index ${i.name} is on the same columns (${i.columns.join(", ")}) as ${other}`,
      );
    }
    seen.set(key, `index ${i.name}`);
  }
}
