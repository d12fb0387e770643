/**
 * The Cassandra store's health probe for /readyz: `SELECT release_version
 * FROM system.local` on the client's connections, 1 s timeout, cached 1 s.
 */
import { cachedProbe, type CachedProbeOptions, type HealthProbe } from "../health.js";
import type { CassandraClient } from "./client.js";

export function cassandraProbe(client: CassandraClient, opts: CachedProbeOptions = {}): HealthProbe {
  const timeoutMs = opts.timeoutMs ?? 1_000;
  const where = client.config.contactPoints.join(",");
  return cachedProbe(
    "cassandra",
    async () => {
      const rs = await client.driver.execute("SELECT release_version FROM system.local", [], {
        prepare: false,
        readTimeout: timeoutMs,
        isIdempotent: true,
      });
      return `cassandra ${String(rs.first()?.get("release_version") ?? "?")} at ${where}`;
    },
    { ...opts, timeoutMs },
  );
}
