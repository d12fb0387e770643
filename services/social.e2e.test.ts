/**
 * The social slice end to end: a real `orbit bundle --services=social` on
 * SQLite, called over the network with Connect clients. The scenario itself
 * is shared with the two-process test (test/support/social-scenario.ts).
 */
import { afterAll, beforeAll, describe } from "vitest";
import { startBundle, type BundleProcess } from "../test/support/bundle-process.js";
import { socialScenario } from "../test/support/social-scenario.js";

describe("social over the network (SQLite)", () => {
  let b: BundleProcess;

  beforeAll(async () => {
    b = await startBundle(["--services", "social"], { env: { ORBIT_SCRYPT_LOG_N: "12" } });
  }, 60_000);
  afterAll(async () => {
    await b?.stop();
  });

  socialScenario(() => ({ baseUrl: b.url }));
});
