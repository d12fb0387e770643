/**
 * vitest globalSetup: builds the CLI that tests run as child processes (build.ts) once for the
 * run, from the sources as they are, and hands its directory to the test workers (and their
 * children) in ORBIT_TEST_CLI; removes it after the run. ORBIT_TEST_CLI=source skips the build:
 * children then run cmd/orbit.mjs through tsx (so they do, with a line saying so, when the
 * sources do not build).
 */
import { rmSync } from "node:fs";
import { buildTestCli, removeStaleBuilds } from "./build.js";
import { FROM_SOURCE, TEST_CLI_ENV, type TestCli } from "./current.js";

export default async function setup(): Promise<(() => void) | undefined> {
  if (process.env[TEST_CLI_ENV] === FROM_SOURCE) {
    process.stdout.write(`${TEST_CLI_ENV}=${FROM_SOURCE}: child processes run cmd/orbit.mjs through tsx\n`);
    return undefined;
  }
  removeStaleBuilds();
  let cli: TestCli;
  try {
    cli = await buildTestCli();
  } catch (err) {
    // A source that does not compile: the files that do not need it still run, and children
    // run from source (and fail as they did before there was a build, in the tests that use it).
    const first = String((err as Error).message ?? err)
      .split("\n")[0]!
      .replace(/:$/, "");
    process.stdout.write(`the test CLI did not build (${first}); child processes run cmd/orbit.mjs through tsx\n`);
    process.env[TEST_CLI_ENV] = FROM_SOURCE;
    return () => {
      delete process.env[TEST_CLI_ENV];
    };
  }
  process.env[TEST_CLI_ENV] = cli.dir;
  return () => {
    delete process.env[TEST_CLI_ENV];
    rmSync(cli.dir, { recursive: true, force: true });
  };
}
