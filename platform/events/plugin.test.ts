/**
 * The bus inside a real bundle: services get `ctx.events`, publish in their
 * transaction, consume in their start hook, and /metrics shows lag per group.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ContractCountedSchema, type ContractCounted } from "../../gen/orbit/contract/v1/events_pb.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { DEFAULT_CONFIG } from "../config/config.js";
import { Bundle } from "../kernel/bundle.js";
import { Registry } from "../kernel/registry.js";
import { defineService, type ServiceDef } from "../kernel/service.js";
import { silentLogger } from "../log.js";
import type { EventBus } from "./bus.js";
import { eventBusPlugin, type EventBusPlugin } from "./plugin.js";
import { waitFor } from "./testing/wait.js";

describe.each(ENGINES)("events plugin in a bundle on $name", ({ open }) => {
  let store: TestStore;
  let bundle: Bundle | undefined;
  /** A bundle on the test store that runs `service` with the events plugin. */
  function startWith(service: ServiceDef, plugin: EventBusPlugin): Promise<Bundle> {
    return Bundle.start({
      registry: new Registry([service]),
      config: { ...DEFAULT_CONFIG, services: [service.name], host: "127.0.0.1", port: 0 },
      db: store.db,
      log: silentLogger(),
      plugins: [plugin],
    });
  }
  afterEach(async () => {
    await bundle?.stop();
    bundle = undefined;
    await store.dispose();
  });

  it("gives services ctx.events, runs their consumers, and exports lag on /metrics", async () => {
    store = await open();
    const seen: bigint[] = [];
    const ledger = defineService({
      name: "ledger",
      publishes: ["orbit.contract.v1.ContractCounted"],
      consumes: ["orbit.contract.v1.ContractCounted"],
      async start(ctx) {
        ctx.events.consume({
          group: "ledger.sum",
          events: [ContractCountedSchema],
          handle: (e) => void seen.push((e.message as ContractCounted).amount),
        });
        await ctx.db.transaction((tx) => ctx.events.publish(tx, ContractCountedSchema, { accountId: 1n, amount: 5n }));
      },
    });
    const plugin = eventBusPlugin();
    bundle = await startWith(ledger, plugin);
    await waitFor(() => seen.length === 1, "the event published on start");
    expect(seen).toEqual([5n]);
    const res = await fetch(`${bundle.url}/metrics`);
    const text = await res.text();
    expect(text).toMatch(/orbit_events_group_pending\{group="ledger\.sum"\} 0/);
    expect(text).toMatch(/orbit_events_group_position\{group="ledger\.sum"\} 1/);
    expect(text).toMatch(/orbit_events_published_total 1/);
    expect((await plugin.bus!.listGroups())[0]!.owner).toMatch(/\/node-\d+\/pid-\d+$/);
  });

  it("holds a service to the event types it declares", async () => {
    store = await open();
    const errors: string[] = [];
    const quiet = defineService({
      name: "quiet",
      publishes: [],
      consumes: [],
      async start(ctx) {
        await ctx.db
          .transaction((tx) => ctx.events.publish(tx, ContractCountedSchema, { accountId: 1n, amount: 1n }))
          .catch((e: Error) => errors.push(e.message));
        await ctx.events
          .publish(ContractCountedSchema, { accountId: 1n, amount: 1n })
          .catch((e: Error) => errors.push(e.message));
        try {
          ctx.events.consume({ group: "quiet.sum", events: [ContractCountedSchema], handle: () => undefined });
        } catch (e) {
          errors.push((e as Error).message);
        }
      },
    });
    const plugin = eventBusPlugin();
    bundle = await startWith(quiet, plugin);
    expect(errors).toEqual([
      "service quiet publishes orbit.contract.v1.ContractCounted but does not declare it in `publishes` (declared: none)",
      "service quiet publishes orbit.contract.v1.ContractCounted but does not declare it in `publishes` (declared: none)",
      "service quiet consumes orbit.contract.v1.ContractCounted but does not declare it in `consumes` (declared: none)",
    ]);
    expect(plugin.bus!.stats().published).toBe(0);
    expect(await plugin.bus!.listGroups()).toEqual([]);
  });

  it("turns ready only once the services' consumers have their groups and leases", async () => {
    store = await open();
    let consumer: ReturnType<EventBus["consume"]> | undefined;
    const ledger = defineService({
      name: "ledger",
      consumes: ["orbit.contract.v1.ContractCounted"],
      start(ctx) {
        consumer = ctx.events.consume({
          group: "ledger.ready",
          events: [ContractCountedSchema],
          handle: () => undefined,
        });
      },
    });
    const plugin = eventBusPlugin();
    bundle = await startWith(ledger, plugin);
    // Bundle.start resolves when /readyz says ready: the group exists and this process holds it.
    expect((await fetch(`${bundle.url}/readyz`)).status).toBe(200);
    expect(consumer!.state).toBe("active");
    expect((await plugin.bus!.listGroups()).map((g) => g.name)).toEqual(["ledger.ready"]);
  });
});
