/**
 * The migrator's own tables in a Cassandra keyspace: the lease row
 * (orbit_migration_lock) and the history (orbit_migrations). They are made
 * before the lease exists, possibly by several processes at once, so each is
 * created with a fixed table id derived from its name: concurrent CREATE
 * TABLE IF NOT EXISTS statements then agree on the id instead of leaving
 * the "column family ID mismatch" behind. Servers that refuse `WITH ID` get
 * the plain statement.
 */
import { createHash } from "node:crypto";
import { cqlIdent } from "../../storage/cassandra/cql.js";
import type { CqlSession } from "./session.js";

export const LOCK_TABLE = "orbit_migration_lock";
export const HISTORY_TABLE_CQL = "orbit_migrations";

/** A UUID (version 4 layout) derived from `name`, stable across processes. */
export function stableTableId(name: string): string {
  const h = createHash("sha256").update(name).digest("hex");
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function lockTableCql(keyspace: string): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${cqlIdent(keyspace)}.${LOCK_TABLE} (` +
    "name text PRIMARY KEY, owner text, acquired_at_ms bigint)"
  );
}

export function historyTableCql(keyspace: string): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${cqlIdent(keyspace)}.${HISTORY_TABLE_CQL} (` +
    "scope text, id timeuuid, kind text, subject text, step text, summary text, statements text, " +
    "checksum text, status text, detail text, process text, started_at_ms bigint, finished_at_ms bigint, " +
    "PRIMARY KEY (scope, id))"
  );
}

/** Waits until every live node has the same schema version. */
export async function waitForSchemaAgreement(session: CqlSession, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await session.schemaAgreement()) return;
    if (Date.now() >= deadline) {
      throw new Error(
        `Cassandra nodes did not agree on the schema within ${Math.round(timeoutMs / 1000)} s (${session.url}); ` +
          "stopping before the next schema change. Check `nodetool describecluster`, then migrate again.",
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Creates a bookkeeping table if missing, with its stable id. */
export async function ensureBookkeepingTable(
  session: CqlSession,
  keyspace: string,
  table: string,
  cql: string,
  agreementTimeoutMs: number,
): Promise<void> {
  try {
    await session.execute(`${cql} WITH ID = ${stableTableId(`${keyspace}.${table}`)}`);
  } catch (err) {
    if (!/\bid\b/i.test((err as Error).message)) throw err;
    await session.execute(cql);
  }
  await waitForSchemaAgreement(session, agreementTimeoutMs);
}
