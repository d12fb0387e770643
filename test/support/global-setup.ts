/**
 * vitest globalSetup: says once, in one line, when the live Cassandra suites
 * are skipped (CASSANDRA_CONTACT_POINTS unset), so a local `npm test` without
 * a node is not mistaken for a run that proved the Cassandra path.
 */
import { CASSANDRA_SKIP } from "./cassandra.js";

export default function setup(): void {
  if (CASSANDRA_SKIP) process.stdout.write(`live Cassandra suites skipped: ${CASSANDRA_SKIP}\n`);
}
