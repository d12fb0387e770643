/**
 * What a service is given by the kernel: its store, logger, id generator,
 * the bundle's configuration, and typed clients of the services it depends
 * on (in-process or remote, the calling code is the same).
 *
 * Extension point: kernel plugins add fields to the context (see plugin.ts).
 * A plugin declares its fields by merging into ContextExtensions, e.g. the
 * event bus:
 *
 *   declare module "../kernel/context.js" {
 *     interface ContextExtensions { readonly events: ServiceEvents }
 *   }
 *
 * and fills them in `KernelPlugin.extendContext`.
 */
import type { DescService } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type { OrbitConfig } from "../config/config.js";
import type { IdGenerator } from "../ids.js";
import type { Logger } from "../log.js";
import type { SqlDb } from "../storage/driver.js";

export interface ContextExtensions {}

export interface BaseServiceContext {
  /** The name of the service this context belongs to. */
  readonly service: string;
  /** The SQL store (SQLite or MySQL). A service touches only its own tables. */
  readonly db: SqlDb;
  /** Logger whose lines carry `service`. Inside a handler prefer `callScope(ctx).log`. */
  readonly log: Logger;
  /** Time-ordered 64-bit ids (one generator per process). */
  readonly ids: IdGenerator;
  readonly config: OrbitConfig;
  /**
   * A typed Connect client of another service. It must be one of this
   * service's `deps`; it runs in-process when that service is in this
   * bundle, and over the network (`--peer`) when it is not.
   */
  client<S extends DescService>(service: S): Client<S>;
  /** Aborted when the bundle begins to shut down (stop background loops). */
  readonly signal: AbortSignal;
}

export interface ServiceContext extends BaseServiceContext, ContextExtensions {}
