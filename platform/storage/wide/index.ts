/** The wide-table runtime: what generated wide DAOs and their users import. */
export type {
  Consistency,
  WidePutOptions,
  WideReadOptions,
  WideScanRequest,
  WideStore,
  WideStoreBound,
  WideStorePage,
  WideValue,
  WideValues,
  WideWriteOptions,
} from "./store.js";
export { DEFAULT_SCAN_LIMIT, MAX_SCAN_LIMIT, MAX_TTL_SECONDS } from "./store.js";
export { WideInputError } from "./errors.js";
export { WideTable, type WideBound, type WideRowInit, type WideScanOptions, type WideScanPage } from "./table.js";
export { SqlWideStore, type SqlWideStoreOptions } from "./sql-store.js";
export { CassandraWideStore } from "./cassandra-store.js";
export { startWideSweeper, type WideSweeper, type WideSweeperOptions } from "./sweeper.js";
