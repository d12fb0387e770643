/**
 * The bus inside a real bundle: services get `ctx.events`, publish in their
 * transaction, return consumers from `build` (the kernel starts them and
 * derives what they consume), and /metrics shows lag per group.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ContractCountedSchema, type ContractCounted } from "../../../gen/orbit/contract/v1/events_pb.js";
import { ENGINES, type TestStore } from "../../../test/support/stores.js";
import { DEFAULT_CONFIG } from "../../config/config.js";
import { waitFor } from "../../../test/support/wait.js";
import { silentLogger } from "../../log.js";
import { Bundle } from "../bundle.js";
import { Registry } from "../registry.js";
import { defineService, type ServiceDef } from "../service.js";

describe.each(ENGINES)("events part in a bundle on $name", ({ open }) => {
  let store: TestStore;
  let bundle: Bundle | undefined;
  /** A bundle on the test store that runs `service`. */
  function startWith(service: ServiceDef): Promise<Bundle> {
    return Bundle.start({
      registry: new Registry([service]),
      config: { ...DEFAULT_CONFIG, services: [service.name], host: "127.0.0.1", port: 0, adminPort: 0 },
      db: store.db,
      log: silentLogger(),
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
      publishes: [ContractCountedSchema],
      async build(ctx) {
        await ctx.db.transaction((tx) => ctx.events.publish(tx, ContractCountedSchema, { accountId: 1n, amount: 5n }));
        return {
          consumers: [
            {
              group: "ledger.sum",
              events: [ContractCountedSchema],
              handle: (e) => void seen.push((e.message as ContractCounted).amount),
            },
          ],
        };
      },
    });
    bundle = await startWith(ledger);
    await waitFor(() => seen.length === 1, "the event published on start");
    expect(seen).toEqual([5n]);
    // The handler runs inside the transaction that commits the group's position: wait for the commit.
    const bus = bundle.parts.events.bus;
    await waitFor(async () => (await bus.listGroups())[0]?.position === 1n, "the group's position to commit");
    const res = await fetch(`${bundle.adminUrl}/metrics`);
    const text = await res.text();
    expect(text).toMatch(/orbit_events_group_pending\{group="ledger\.sum"\} 0/);
    expect(text).toMatch(/orbit_events_group_position\{group="ledger\.sum"\} 1/);
    expect(text).toMatch(/orbit_events_published_total 1/);
    expect((await bundle.parts.events.bus.listGroups())[0]!.owner).toMatch(/\/node-\d+\/pid-\d+$/);
    expect(bundle.summary()).toEqual([
      {
        name: "ledger",
        consumes: ["orbit.contract.v1.ContractCounted"],
        consumerGroups: ["ledger.sum"],
        routes: [],
        sockets: [],
        jobs: [],
      },
    ]);
  });

  it("holds a service to the event types it declares", async () => {
    store = await open();
    const errors: string[] = [];
    const quiet = defineService({
      name: "quiet",
      publishes: [],
      async build(ctx) {
        await ctx.db
          .transaction((tx) => ctx.events.publish(tx, ContractCountedSchema, { accountId: 1n, amount: 1n }))
          .catch((e: Error) => errors.push(e.message));
        await ctx.events
          .publishOutsideTx(ContractCountedSchema, { accountId: 1n, amount: 1n })
          .catch((e: Error) => errors.push(e.message));
        await ctx.db
          .transaction((tx) =>
            ctx.events.publishMany(tx, [{ schema: ContractCountedSchema, message: { accountId: 1n, amount: 1n } }]),
          )
          .catch((e: Error) => errors.push(e.message));
        return {};
      },
    });
    bundle = await startWith(quiet);
    expect(errors).toEqual([
      "service quiet publishes orbit.contract.v1.ContractCounted but does not declare it in `publishes` (declared: none)",
      "service quiet publishes orbit.contract.v1.ContractCounted but does not declare it in `publishes` (declared: none)",
      "service quiet publishes orbit.contract.v1.ContractCounted but does not declare it in `publishes` (declared: none)",
    ]);
    expect(bundle.parts.events.bus.stats().published).toBe(0);
    expect(await bundle.parts.events.bus.listGroups()).toEqual([]);
  });

  it("turns ready only once the services' consumers have their groups and leases", async () => {
    store = await open();
    const ledger = defineService({
      name: "ledger",
      build: () => ({
        consumers: [{ group: "ledger.ready", events: [ContractCountedSchema], handle: () => undefined }],
      }),
    });
    bundle = await startWith(ledger);
    // Bundle.start resolves when /readyz says ready: the group exists and this process holds it.
    expect((await fetch(`${bundle.url}/readyz`)).status).toBe(200);
    expect(bundle.parts.events.bus.stats().consumers).toEqual([
      expect.objectContaining({ group: "ledger.ready", state: "active" }),
    ]);
    expect((await bundle.parts.events.bus.listGroups()).map((g) => g.name)).toEqual(["ledger.ready"]);
  });
});
