/**
 * Where the test run's prebuilt CLI is (test/support/cli/build.ts), without loading esbuild:
 * the global setup builds it and gives its directory in ORBIT_TEST_CLI to the test workers.
 */
import { join } from "node:path";

/**
 * The environment variable that gives test workers (and their children) the build's directory.
 * Set to "source" before the run (`ORBIT_TEST_CLI=source npx vitest run …`), nothing is built
 * and children run `cmd/orbit.mjs` through tsx, as before the prebuilt CLI.
 */
export const TEST_CLI_ENV = "ORBIT_TEST_CLI";
export const FROM_SOURCE = "source";

export interface TestCli {
  /** The build's directory (under BUILD_DIR). */
  readonly dir: string;
  /** The built cmd/main.ts: `node <main> <args>` is `orbit <args>`. */
  readonly main: string;
  /** The built test/support/migrate/migrate-child.ts. */
  readonly migrateChild: string;
}

/** The build in `dir` (a directory made by buildTestCli). */
export function testCliIn(dir: string): TestCli {
  return {
    dir,
    main: join(dir, "cmd", "main.mjs"),
    migrateChild: join(dir, "test", "support", "migrate", "migrate-child.mjs"),
  };
}

/**
 * The build of this test run (ORBIT_TEST_CLI, set by the global setup), or undefined outside
 * vitest (tools/bench starts bundles too) and with ORBIT_TEST_CLI=source: then children run
 * from source.
 */
export function currentTestCli(): TestCli | undefined {
  const dir = process.env[TEST_CLI_ENV];
  return dir && dir !== FROM_SOURCE ? testCliIn(dir) : undefined;
}
