/**
 * What a service's `build` is given by the kernel: explicit, typed parts.
 *
 *   db, ids, log, signal      the bundle's SQL store, id generator, a logger
 *                             with `service` on each line, the bundle's lifetime
 *   settings                  the service's own settings, typed from its declarations
 *   client(Service)           a typed Connect client of a service in its `deps`
 *   events, wide, …           the platform parts (PlatformViews below)
 *
 * Platform parts are bundle-wide machinery that is not a service (the event
 * bus, the wide-table store, the push gateway). Each is one entry of
 * PlatformViews (what a service sees) and one entry of the parts table in
 * parts/index.ts (how the kernel opens, starts and stops it); the compiler
 * holds the two together. See docs/architecture.md, "Adding a platform part".
 */
import type { DescService } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type { SettingsSpec, SettingValues } from "../config/settings.js";
import type { ServiceEvents } from "../events/service-events.js";
import type { IdGenerator } from "../ids.js";
import type { Logger } from "../log.js";
import type { SqlDb } from "../storage/driver.js";
import type { WideStore } from "../storage/wide/store.js";
import type { LimitsView } from "./parts/limits.js";
import type { PushView } from "./parts/push.js";
import type { WorkerSlot } from "./workers.js";

/** The platform parts a service sees, by context field. */
export interface PlatformViews {
  /** Publish events in your transaction (platform/events); consumers are returned from `build`. */
  readonly events: ServiceEvents;
  /** Where the service's wide tables live: Cassandra if configured, else the SQL store. */
  readonly wide: WideStore;
  /** Push updates to users' devices (durable, ordered streams) and to ephemeral channels (docs/push.md). */
  readonly push: PushView;
  /** Abuse limits as policy: token buckets, backoff, windows per key, shared through Redis with --redis (platform/limits). */
  readonly limits: LimitsView;
}

export interface ServiceContext<S extends SettingsSpec = SettingsSpec> extends PlatformViews {
  /** The name of the service this context belongs to. */
  readonly service: string;
  /** The SQL store (SQLite or MySQL). A service touches only its own tables. */
  readonly db: SqlDb;
  /** Logger whose lines carry `service`. Inside a handler prefer `callScope(ctx).log`. */
  readonly log: Logger;
  /** Time-ordered 64-bit ids (one generator per process). */
  readonly ids: IdGenerator;
  /** The service's own settings (flags, ORBIT_* variables, config file, or their declared defaults). */
  readonly settings: SettingValues<S>;
  /**
   * A typed Connect client of another service. It must be one of this
   * service's `deps`; it runs in-process when that service is in this
   * bundle, and over the network (`--peer`) when it is not.
   */
  client<T extends DescService>(service: T): Client<T>;
  /** Aborted when the bundle begins to shut down (stop background loops). */
  readonly signal: AbortSignal;
  /**
   * Which worker of `orbit bundle --workers N` this process is ({ index: 1, count: 1 } alone):
   * state kept on local disk or a port only one process may hold is per worker or in worker 1.
   */
  readonly worker: WorkerSlot;
}
