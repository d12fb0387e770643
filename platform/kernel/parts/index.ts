/**
 * Platform parts: bundle-wide machinery that is not a service, composed
 * explicitly by the kernel. Each part is opened once per bundle (after
 * migrations, before any service is built), gives every service a view of
 * itself (a field of ServiceContext, typed in PlatformViews), may start
 * something once every service is built (readiness waits for it), stops its
 * background work while requests drain, and closes after the services' stop
 * hooks.
 *
 * Adding a part (e.g. the push gateway as `ctx.push`):
 *   1. build the machinery in its own folder (platform/push/), knowing nothing of the kernel;
 *   2. write its adapter here, parts/push.ts: `openPushPart(host): Promise<PlatformPart<PushView>>`;
 *   3. add `readonly push: PushView` to PlatformViews (context.ts) and `push: openPushPart` to PLATFORM_PARTS.
 * The compiler refuses a view without a part and a part without a view.
 */
import type { WorkerSlot } from "../workers.js";
import type { OrbitConfig } from "../../config/config.js";
import type { IdGenerator } from "../../ids.js";
import type { Logger } from "../../log.js";
import type { RpcMetrics } from "../../rpc/metrics.js";
import type { SqlDb } from "../../storage/driver.js";
import type { HealthProbe } from "../../storage/health.js";
import type { TableSpec } from "../../storage/schema.js";
import type { PlatformViews } from "../context.js";
import type { ServiceDef } from "../service.js";
import { openEventsPart } from "./events.js";
import { PUSH_TABLES } from "../../push/tables.js";
import { openLimitsPart } from "./limits.js";
import { openPushPart } from "./push.js";
import { openWidePart } from "./wide.js";

/** What a part is opened with. */
export interface PartHost {
  readonly db: SqlDb;
  readonly log: Logger;
  readonly ids: IdGenerator;
  readonly config: OrbitConfig;
  /** The bundle's metrics (its registry serves /metrics). */
  readonly metrics: RpcMetrics;
  /** The services this bundle runs, in dependency order. */
  readonly services: readonly ServiceDef[];
  /** Which worker of `--workers N` this bundle is (a push broker between workers when N > 1). */
  readonly worker: WorkerSlot;
}

export interface PlatformPart<View> {
  /** What service `def` sees as its context field. */
  view(def: ServiceDef): View;
  /** Stores or links /readyz asks about once the bundle is ready (the Cassandra store). */
  probes?(): readonly HealthProbe[];
  /** Once every service is built (and the kernel started their consumers); the bundle turns ready after it. */
  start?(): Promise<void>;
  /** On shutdown, while in-flight requests drain: stop background work, keep serving what requests need. */
  drain?(): Promise<void>;
  /** After the services' stop hooks: release everything. */
  stop?(): Promise<void>;
}

/** Opens a part; its promise rejects (and the bundle fails to start) if the part cannot run. */
export type PartOpener<View, Part extends PlatformPart<View> = PlatformPart<View>> = (host: PartHost) => Promise<Part>;

/** Every part, opened in this order and stopped in reverse. */
export const PLATFORM_PARTS = {
  wide: openWidePart,
  events: openEventsPart,
  push: openPushPart,
  limits: openLimitsPart,
} satisfies { readonly [K in keyof PlatformViews]: PartOpener<PlatformViews[K], PlatformPart<PlatformViews[K]>> };

/**
 * Tables of the parts, migrated by every bundle with the services' own (any
 * service may call the part: ctx.push appends to users' streams). The event
 * bus creates its tables itself (platform/events/tables.ts).
 */
export const PART_TABLES: readonly TableSpec[] = [...PUSH_TABLES];

export type PartName = keyof typeof PLATFORM_PARTS;

/** The opened parts, each with its own type (the kernel starts consumers through `events`). */
export type OpenParts = { readonly [K in PartName]: Awaited<ReturnType<(typeof PLATFORM_PARTS)[K]>> };

/** Opens every part in order; if one fails, closes those already open and rethrows. */
export async function openParts(host: PartHost): Promise<OpenParts> {
  const opened: Partial<Record<PartName, PlatformPart<unknown>>> = {};
  try {
    for (const name of Object.keys(PLATFORM_PARTS) as PartName[]) {
      opened[name] = await PLATFORM_PARTS[name](host);
    }
  } catch (err) {
    for (const p of Object.values(opened).reverse()) await p.stop?.().catch(() => undefined);
    throw err;
  }
  return opened as OpenParts;
}

/** The parts in stop order (the reverse of opening). */
export function partsInStopOrder(parts: OpenParts): [PartName, PlatformPart<unknown>][] {
  return (Object.keys(PLATFORM_PARTS) as PartName[]).reverse().map((n) => [n, parts[n]]);
}

/** Every part's view for service `def`: the platform fields of its context. */
export function viewsFor(parts: OpenParts, def: ServiceDef): PlatformViews {
  const views: Record<string, unknown> = {};
  for (const name of Object.keys(PLATFORM_PARTS) as PartName[]) views[name] = parts[name].view(def);
  return views as unknown as PlatformViews;
}
