/**
 * Background jobs: started once the bundle is built, run until it stops
 * (their signal aborts, and stop waits for them), and run again after a
 * backoff when they fail.
 */
import { afterEach, describe, expect, it } from "vitest";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { DEFAULT_CONFIG } from "../config/config.js";
import { silentLogger } from "../log.js";
import { Bundle } from "./bundle.js";
import { Registry } from "./registry.js";
import { pause } from "./jobs.js";
import { defineService } from "./service.js";

const stores: TestStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.dispose();
});

function start(service: ReturnType<typeof defineService>) {
  const store = sqliteStore();
  stores.push(store);
  return Bundle.start({
    registry: new Registry([service]),
    config: { ...DEFAULT_CONFIG, services: [service.name] },
    db: store.db,
    listen: false,
    log: silentLogger(),
  });
}

describe("jobs", () => {
  it("run while the bundle runs; stop aborts them and waits for them to return", async () => {
    const events: string[] = [];
    const ticker = defineService({
      name: "ticker",
      build: () => ({
        jobs: [
          {
            name: "ticker.loop",
            async run(signal) {
              events.push("started");
              await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
              await Promise.resolve();
              events.push("returned");
            },
          },
        ],
        stop: () => void events.push("stop hook"),
      }),
    });
    const bundle = await start(ticker);
    await expect.poll(() => events).toEqual(["started"]);
    expect(await bundle.stop()).toEqual({ forced: 0, failures: 0 });
    // The job has returned before the service's stop hook runs.
    expect(events).toEqual(["started", "returned", "stop hook"]);
  });

  it("run again after a failure", async () => {
    let runs = 0;
    const flaky = defineService({
      name: "flaky",
      build: () => ({
        jobs: [
          {
            name: "flaky.loop",
            async run(signal) {
              runs++;
              if (runs === 1) throw new Error("first run fails");
              await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
            },
          },
        ],
      }),
    });
    const bundle = await start(flaky);
    await expect.poll(() => runs, { timeout: 5_000 }).toBe(2);
    expect(await bundle.stop()).toEqual({ forced: 0, failures: 0 });
  });

  it("a sweeper stopped in the middle of a round does not wait out its period (pause)", async () => {
    let rounds = 0;
    let release: (() => void) | undefined;
    const sweeper = defineService({
      name: "sweeper",
      build: () => ({
        jobs: [
          {
            name: "sweeper.loop",
            async run(signal) {
              while (!signal.aborted) {
                rounds++;
                // A round still at work when the stop comes (the abort lands before the pause).
                await new Promise<void>((resolve) => (release = resolve));
                await pause(3_600_000, signal);
              }
            },
          },
        ],
      }),
    });
    const bundle = await start(sweeper);
    await expect.poll(() => rounds).toBe(1);
    const stopped = bundle.stop();
    await new Promise((r) => setTimeout(r, 20)); // the stop has aborted the signal mid-round
    release!();
    expect(await stopped).toEqual({ forced: 0, failures: 0 });
  });

  it("pause: resolves after its time, at an abort, and at once on an aborted signal", async () => {
    const c = new AbortController();
    const t0 = Date.now();
    await pause(30, c.signal);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    const waiting = pause(3_600_000, c.signal);
    c.abort();
    await waiting;
    await pause(3_600_000, c.signal); // already aborted: returns, never waits the hour
  });
});
