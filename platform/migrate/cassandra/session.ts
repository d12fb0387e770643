/**
 * What the Cassandra migrator needs from a connection: run a statement (DDL
 * unprepared, LWTs prepared), see whether a lightweight transaction applied,
 * and check schema agreement. `cqlSessionOf` adapts the platform's
 * CassandraClient; tests of the planner need no connection at all.
 */
import type { CassandraClient } from "../../storage/cassandra/client.js";

export interface CqlResult {
  readonly rows: readonly Record<string, unknown>[];
  /** For a lightweight transaction: whether it applied. */
  readonly applied: boolean;
}

export interface CqlSession {
  /** Runs a statement; `params` means a prepared statement, none means DDL text. */
  execute(cql: string, params?: readonly unknown[]): Promise<CqlResult>;
  /** True when every live node reports the same schema version. */
  schemaAgreement(): Promise<boolean>;
  /** Where it points, for logs and reports. */
  readonly url: string;
}

export function cqlSessionOf(client: CassandraClient): CqlSession {
  return {
    url: client.url,
    async execute(cql, params) {
      const rs = params ? await client.execute(cql, params) : await client.driver.execute(cql, [], { prepare: false });
      const rows = (rs.rows ?? []).map((r) => Object.fromEntries(r.keys().map((k) => [k, r.get(k)])));
      let applied = true;
      try {
        applied = rs.wasApplied();
      } catch {
        applied = true;
      }
      return { rows, applied };
    },
    async schemaAgreement() {
      const metadata = client.driver.metadata as unknown as { checkSchemaAgreement?: () => Promise<boolean> };
      if (typeof metadata.checkSchemaAgreement === "function") return metadata.checkSchemaAgreement();
      // Older drivers: compare schema_version of this node and its peers.
      const local = await client.driver.execute("SELECT schema_version FROM system.local", [], { prepare: false });
      const peers = await client.driver.execute("SELECT schema_version FROM system.peers", [], { prepare: false });
      const versions = new Set([...local.rows, ...peers.rows].map((r) => String(r.get("schema_version"))));
      return versions.size <= 1;
    },
  };
}
