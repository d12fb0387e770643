/**
 * Kernel plugins add bundle-wide machinery that is not a service: the event
 * bus is the first (platform/events). A plugin may own tables (migrated with
 * the services' tables), add fields to every service's context, and run
 * something once the services have started (consumers); /readyz reports
 * ready only after every plugin's `start` has resolved.
 *
 * Order on boot:  migrate → setup → build services (extendContext) → service
 *                 start hooks → plugin start → ready.
 * On shutdown:    drain HTTP ∥ plugin drain (reverse order) → plugin stop
 *                 (reverse order) → service stop hooks (reverse dependency
 *                 order) → close store. A request still in flight may use
 *                 what a plugin offers (publish events) until it ends.
 */
import type { OrbitConfig } from "../config/config.js";
import type { IdGenerator } from "../ids.js";
import type { Logger } from "../log.js";
import type { RpcMetrics } from "../rpc/metrics.js";
import type { SqlDb } from "../storage/driver.js";
import type { HealthProbe } from "../storage/health.js";
import type { TableSpec } from "../storage/schema.js";
import type { BaseServiceContext, ContextExtensions } from "./context.js";
import type { ServiceDef } from "./service.js";

export interface PluginHost {
  readonly db: SqlDb;
  readonly log: Logger;
  readonly ids: IdGenerator;
  readonly config: OrbitConfig;
  readonly metrics: RpcMetrics;
  /** The services this bundle runs, in dependency order. */
  readonly services: readonly ServiceDef[];
}

export interface KernelPlugin {
  readonly name: string;
  /** Tables the plugin owns. */
  readonly tables?: readonly TableSpec[];
  /** After migrations, before any service is built. */
  setup?(host: PluginHost): void | Promise<void>;
  /** Fields this plugin adds to a service's context. */
  extendContext?(service: ServiceDef, base: BaseServiceContext): Partial<ContextExtensions>;
  /** Stores or links /readyz should ask about once the bundle is ready (e.g. the Cassandra store). */
  probes?(): readonly HealthProbe[];
  /** After every service's start hook (start consumers here); /readyz waits for it. */
  start?(): void | Promise<void>;
  /** On shutdown, while in-flight requests drain: stop background work (consumers), keep serving requests' needs. */
  drain?(): void | Promise<void>;
  /** On shutdown, once in-flight requests are done, before the services' stop hooks. */
  stop?(): void | Promise<void>;
}
