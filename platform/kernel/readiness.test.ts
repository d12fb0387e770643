/**
 * /readyz turns 200 only after migrations, every service's start hook and
 * every plugin's start (event consumers) have finished; until then RPCs are
 * refused with Unavailable while /healthz answers. Plugins extend the
 * services' context (the event bus's extension point) and stop first.
 */
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { EchoService } from "../../gen/orbit/testing/v1/echo_pb.js";
import { echo } from "../../services/echo/service.js";
import { freePort } from "../../test/fixtures/bundle-process.js";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { DEFAULT_CONFIG } from "../config/config.js";
import { silentLogger } from "../log.js";
import { Bundle } from "./bundle.js";
import type { KernelPlugin } from "./plugin.js";
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
  it("is reached only after start hooks and plugins have started", async () => {
    const hook = gate();
    const consumers = gate();
    const events: string[] = [];
    const seen: unknown[] = [];
    const slow = defineService({
      name: "slow",
      deps: ["echo"],
      start: async (ctx) => {
        seen.push((ctx as unknown as { events?: unknown }).events);
        events.push("slow start");
        await hook.opened;
      },
      stop: () => void events.push("slow stop"),
    });
    const plugin: KernelPlugin = {
      name: "fake-events",
      extendContext: (service) => ({ events: `events of ${service.name}` }) as never,
      start: async () => {
        events.push("plugin start");
        await consumers.opened;
      },
      stop: () => void events.push("plugin stop"),
    };
    const store = sqliteStore();
    stores.push(store);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const starting = Bundle.start({
      registry: new Registry([echo, slow]),
      config: { ...DEFAULT_CONFIG, services: ["slow"], host: "127.0.0.1", port },
      db: store.db,
      plugins: [plugin],
      log: silentLogger(),
    });
    const ready = async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status;
    await expect.poll(ready).toBe(503);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const client = createClient(
      EchoService,
      createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true }),
    );
    await expect(client.echo({ text: "too early" })).rejects.toMatchObject({ code: Code.Unavailable });

    hook.open();
    await expect.poll(() => events.includes("plugin start")).toBe(true);
    expect(await ready()).toBe(503);
    consumers.open();
    const bundle = await starting;
    expect(await ready()).toBe(200);
    expect((await client.echo({ text: "now" })).text).toBe("now");
    expect(seen).toEqual(["events of slow"]);

    await bundle.stop();
    expect(events).toEqual(["slow start", "plugin start", "plugin stop", "slow stop"]);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it("cleans up and fails when a start hook fails", async () => {
    const store = sqliteStore();
    stores.push(store);
    const stopped: string[] = [];
    const ok = defineService({ name: "ok", stop: () => void stopped.push("ok") });
    const broken = defineService({
      name: "broken",
      deps: ["ok"],
      start: () => {
        throw new Error("cannot start");
      },
      stop: () => void stopped.push("broken"),
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
    // Only what had started is stopped; the port is free again.
    expect(stopped).toEqual(["ok"]);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });
});
