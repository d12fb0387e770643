import { defineConfig } from "vitest/config";

/**
 * `npm run test:reliability`: the attacks and faults of issue 12 repeated
 * against real bundles (test/reliability), after the main suite in CI.
 * Bounded: each file a few tens of seconds.
 */
export default defineConfig({
  test: {
    include: ["test/reliability/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: false,
    // The CLI that the bundles run, built once for the run (test/support/cli/build.ts).
    globalSetup: ["test/support/cli/global-setup.ts"],
  },
});
