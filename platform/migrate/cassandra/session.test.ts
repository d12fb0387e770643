/**
 * cqlSessionOf: the adapter between the platform's CassandraClient and what
 * the migrator needs, against a stub of the driver surface it uses (execute,
 * ResultSet rows and wasApplied, metadata.checkSchemaAgreement).
 */
import { describe, expect, it } from "vitest";
import type { CassandraClient } from "../../storage/cassandra/client.js";
import { cqlSessionOf } from "./session.js";

interface Call {
  readonly via: "client" | "driver";
  readonly cql: string;
  readonly params: readonly unknown[];
  readonly prepare?: boolean;
}

const row = (values: Record<string, unknown>) => ({ keys: () => Object.keys(values), get: (k: string) => values[k] });
const resultSet = (rows: Record<string, unknown>[], applied?: boolean) => ({
  rows: rows.map(row),
  wasApplied() {
    if (applied === undefined) throw new Error("not a conditional statement");
    return applied;
  },
});

function stubClient(opts: {
  checkSchemaAgreement?: () => Promise<boolean>;
  versions?: { local: string[]; peers: string[] };
  answer?: (cql: string) => ReturnType<typeof resultSet>;
}): { client: CassandraClient; calls: Call[] } {
  const calls: Call[] = [];
  const answer = (cql: string) => {
    if (cql === "SELECT schema_version FROM system.local")
      return resultSet(opts.versions!.local.map((v) => ({ schema_version: v })));
    if (cql === "SELECT schema_version FROM system.peers")
      return resultSet(opts.versions!.peers.map((v) => ({ schema_version: v })));
    return opts.answer?.(cql) ?? resultSet([]);
  };
  const driver = {
    metadata: opts.checkSchemaAgreement ? { checkSchemaAgreement: opts.checkSchemaAgreement } : {},
    async execute(cql: string, params: unknown[], q: { prepare?: boolean }) {
      calls.push({ via: "driver", cql, params, prepare: q.prepare });
      return answer(cql);
    },
  };
  const client = {
    url: "cassandra://stub/orbit",
    driver,
    async execute(cql: string, params: readonly unknown[]) {
      calls.push({ via: "client", cql, params });
      return answer(cql);
    },
  };
  return { client: client as unknown as CassandraClient, calls };
}

describe("cqlSessionOf", () => {
  it("sends DDL unprepared and statements with parameters prepared, and reports [applied]", async () => {
    const { client, calls } = stubClient({
      answer: (cql) =>
        cql.startsWith("INSERT") ? resultSet([{ "[applied]": false, owner: "boot-b" }], false) : resultSet([]),
    });
    const s = cqlSessionOf(client);
    await s.execute("CREATE TABLE IF NOT EXISTS orbit.t (k int PRIMARY KEY)");
    const lwt = await s.execute(
      "INSERT INTO orbit.orbit_migration_lock (name, owner, acquired_at_ms) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?",
      ["migrate", "boot-a", 1n, 60],
    );
    expect(calls.map((c) => [c.via, c.prepare])).toEqual([
      ["driver", false],
      ["client", undefined],
    ]);
    expect(lwt).toEqual({ rows: [{ "[applied]": false, owner: "boot-b" }], applied: false });
    // A statement that is not a lightweight transaction counts as applied.
    expect((await s.execute("SELECT id FROM orbit.orbit_migrations WHERE scope = ?", ["history"])).applied).toBe(true);
  });

  it("asks the driver's metadata for schema agreement when it can", async () => {
    const answers = [false, true];
    const { client, calls } = stubClient({ checkSchemaAgreement: async () => answers.shift()! });
    const s = cqlSessionOf(client);
    expect([await s.schemaAgreement(), await s.schemaAgreement()]).toEqual([false, true]);
    expect(calls).toEqual([]);
  });

  it("otherwise compares schema_version of system.local and system.peers", async () => {
    const agreed = stubClient({ versions: { local: ["v2"], peers: ["v2", "v2"] } });
    expect(await cqlSessionOf(agreed.client).schemaAgreement()).toBe(true);
    expect(agreed.calls.map((c) => [c.cql, c.prepare])).toEqual([
      ["SELECT schema_version FROM system.local", false],
      ["SELECT schema_version FROM system.peers", false],
    ]);
    const behind = stubClient({ versions: { local: ["v2"], peers: ["v2", "v1"] } });
    expect(await cqlSessionOf(behind.client).schemaAgreement()).toBe(false);
  });
});
