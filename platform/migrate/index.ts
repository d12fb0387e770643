/**
 * The auto-migration engine: brings a store's schema to what the generated
 * manifest declares, safely, on every boot. See docs/migrations.md.
 */
export { migrate, defaultProcessId } from "./migrate.js";
export { planMigration } from "./plan.js";
export { formatPlan } from "./format.js";
export { readHistory, type HistoryRow } from "./history.js";
export { dataMigration, dataMigrationsIn, DEFAULT_DATA_DIR } from "./data-migrations.js";
export type { DataMigration, DataMigrationModule } from "./data-migrations.js";
export {
  DestructiveChangeError,
  NewerSchemaError,
  InvalidManifestError,
  UnsupportedChangeError,
  MigrationLockTimeoutError,
  MigrationStepError,
} from "./errors.js";
export type { DestructiveChange, NewerTable } from "./errors.js";
export type {
  MigrateOptions,
  MigrationPlan,
  MigrationReport,
  PlannedStep,
  AppliedStep,
  ProgressEvent,
} from "./options.js";
export { HISTORY_TABLE } from "./desired.js";
export { migrateCassandra, planCassandraMigration, cqlSessionOf } from "./cassandra/index.js";
export type { CassandraMigrateOptions, CqlSession, CqlResult } from "./cassandra/index.js";
