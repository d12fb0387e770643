import { defineConfig } from "vitest/config";
import { LongestFirst } from "./test/support/sequencer.js";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    // test/reliability runs on its own: npm run test:reliability (vitest.reliability.config.ts).
    exclude: ["node_modules/**", "data/**", "test/reliability/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Files run in parallel worker processes; each test opens its own
    // database (see test/support/stores.ts).
    pool: "forks",
    // Two at a time on the 2-core machines (vitest's default there is one): most files wait on
    // child bundles, MariaDB or Cassandra rather than on a core, so two halve the wall time.
    maxWorkers: 2,
    minWorkers: 1,
    // Longest files first, from durations committed in the repo (test/support/sequencer.ts).
    sequence: { sequencer: LongestFirst },
    // One line when the live Cassandra suites are skipped (no CASSANDRA_CONTACT_POINTS); the CLI
    // that child processes run, built once for the run (test/support/cli/build.ts).
    globalSetup: ["test/support/global-setup.ts", "test/support/cli/global-setup.ts"],
  },
});
