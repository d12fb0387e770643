/**
 * The event bus as a platform part: every bundle opens one bus on its SQL
 * store, gives each service `ctx.events` (publish only, its declared types:
 * platform/events/service-events.ts), starts the consumers the services'
 * `build` returned, and exports lag and throughput on /metrics. On shutdown
 * the consumers stop (releasing their groups) while in-flight requests drain;
 * the bus closes after the services' stop hooks (their publishes are written).
 */
import { hostname } from "node:os";
import { EventBus } from "../../events/bus.js";
import type { ConsumerOptions } from "../../events/consumer-options.js";
import { registerEventMetrics } from "../../events/metrics.js";
import { serviceEvents, type ServiceEvents } from "../../events/service-events.js";
import type { ServiceDef } from "../service.js";
import type { PartHost, PlatformPart } from "./index.js";

export interface EventsPart extends PlatformPart<ServiceEvents> {
  /** The bundle's bus (tools and tests: groups, stats). */
  readonly bus: EventBus;
  /** Starts a service's consumers (the kernel calls it once every service is built). */
  consume(def: ServiceDef, consumers: readonly ConsumerOptions[]): void;
}

export async function openEventsPart(host: PartHost): Promise<EventsPart> {
  const { config } = host;
  const bus = await EventBus.open(host.db, {
    // Every event type the services declare, so topic clashes fail at boot.
    events: host.services.flatMap((s) => s.publishes),
    // Readable in `orbit events groups`; unique per process, so two processes
    // never claim to be the same owner (a crashed one's groups move after the lease TTL).
    owner: `${hostname()}/node-${host.ids.nodeId}/pid-${process.pid}`,
    logger: host.log.child({ component: "events" }),
    ...(config.eventRetentionHours > 0 ? { retention: { maxAgeMs: config.eventRetentionHours * 3_600_000 } } : {}),
  });
  registerEventMetrics(host.metrics.registry, bus);
  return {
    bus,
    view: (def) => serviceEvents(bus, def),
    consume(def, consumers) {
      for (const c of consumers) {
        host.log.debug({ service: def.name, group: c.group }, "starting consumer");
        bus.consume(c);
      }
    },
    // /readyz turns ready only once every consumer has its group and lease.
    start: () => bus.consumersStarted(),
    drain: () => bus.stopConsumers(),
    // After in-flight requests and stop hooks: their publishes are written before the bus closes.
    stop: () => bus.close(),
  };
}
