/**
 * /readyz turns 200 only after migrations, every service's build, and the
 * platform parts' start (event consumers) have finished; until then RPCs are
 * refused with Unavailable while /healthz answers. Services get the platform
 * parts in their context; on shutdown their stop hooks run before the parts
 * close (a stop hook may still publish).
 */
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { ContractCountedSchema } from "../../gen/orbit/contract/v1/events_pb.js";
import { EchoService } from "../../gen/orbit/testing/v1/echo_pb.js";
import { echo } from "../../services/echo/service.js";
import { freePort } from "../../test/support/bundle-process.js";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { DEFAULT_CONFIG } from "../config/config.js";
import { EventBusClosedError } from "../events/errors.js";
import { silentLogger } from "../log.js";
import { Bundle } from "./bundle.js";
import type { ServiceContext } from "./context.js";
import { runMigrations } from "./migrate.js";
import { Registry } from "./registry.js";
import { defineService } from "./service.js";

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

const stores: TestStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.dispose();
});

describe("readiness", () => {
  it("is reached only after migrations and every service's build", async () => {
    const migrated = gate();
    const built = gate();
    const events: string[] = [];
    let context: ServiceContext | undefined;
    const slow = defineService({
      name: "slow",
      deps: ["echo"],
      publishes: [ContractCountedSchema],
      build: async (ctx) => {
        context = ctx;
        events.push("slow build");
        await built.opened;
        return {
          stop: async () => {
            // The platform parts close after the services' stop hooks.
            await ctx.events.publishOutsideTx(ContractCountedSchema, { accountId: 1n, amount: 1n });
            events.push("slow stop");
          },
        };
      },
    });
    const store = sqliteStore();
    stores.push(store);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const starting = Bundle.start({
      registry: new Registry([echo, slow]),
      config: { ...DEFAULT_CONFIG, services: ["slow"], host: "127.0.0.1", port },
      db: store.db,
      log: silentLogger(),
      migrate: async (...args) => {
        events.push("migrate");
        await migrated.opened;
        return runMigrations(...args);
      },
    });
    const ready = async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status;
    await expect.poll(ready).toBe(503);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const client = createClient(
      EchoService,
      createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true }),
    );
    await expect(client.echo({ text: "too early" })).rejects.toMatchObject({ code: Code.Unavailable });

    migrated.open();
    await expect.poll(() => events.includes("slow build")).toBe(true);
    expect(await ready()).toBe(503);
    await expect(client.echo({ text: "still too early" })).rejects.toMatchObject({ code: Code.Unavailable });
    built.open();
    const bundle = await starting;
    expect(await ready()).toBe(200);
    expect((await client.echo({ text: "now" })).text).toBe("now");
    expect(typeof context?.events.publish).toBe("function");
    expect(context?.wide).toBeDefined();
    expect(context?.service).toBe("slow");

    await bundle.stop();
    expect(events).toEqual(["migrate", "slow build", "slow stop"]);
    expect(bundle.parts.events.bus.stats().published).toBe(1);
    await expect(
      context!.events.publishOutsideTx(ContractCountedSchema, { accountId: 1n, amount: 1n }),
    ).rejects.toBeInstanceOf(EventBusClosedError);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it("cleans up and fails when a build fails", async () => {
    const store = sqliteStore();
    stores.push(store);
    const stopped: string[] = [];
    const ok = defineService({ name: "ok", build: () => ({ stop: () => void stopped.push("ok") }) });
    const broken = defineService({
      name: "broken",
      deps: ["ok"],
      build: () => {
        throw new Error("cannot start");
      },
    });
    const port = await freePort();
    await expect(
      Bundle.start({
        registry: new Registry([broken, ok]),
        config: { ...DEFAULT_CONFIG, services: ["broken"], host: "127.0.0.1", port },
        db: store.db,
        log: silentLogger(),
      }),
    ).rejects.toThrow("cannot start");
    // Only what had been built is stopped; the port is free again.
    expect(stopped).toEqual(["ok"]);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });
});
