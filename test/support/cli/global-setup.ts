/**
 * vitest globalSetup: builds the CLI that tests run as child processes (build.ts) once for the
 * run, from the sources as they are, and hands its directory to the test workers (and their
 * children) in ORBIT_TEST_CLI; removes it after the run. ORBIT_TEST_CLI=source skips the build:
 * children then run cmd/orbit.mjs through tsx.
 */
import { rmSync } from "node:fs";
import { buildTestCli, removeStaleBuilds } from "./build.js";
import { FROM_SOURCE, TEST_CLI_ENV } from "./current.js";

export default async function setup(): Promise<(() => void) | undefined> {
  if (process.env[TEST_CLI_ENV] === FROM_SOURCE) {
    process.stdout.write(`${TEST_CLI_ENV}=${FROM_SOURCE}: child processes run cmd/orbit.mjs through tsx\n`);
    return undefined;
  }
  removeStaleBuilds();
  const cli = await buildTestCli();
  process.env[TEST_CLI_ENV] = cli.dir;
  return () => {
    delete process.env[TEST_CLI_ENV];
    rmSync(cli.dir, { recursive: true, force: true });
  };
}
