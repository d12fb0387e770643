/**
 * The bus's Prometheus metrics, read on each scrape (nothing on the hot path):
 *
 *   orbit_events_group_position{group}        stored position of each group
 *   orbit_events_group_pending{group}         events of its topics after it (capped count)
 *   orbit_events_group_lag_seconds{group}     age of its oldest pending event
 *   orbit_events_group_dead_letters{group}    dead letters waiting
 *   orbit_events_group_retrying{group}        1 while an event is being retried
 *   orbit_events_log_head                     highest id in the log
 *   orbit_events_frontier                     this process's settled frontier
 *   orbit_events_published_total              events this process published
 *   orbit_events_skipped_ids_total            ids this process skipped as holes that never filled
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { EventBus } from "./bus.js";

export function registerEventMetrics(registry: Registry, bus: EventBus): void {
  const byGroup = (
    name: string,
    help: string,
    pick: (g: Awaited<ReturnType<EventBus["lagByGroup"]>>[number]) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ["group"],
      registers: [registry],
      async collect() {
        this.reset();
        for (const g of await lagOnce()) this.set({ group: g.group }, pick(g));
      },
    });
  // One lag query per scrape, shared by the gauges collected in that scrape.
  let pending: Promise<Awaited<ReturnType<EventBus["lagByGroup"]>>> | null = null;
  const lagOnce = () => {
    pending ??= bus.lagByGroup().finally(() => setTimeout(() => (pending = null), 0));
    return pending;
  };
  byGroup("orbit_events_group_position", "Stored position of each consumer group.", (g) => Number(g.position));
  byGroup(
    "orbit_events_group_pending",
    "Events of the group's topics after its position (count capped at 100000).",
    (g) => g.pending,
  );
  byGroup("orbit_events_group_lag_seconds", "Age of the group's oldest pending event.", (g) => g.lagMs / 1000);
  byGroup("orbit_events_group_dead_letters", "Dead letters of the group.", (g) => g.deadLetters);
  byGroup("orbit_events_group_retrying", "1 while the group retries a failing event.", (g) => (g.retrying ? 1 : 0));
  new Gauge({
    name: "orbit_events_log_head",
    help: "Highest event id in the log.",
    registers: [registry],
    async collect() {
      const lags = await lagOnce();
      this.set(lags.length ? Number(lags[0]!.head) : Number(bus.stats().frontier));
    },
  });
  new Gauge({
    name: "orbit_events_frontier",
    help: "This process's settled frontier (consumers read up to it).",
    registers: [registry],
    collect() {
      this.set(Number(bus.stats().frontier));
    },
  });
  new Counter({
    name: "orbit_events_published_total",
    help: "Events this process published (committed).",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(bus.stats().published);
    },
  });
  new Counter({
    name: "orbit_events_skipped_ids_total",
    help: "Ids skipped as holes that will never fill (rolled back or burnt).",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(Number(bus.stats().deadIds));
    },
  });
}
