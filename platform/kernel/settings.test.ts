/**
 * A service's `ctx.settings`: the values the bundle's configuration gives,
 * checked again, else the declared defaults; settings the service does not
 * declare, and settings of modules that are not services, stop the bundle.
 */
import { afterEach, describe, expect, it } from "vitest";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { ConfigError, DEFAULT_CONFIG } from "../config/config.js";
import { setting } from "../config/settings.js";
import { silentLogger } from "../log.js";
import { Bundle } from "./bundle.js";
import { Registry } from "./registry.js";
import { defineService } from "./service.js";

const seen: unknown[] = [];
const tuned = defineService({
  name: "tuned",
  settings: {
    batch: setting.integer({ default: 100, min: 1, max: 1000, help: "rows per batch" }),
    mode: setting.oneOf(["fast", "safe"], { default: "safe", help: "how" }),
  },
  build(ctx) {
    // Typed from the declarations: a number and "fast" | "safe".
    const batch: number = ctx.settings.batch;
    const mode: "fast" | "safe" = ctx.settings.mode;
    seen.push({ batch, mode });
    return {};
  },
});

const stores: TestStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.dispose();
  seen.length = 0;
});

function start(settings: Record<string, Record<string, unknown>>) {
  const store = sqliteStore();
  stores.push(store);
  return Bundle.start({
    registry: new Registry([tuned]),
    config: { ...DEFAULT_CONFIG, services: ["tuned"], settings },
    db: store.db,
    listen: false,
    log: silentLogger(),
  });
}

describe("service settings", () => {
  it("are the configured values, else the declared defaults", async () => {
    await (await start({})).stop();
    await (await start({ tuned: { mode: "fast" } })).stop();
    expect(seen).toEqual([
      { batch: 100, mode: "safe" },
      { batch: 100, mode: "fast" },
    ]);
  });

  it("refuse undeclared settings, bad values and settings of unknown services", async () => {
    await expect(start({ tuned: { batchSize: 5 } })).rejects.toThrow(
      'settings of tuned: unknown setting "batchSize" (declared: batch, mode)',
    );
    await expect(start({ tuned: { batch: 0 } })).rejects.toThrow(
      "settings of tuned: batch: 0 is not an integer in 1..1000",
    );
    await expect(start({ nobody: { x: 1 } })).rejects.toThrow(ConfigError);
  });
});
