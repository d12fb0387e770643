/**
 * The Cassandra half of the migrator: wide tables on a keyspace.
 */
export { migrateCassandra, planCassandraMigration, type CassandraMigrateOptions } from "./migrate.js";
export { cqlSessionOf, type CqlSession, type CqlResult } from "./session.js";
export { liveFromSystemSchema, type SystemColumnRow, type SystemTableRow } from "./introspect.js";
