/**
 * The event bus as a kernel plugin: every `orbit bundle` process opens one
 * bus on its store, hands it to each service as `ctx.events`, exports lag
 * and throughput on /metrics. On shutdown its consumers stop (releasing
 * their groups) while in-flight requests drain, and the bus closes once they
 * are done (their publishes are written).
 *
 * A service publishes with `ctx.events.publish(tx, Schema, msg)` and starts
 * its consumers in its `start` hook with `ctx.events.consume({...})`.
 */
import { hostname } from "node:os";
import type { KernelPlugin } from "../kernel/plugin.js";
import { EventBus, type EventBusOptions } from "./bus.js";
import { serviceEventView } from "./service-view.js";

declare module "../kernel/context.js" {
  interface ContextExtensions {
    /** The event bus (platform/events): publish in your transaction, consume in your start hook. */
    readonly events: EventBus;
  }
}

export interface EventBusPlugin extends KernelPlugin {
  /** The bus, once the plugin is set up. */
  readonly bus: EventBus | undefined;
}

export function eventBusPlugin(opts: Omit<EventBusOptions, "logger"> = {}): EventBusPlugin {
  let bus: EventBus | undefined;
  return {
    name: "events",
    get bus() {
      return bus;
    },
    async setup(host) {
      const { registerEventMetrics } = await import("./metrics.js");
      bus = await EventBus.open(host.db, {
        // Readable in `orbit events groups`; unique per process, so two processes
        // never claim to be the same owner (a crashed one's groups move after the lease TTL).
        owner: `${hostname()}/node-${host.config.nodeId}/pid-${process.pid}`,
        ...opts,
        logger: host.log.child({ component: "events" }),
        ...(opts.retention === undefined && host.config.eventRetentionHours > 0
          ? { retention: { maxAgeMs: host.config.eventRetentionHours * 3_600_000 } }
          : {}),
      });
      registerEventMetrics(host.metrics.registry, bus);
    },
    extendContext(service) {
      if (!bus) throw new Error("the events plugin is not set up");
      return { events: serviceEventView(bus, service) };
    },
    async start() {
      // /readyz turns ready only once the consumers the services started have their groups.
      await bus?.consumersStarted();
    },
    async drain() {
      await bus?.stopConsumers();
    },
    async stop() {
      // After in-flight requests: their publishes are written before the bus closes.
      await bus?.close();
    },
  };
}
