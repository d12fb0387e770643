/**
 * Where `orbit new service <name>` writes each file, relative to the
 * repository root: one table, so a change of layout (e.g. the API and the
 * internal protos in two buf modules) is a change of one line here.
 */
import type { Names } from "./names.js";

export const LAYOUT = {
  /** The public API (buf module proto/api): the Connect service, its requests and responses. */
  api: (n: Names) => `proto/api/orbit/${n.proto}/v1/${n.proto}.proto`,
  /** Storage rows (table options; buf module proto/internal). */
  tables: (n: Names) => `proto/internal/orbit/${n.proto}/v1/tables.proto`,
  /** Events (event options; buf module proto/internal). */
  events: (n: Names) => `proto/internal/orbit/${n.proto}/v1/events.proto`,
  /** Where `npm run gen` writes the TypeScript of those files (imported by the service). */
  gen: (n: Names) => `gen/orbit/${n.proto}/v1`,
  /** The service unit. */
  service: (n: Names) => `services/${n.name}`,
  /** The registry the service is added to (and to its `all` group). */
  registry: "services/registry.ts",
  /** The test helpers the service's test imports (a fresh store per test). */
  testStores: "test/support/stores.ts",
} as const;
