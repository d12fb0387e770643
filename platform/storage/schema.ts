/**
 * The schema manifest: a machine-readable description of every table, emitted
 * by the generators (db walker, Cassandra walker) and diffed by the migrator.
 *
 * Generated files export one `TableSpec` per storage row, and
 * `gen/manifest.json` lists them all.
 */

/** How a column's value is encoded between the proto field and the store. */
export type Encoding =
  | "int" // int32/uint32/sint32/fixed32/sfixed32 → JS number
  | "bigint" // int64/uint64/sint64/fixed64/sfixed64 → JS bigint
  | "double" // float/double → JS number
  | "bool" // bool → 0/1
  | "string" // string → text
  | "bytes" // bytes → blob
  | "enum" // enum → int
  | "proto" // message or repeated field → protobuf binary (blob)
  | "json"; // message or repeated field → JSON text (column option json)

export interface ColumnSpec {
  /** Column name in the store (the proto field name, snake_case). */
  readonly name: string;
  /** Property name on the generated message (camelCase). */
  readonly field: string;
  readonly encoding: Encoding;
  /** Column type for SQLite (a storage class: INTEGER, REAL, TEXT, BLOB). */
  readonly sqlite: string;
  /** Column type for MySQL/MariaDB, e.g. BIGINT, VARCHAR(64), LONGBLOB. */
  readonly mysql: string;
  /** Column type for Cassandra (CQL), e.g. bigint, text, blob, counter. */
  readonly cql: string;
  readonly nullable: boolean;
  /** Default value as an SQL literal, if declared. */
  readonly default?: string;
  /** Earlier names of the column (renamed in place by the migrator). */
  readonly renamedFrom?: readonly string[];
  /** Counter column: only incremented. */
  readonly counter?: boolean;
  /** Unsigned integer (uint32/uint64/fixed*): MySQL gets UNSIGNED. */
  readonly unsigned?: boolean;
  /** For message/enum encodings: the fully-qualified proto type name. */
  readonly protoType?: string;
  /** Repeated field (stored as one encoded value). */
  readonly repeated?: boolean;
}

/** What a generated column spec says beyond name, field, encoding and types (all optional). */
export interface ColumnExtras {
  readonly nullable?: boolean;
  readonly default?: string;
  readonly renamedFrom?: readonly string[];
  readonly counter?: boolean;
  readonly unsigned?: boolean;
  readonly protoType?: string;
  readonly repeated?: boolean;
}

/**
 * A ColumnSpec in one line, as the generated `*Table` constants spell their
 * columns: `column("owner_id", "ownerId", "bigint", "INTEGER", "BIGINT", "bigint", { default: "0" })`.
 * The result is the object the generators build (same keys, same order), so
 * the constant equals its entry in gen/manifest.json.
 */
export function column(
  name: string,
  field: string,
  encoding: Encoding,
  sqlite: string,
  mysql: string,
  cql: string,
  extras: ColumnExtras = {},
): ColumnSpec {
  return {
    name,
    field,
    encoding,
    sqlite,
    mysql,
    cql,
    nullable: extras.nullable ?? false,
    ...(extras.default !== undefined ? { default: extras.default } : {}),
    ...(extras.renamedFrom ? { renamedFrom: extras.renamedFrom } : {}),
    ...(extras.counter ? { counter: true } : {}),
    ...(extras.unsigned ? { unsigned: true } : {}),
    ...(extras.protoType !== undefined ? { protoType: extras.protoType } : {}),
    ...(extras.repeated ? { repeated: true } : {}),
  };
}

export interface IndexSpec {
  readonly name: string;
  readonly columns: readonly string[];
  readonly unique: boolean;
}

export interface ClusteringSpec {
  readonly column: string;
  readonly order: "asc" | "desc";
}

interface TableSpecBase {
  /** Table name in the store. */
  readonly name: string;
  /** Fully-qualified proto message name of the row. */
  readonly message: string;
  /** Proto file that declares the row. */
  readonly file: string;
  readonly columns: readonly ColumnSpec[];
  /** Primary key columns. For wide tables: partition key + clustering. */
  readonly primaryKey: readonly string[];
  readonly indexes: readonly IndexSpec[];
}

export interface SqlTableSpec extends TableSpecBase {
  readonly kind: "sql";
}

export interface WideTableSpec extends TableSpecBase {
  readonly kind: "wide";
  readonly partitionKey: readonly string[];
  readonly clustering: readonly ClusteringSpec[];
  /** Default TTL of a written row in seconds; 0 = none. */
  readonly defaultTtlSeconds: number;
}

export type TableSpec = SqlTableSpec | WideTableSpec;

/** The whole manifest as written to gen/manifest.json. */
export interface Manifest {
  readonly version: 1;
  readonly tables: readonly TableSpec[];
}

/** Name of the hidden expiry column that wide tables carry on the SQL store. */
export const WIDE_EXPIRES_COLUMN = "_expires_at_ms";

/** The manifest handed to the migrator is not valid (bad names, defaults, keys). */
export class InvalidManifestError extends Error {
  override readonly name = "InvalidManifestError";
}
