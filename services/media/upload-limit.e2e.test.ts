/**
 * Uploads per user (`--media-uploads-per-user`, issue 12: expensive methods are
 * limited per user): past the limit CreateUpload answers resource_exhausted
 * with a retry hint, counted in orbit_limits_throttled_total; other users are
 * not affected.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { silentLogger } from "../../platform/log.js";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { registry } from "../registry.js";
import { mediaClient } from "./testing/client.js";

const ANN = "tok-ann";
const BOB = "tok-bob";
const PER_USER = 3;

describe("uploads per user", () => {
  let store: TestStore;
  let bundle: Bundle;
  let cacheDir: string;

  beforeAll(async () => {
    store = await sqliteStore();
    cacheDir = mkdtempSync(join(tmpdir(), "media-cache-"));
    bundle = await Bundle.start({
      registry,
      config: {
        ...DEFAULT_CONFIG,
        services: ["media", "push"],
        host: "127.0.0.1",
        port: 0,
        devTokens: { [ANN]: "1", [BOB]: "2" },
        settings: { media: { cacheDir, urlKeys: "aa".repeat(32), uploadsPerUser: PER_USER } },
      },
      db: store.db,
      log: silentLogger(),
    });
  }, 60_000);

  afterAll(async () => {
    await bundle?.stop();
    await store?.dispose();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it("refuses a user's uploads past the limit, with a retry hint; another user uploads", async () => {
    const ann = mediaClient(bundle.url!, ANN);
    const start = (c: typeof ann) => c.createUpload({ contentType: "image/png", sizeBytes: 100n, fileName: "a.png" });
    for (let i = 0; i < PER_USER; i++) await start(ann);
    const err = await start(ann).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.ResourceExhausted);
    expect(err?.rawMessage).toMatch(/^too many uploads; try again in \d+ s$/);
    expect(Number(err?.metadata.get("retry-after"))).toBeGreaterThan(1_000); // 3 an hour: one every 20 min
    await start(mediaClient(bundle.url!, BOB));
    expect(await bundle.metrics.registry.getSingleMetricAsString("orbit_limits_throttled_total")).toMatch(
      /\{service="media",method="CreateUpload",reason="uploads_per_user"\} 1/,
    );
  });
});
