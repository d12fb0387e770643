/**
 * Turns a message with a table option into a TableSpec (the schema manifest
 * entry): column names, encodings and types per engine, keys and indexes.
 * Invalid declarations fail generation with a message naming the message and
 * the field.
 */
import { ScalarType } from "@bufbuild/protobuf";
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import type {
  ColumnSpec,
  Encoding,
  IndexSpec,
  SqlTableSpec,
  TableSpec,
  WideTableSpec,
} from "../../platform/storage/schema.js";
import { sqlShapeOfWide } from "../../platform/storage/wide-sql-shape.js";
import {
  checkDefault,
  checkDuplicateIndexes,
  checkKeyWidth,
  checkNullable,
  checkRenames,
  checkSqlType,
  TableDeclarationError,
} from "./declaration-checks.js";
import { ORDER_DESC, type ColumnOpt, type IndexOpt, type OrbitOptions } from "./options.js";

export { TableDeclarationError };

export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toLowerCase();
}

const IDENT = /^[a-z][a-z0-9_]{0,62}$/;

interface TypeInfo {
  encoding: Encoding;
  sqlite: string;
  mysql: string;
  cql: string;
  unsigned?: boolean;
}

function scalarType(t: ScalarType): TypeInfo {
  switch (t) {
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { encoding: "int", sqlite: "INTEGER", mysql: "INT", cql: "int" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { encoding: "int", sqlite: "INTEGER", mysql: "INT UNSIGNED", cql: "bigint", unsigned: true };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { encoding: "bigint", sqlite: "INTEGER", mysql: "BIGINT", cql: "bigint" };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { encoding: "bigint", sqlite: "INTEGER", mysql: "BIGINT UNSIGNED", cql: "varint", unsigned: true };
    case ScalarType.DOUBLE:
      return { encoding: "double", sqlite: "REAL", mysql: "DOUBLE", cql: "double" };
    case ScalarType.FLOAT:
      return { encoding: "double", sqlite: "REAL", mysql: "FLOAT", cql: "float" };
    case ScalarType.BOOL:
      return { encoding: "bool", sqlite: "INTEGER", mysql: "TINYINT(1)", cql: "boolean" };
    case ScalarType.STRING:
      return { encoding: "string", sqlite: "TEXT", mysql: "TEXT", cql: "text" };
    case ScalarType.BYTES:
      return { encoding: "bytes", sqlite: "BLOB", mysql: "LONGBLOB", cql: "blob" };
  }
}

/** SQLite storage class for a MySQL-spelled type override. */
export function sqliteTypeFor(sqlType: string): string {
  const t = sqlType.trim().toLowerCase();
  if (/^(tiny|small|medium|big)?int|^integer|^bool/.test(t)) return "INTEGER";
  if (/^(double|float|real|decimal|numeric)/.test(t)) return "REAL";
  if (/^(var)?binary|blob$/.test(t)) return "BLOB";
  return "TEXT";
}

function zeroDefault(encoding: Encoding): string | undefined {
  switch (encoding) {
    case "int":
    case "bigint":
    case "double":
    case "bool":
    case "enum":
      return "0";
    case "string":
    case "bytes":
    case "proto":
    case "json":
      return "''";
  }
}

function columnOf(where: string, field: DescField, opt: ColumnOpt | undefined, inKey: boolean): ColumnSpec {
  const name = field.name;
  if (!IDENT.test(name)) {
    throw new TableDeclarationError(`${where}: field name "${name}" is not a valid column name`);
  }
  let info: TypeInfo;
  let protoType: string | undefined;
  let repeated = false;
  const asJson = opt?.json === true;
  switch (field.fieldKind) {
    case "scalar":
      info = scalarType(field.scalar);
      break;
    case "enum":
      info = { encoding: "enum", sqlite: "INTEGER", mysql: "INT", cql: "int" };
      protoType = field.enum.typeName;
      break;
    case "message":
    case "list":
    case "map":
      repeated = field.fieldKind !== "message";
      protoType =
        field.fieldKind === "message"
          ? field.message.typeName
          : field.fieldKind === "list"
            ? field.listKind === "message"
              ? field.message.typeName
              : undefined
            : undefined;
      info = asJson
        ? { encoding: "json", sqlite: "TEXT", mysql: "LONGTEXT", cql: "text" }
        : { encoding: "proto", sqlite: "BLOB", mysql: "LONGBLOB", cql: "blob" };
      break;
  }
  if (asJson && info.encoding !== "json") {
    throw new TableDeclarationError(`${where}: column option json is only for message, repeated or map fields`);
  }
  const counter = opt?.counter === true;
  if (counter && field.fieldKind === "scalar" && field.scalar !== ScalarType.INT64) {
    throw new TableDeclarationError(`${where}: counter columns must be int64`);
  }
  if (counter && field.fieldKind !== "scalar") {
    throw new TableDeclarationError(`${where}: counter columns must be int64`);
  }
  checkNullable(where, field, opt);
  let mysql = info.mysql;
  let sqlite = info.sqlite;
  if (opt?.sqlType) {
    if (!/^[A-Za-z]+( ?\(\s*\d+\s*(,\s*\d+\s*)?\))?( unsigned)?$/i.test(opt.sqlType.trim())) {
      throw new TableDeclarationError(`${where}: sql_type "${opt.sqlType}" is not a plain SQL type like varchar(64)`);
    }
    checkSqlType(where, field, info.encoding, info.mysql, opt.sqlType.trim(), inKey);
    mysql = opt.sqlType.trim().toUpperCase();
    sqlite = sqliteTypeFor(opt.sqlType);
  } else if (inKey && info.encoding === "string") {
    mysql = "VARCHAR(255)"; // MySQL cannot index TEXT without a prefix length
  } else if (inKey && info.encoding === "bytes") {
    mysql = "VARBINARY(255)";
  }
  const explicitOptional = field.proto.proto3Optional === true;
  // A singular message field is absent as NULL; proto3 `optional` is explicit presence.
  const nullable = explicitOptional || opt?.nullable === true || field.fieldKind === "message";
  if (nullable && inKey) {
    throw new TableDeclarationError(`${where}: key and index columns cannot be nullable`);
  }
  if (inKey && (info.encoding === "proto" || info.encoding === "json")) {
    throw new TableDeclarationError(`${where}: message, repeated and map fields cannot be key or index columns`);
  }
  if (counter && nullable) {
    throw new TableDeclarationError(`${where}: a counter cannot be optional or nullable (NULL + 1 stays NULL)`);
  }
  const def = opt?.default
    ? opt.default
    : nullable || counter
      ? counter
        ? "0"
        : undefined
      : zeroDefault(info.encoding);
  const spec: ColumnSpec = {
    name,
    field: field.localName,
    encoding: info.encoding,
    sqlite,
    mysql,
    cql: counter ? "counter" : info.cql,
    nullable,
    ...(def !== undefined ? { default: def } : {}),
    ...(opt?.renamedFrom?.length ? { renamedFrom: [...opt.renamedFrom] } : {}),
    ...(counter ? { counter: true } : {}),
    ...(info.unsigned ? { unsigned: true } : {}),
    ...(protoType ? { protoType } : {}),
    ...(repeated ? { repeated: true } : {}),
  };
  if (opt?.default) checkDefault(where, field, spec, opt.default);
  return spec;
}

function checkColumns(where: string, what: string, names: readonly string[], message: DescMessage): void {
  for (const n of names) {
    if (!message.fields.some((f) => f.name === n)) {
      throw new TableDeclarationError(`${where}: ${what} names "${n}", which is not a field of ${message.name}`);
    }
  }
  if (new Set(names).size !== names.length) {
    throw new TableDeclarationError(`${where}: ${what} names a column twice`);
  }
}

function indexSpec(table: string, idx: IndexOpt, unique: boolean): IndexSpec {
  const name = idx.name || `${table}_${unique ? "uniq" : "by"}_${idx.columns.join("_")}`;
  if (!IDENT.test(name)) throw new TableDeclarationError(`index name "${name}" is not valid (max 63 chars)`);
  return { name, columns: [...idx.columns], unique };
}

/** The TableSpec of `message`, or undefined if it has no table option. */
export function tableSpecOf(message: DescMessage, options: OrbitOptions): TableSpec | undefined {
  const opt = options.tableOf(message);
  if (!opt) return undefined;
  const where = `${message.file.name}.proto: ${message.typeName}`;
  if (message.oneofs.length > 0) {
    throw new TableDeclarationError(`${where}: storage rows cannot have oneof fields`);
  }
  if (opt.kind.case === "sql") {
    const t = opt.kind.value;
    const name = t.name || snakeCase(message.name);
    if (!IDENT.test(name)) throw new TableDeclarationError(`${where}: table name "${name}" is not valid`);
    if (t.primaryKey.length === 0) throw new TableDeclarationError(`${where}: sql table needs a primary_key`);
    checkColumns(where, "primary_key", t.primaryKey, message);
    const indexes = [
      ...t.uniqueIndex.map((i) => indexSpec(name, i, true)),
      ...t.index.map((i) => indexSpec(name, i, false)),
    ];
    for (const i of indexes) {
      if (i.columns.length === 0) throw new TableDeclarationError(`${where}: index ${i.name} has no columns`);
      checkColumns(where, `index ${i.name}`, i.columns, message);
    }
    const keyed = new Set([...t.primaryKey, ...indexes.flatMap((i) => i.columns)]);
    const columns = message.fields.map((f) =>
      columnOf(`${where}.${f.name}`, f, options.columnOf(f), keyed.has(f.name)),
    );
    for (const c of columns) {
      if (c.counter && keyed.has(c.name))
        throw new TableDeclarationError(`${where}.${c.name}: a counter cannot be a key`);
    }
    checkRenames(where, columns);
    checkDuplicateIndexes(where, t.primaryKey, indexes);
    const col = (n: string) => columns.find((c) => c.name === n)!;
    checkKeyWidth(where, "the primary key", t.primaryKey.map(col));
    for (const i of indexes) checkKeyWidth(where, `index ${i.name}`, i.columns.map(col));
    const spec: SqlTableSpec = {
      kind: "sql",
      name,
      message: message.typeName,
      file: message.file.name + ".proto",
      columns,
      primaryKey: [...t.primaryKey],
      indexes,
    };
    return spec;
  }
  if (opt.kind.case === "wide") {
    const t = opt.kind.value;
    const name = t.name || snakeCase(message.name);
    if (!IDENT.test(name)) throw new TableDeclarationError(`${where}: table name "${name}" is not valid`);
    if (t.partitionKey.length === 0) throw new TableDeclarationError(`${where}: wide table needs a partition_key`);
    checkColumns(where, "partition_key", t.partitionKey, message);
    const clusteringCols = t.clustering.map((c) => c.column);
    checkColumns(where, "clustering", [...t.partitionKey, ...clusteringCols], message);
    const keyed = new Set([...t.partitionKey, ...clusteringCols]);
    const columns = message.fields.map((f) =>
      columnOf(`${where}.${f.name}`, f, options.columnOf(f), keyed.has(f.name)),
    );
    for (const c of columns) {
      if (c.counter && keyed.has(c.name))
        throw new TableDeclarationError(`${where}.${c.name}: a counter cannot be a key`);
    }
    const counters = columns.filter((c) => c.counter);
    if (counters.length > 0) {
      const others = columns.filter((c) => !c.counter && !keyed.has(c.name));
      if (others.length > 0) {
        throw new TableDeclarationError(
          `${where}: a wide table with counters may hold only key and counter columns (Cassandra's rule); ` +
            `move ${others.map((c) => c.name).join(", ")} to another table`,
        );
      }
      if (t.defaultTtlSeconds > 0) throw new TableDeclarationError(`${where}: counter tables cannot have a TTL`);
    }
    if (t.defaultTtlSeconds < 0) throw new TableDeclarationError(`${where}: default_ttl_seconds must be ≥ 0`);
    checkRenames(where, columns);
    // On the SQL store (no Cassandra configured) the key is an InnoDB primary key.
    checkKeyWidth(
      where,
      "the primary key (partition key + clustering)",
      [...keyed].map((n) => columns.find((c) => c.name === n)!),
    );
    const spec: WideTableSpec = {
      kind: "wide",
      name,
      message: message.typeName,
      file: message.file.name + ".proto",
      columns,
      primaryKey: [...t.partitionKey, ...clusteringCols],
      indexes: [],
      partitionKey: [...t.partitionKey],
      clustering: t.clustering.map((c) => ({ column: c.column, order: c.order === ORDER_DESC ? "desc" : "asc" })),
      defaultTtlSeconds: t.defaultTtlSeconds,
    };
    return spec;
  }
  throw new TableDeclarationError(`${where}: table option must set sql or wide`);
}

/** Every table declared in `files` (messages nested at any depth), in file order. */
export function collectTables(
  files: readonly { messages: readonly DescMessage[] }[],
  options: OrbitOptions,
): { message: DescMessage; spec: TableSpec }[] {
  const out: { message: DescMessage; spec: TableSpec }[] = [];
  const visit = (m: DescMessage): void => {
    const spec = tableSpecOf(m, options);
    if (spec) out.push({ message: m, spec });
    for (const n of m.nestedMessages) visit(n);
  };
  for (const f of files) for (const m of f.messages) visit(m);
  checkNamesAcrossTables(out);
  return out;
}

/** Tables the migrator keeps for itself (platform/migrate/desired.ts refuses them at boot). */
const RESERVED = /^(orbit_migration|sqlite_)/;

/**
 * Table names, and index names (SQLite keeps them in one namespace per
 * database), must be unique across every table: wide tables too, since they
 * live on the SQL store when no Cassandra is configured.
 */
function checkNamesAcrossTables(tables: readonly { message: DescMessage; spec: TableSpec }[]): void {
  const tableOwner = new Map<string, string>();
  const indexOwner = new Map<string, string>();
  for (const { message, spec } of tables) {
    const where = `${message.file.name}.proto: ${message.typeName}`;
    if (RESERVED.test(spec.name)) {
      throw new TableDeclarationError(`${where}: table name "${spec.name}" is reserved (orbit_migration*, sqlite_*)`);
    }
    const other = tableOwner.get(spec.name);
    if (other) throw new TableDeclarationError(`${where}: table name "${spec.name}" is also used by ${other}`);
    tableOwner.set(spec.name, message.typeName);
    const shape = spec.kind === "wide" ? sqlShapeOfWide(spec) : spec;
    for (const i of shape.indexes) {
      const owner = indexOwner.get(i.name);
      if (owner && owner !== message.typeName) {
        throw new TableDeclarationError(`${where}: index name "${i.name}" is also used by ${owner}`);
      }
      indexOwner.set(i.name, message.typeName);
    }
  }
}
