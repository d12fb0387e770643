/**
 * A wide table kept on the SQL store (when no Cassandra is configured) is a
 * plain SQL table whose primary key is partition key + clustering columns —
 * SQLite and InnoDB both keep rows in key order, as Cassandra keeps a
 * partition — plus a hidden, nullable expiry column for TTL (indexed when
 * the table has a default TTL, for the sweeper). The migrator and the
 * wide-on-SQL DAO runtime both use this shape.
 */
import { WIDE_EXPIRES_COLUMN, type SqlTableSpec, type WideTableSpec } from "./schema.js";

export function sqlShapeOfWide(spec: WideTableSpec): SqlTableSpec {
  return {
    kind: "sql",
    name: spec.name,
    message: spec.message,
    file: spec.file,
    columns: [
      ...spec.columns,
      {
        name: WIDE_EXPIRES_COLUMN,
        field: "",
        encoding: "bigint",
        sqlite: "INTEGER",
        mysql: "BIGINT",
        cql: "bigint",
        nullable: true,
      },
    ],
    primaryKey: [...spec.primaryKey],
    // Tables with a default TTL get an index for the expiry sweeper.
    indexes:
      spec.defaultTtlSeconds > 0
        ? [{ name: `${spec.name}_by_expiry`, columns: [WIDE_EXPIRES_COLUMN], unique: false }]
        : [],
  };
}
