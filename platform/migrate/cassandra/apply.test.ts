/**
 * The Cassandra migrator's apply path, offline: migrateCassandra() against
 * an in-memory cluster (test/support/migrate/fake-cassandra.ts) that
 * records every statement and answers the system_schema reads, the lease's
 * lightweight transactions, the history and the schema-agreement checks.
 * Time is vitest's fake clock, so lease expiry (60 s), renewal (every 20 s),
 * lock waits and agreement timeouts run in milliseconds.
 *
 * Only faults a real node cannot produce on demand are tested here (the
 * test names say "in-memory fake"): schema agreement that lags or never
 * comes, DDL slow enough to outlive a lease, a lease stolen or unrenewable
 * while a step runs. Everything else — plans applied, refusals, history,
 * crashed boots resumed, lease waits, concurrent boots — runs on the live
 * node in live.test.ts.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { TableSpec } from "../../storage/schema.js";
import { wideEventTables } from "../../../test/support/migrate/wide-events.js";
import { MigrationLockTimeoutError } from "../errors.js";
import type { MigrationReport } from "../options.js";
import { FakeCassandra, type ExecuteEvent, type FakeEvent } from "../../../test/support/migrate/fake-cassandra.js";
import { migrateCassandra, planCassandraMigration, type CassandraMigrateOptions } from "./migrate.js";

const KS = "orbit";
const v2 = wideEventTables(
  `int64 user_id = 1; int64 event_id = 2; string kind = 3; string detail = 4; string source = 5;`,
);

const BOOKKEEPING = /^CREATE TABLE IF NOT EXISTS orbit\.orbit_(migration_lock|migrations) /;
const isDdl = (e: FakeEvent): e is ExecuteEvent => e.kind === "execute" && e.params === undefined;
/** Schema changes of the plan (not the migrator's own two tables), by process. */
const planDdl = (c: FakeCassandra, process?: string) =>
  c
    .statements(process)
    .filter((e) => isDdl(e) && !BOOKKEEPING.test(e.cql) && !e.error)
    .map((e) => e.cql);
const leaseOps = (c: FakeCassandra, process?: string) =>
  c
    .statements(process)
    .filter((e) => e.cql.includes("orbit_migration_lock") && e.params)
    .map((e) => `${e.cql.split(" ")[0]} ${e.error ? "failed" : e.applied ? "applied" : "not applied"}`);
const schemaRows = (c: FakeCassandra) => c.history().filter((r) => r.kind === "schema");
const norm = (sql: string) => sql.replace(/\s+/g, " ").trim();

/** Runs `p` to completion, moving the fake clock on while it waits. */
async function run<T>(p: Promise<T>): Promise<T> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; !settled && i < 1_000_000; i++) await vi.advanceTimersByTimeAsync(20);
  return p;
}

async function runError(p: Promise<unknown>): Promise<Error> {
  try {
    await run(p);
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the migration to fail");
}

function migrate(
  c: FakeCassandra,
  process: string,
  tables: readonly TableSpec[],
  opts: CassandraMigrateOptions = {},
): Promise<MigrationReport> {
  return migrateCassandra(c.session(process), KS, tables, { processId: process, ...opts });
}

beforeAll(async () => {
  // The history module loads the driver lazily; load it once with real timers.
  await import("cassandra-driver");
});
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("migrateCassandra: applying a plan (in-memory fake: schema agreement that lags)", () => {
  it("on an empty keyspace runs the plan's DDL in order, waits for schema agreement after each, records each step once", async () => {
    const c = new FakeCassandra(KS);
    c.agreementLagChecks = 2; // after every change, the nodes need two more checks to agree
    const expected = (await planCassandraMigration(c.session("planner"), KS, v2)).steps;
    expect(expected.map((s) => s.id)).toEqual(["create_table:events", "create_table:counts"]);

    const report = await run(migrate(c, "boot-a", v2));

    expect(planDdl(c)).toEqual(expected.flatMap((s) => s.sql.map(norm)));
    expect(report.applied.map((s) => s.id)).toEqual(expected.map((s) => s.id));
    expect(c.columnsOf("events")).toEqual({
      user_id: "bigint",
      event_id: "bigint",
      kind: "text",
      detail: "text",
      source: "text",
    });

    // After every schema change (the migrator's own tables included) the next thing sent is an
    // agreement check, and the checks go on until the nodes agree; nothing is sent while they disagree.
    expect(c.ddlWhileDisagreeing).toEqual([]);
    const renewal = (e: FakeEvent) => e.kind === "execute" && e.cql.startsWith("UPDATE orbit.orbit_migration_lock");
    const sent = c.events.filter((e) => e.process === "boot-a" && !renewal(e));
    const ddlAt = sent.flatMap((e, i) => (isDdl(e) ? [i] : []));
    expect(ddlAt).toHaveLength(4);
    for (const i of ddlAt) {
      const after = sent.slice(i + 1, i + 4);
      expect(
        after.map((e) => (e.kind === "agreement" ? e.agreed : e.cql)),
        (sent[i] as ExecuteEvent).cql,
      ).toEqual([false, false, true]);
    }

    // Each step in the history once, applied, by this process, with its checksum and statements.
    expect(schemaRows(c).map((r) => [r.step, r.status, r.process, r.checksum, r.statements])).toEqual(
      expected.map((s) => [s.id, "applied", "boot-a", s.checksum, s.sql.join(";\n")]),
    );
    expect(schemaRows(c).every((r) => typeof r.finished_at_ms === "bigint")).toBe(true);
    expect(
      c
        .history()
        .filter((r) => r.kind === "state")
        .map((r) => r.subject),
    ).toEqual(["events", "counts"]);

    // The lease: taken before the first change, released after the last (renewed meanwhile, as
    // the fake clock moves on while the run is driven).
    expect(leaseOps(c, "boot-a").filter((o) => o !== "UPDATE applied")).toEqual(["INSERT applied", "DELETE applied"]);
    const firstPlanDdl = sent.findIndex((e) => isDdl(e) && !BOOKKEEPING.test(e.cql));
    const leaseTaken = sent.findIndex(
      (e) => e.kind === "execute" && e.cql.startsWith("INSERT INTO orbit.orbit_migration_lock"),
    );
    const leaseFreed = sent.findIndex(
      (e) => e.kind === "execute" && e.cql.startsWith("DELETE FROM orbit.orbit_migration_lock"),
    );
    expect(leaseTaken).toBeLessThan(firstPlanDdl);
    expect(leaseFreed).toBe(sent.length - 1);
    expect(c.lease).toBeUndefined();

    // The next boot reads the schema and the history, and writes nothing.
    const before = c.events.length;
    const again = await run(migrate(c, "boot-b", v2));
    expect(again.plan.upToDate).toBe(true);
    expect(
      c.events.slice(before).map((e) => (e.kind === "execute" ? e.cql.split(" FROM ")[1]!.split(" ")[0] : e.kind)),
    ).toEqual(["system_schema.tables", "system_schema.columns", "orbit.orbit_migrations"]);
  });
});

describe("migrateCassandra: the lease (in-memory fake: slow DDL, lease stolen or not renewable mid-step)", () => {
  it("two boots at once: one migrates (renewing its lease through slow DDL), the other waits and finds nothing to do", async () => {
    const c = new FakeCassandra(KS);
    c.ddlLatencyMs = 40_000; // two steps take 80 s, longer than the 60 s lease: only renewal keeps it
    const [a, b] = await run(Promise.all([migrate(c, "boot-a", v2), migrate(c, "boot-b", v2)]));

    const [winner, loser] = a.applied.length > 0 ? ["boot-a", "boot-b"] : ["boot-b", "boot-a"];
    expect([a, b].map((r) => r.applied.length).sort()).toEqual([0, 2]);
    expect(planDdl(c, loser)).toEqual([]);
    expect(schemaRows(c).map((r) => `${r.step} ${r.status} ${r.process}`)).toEqual([
      `create_table:events applied ${winner}`,
      `create_table:counts applied ${winner}`,
    ]);
    // The winner renewed while its DDL ran; the loser only got the lease once the winner freed it.
    const winnerOps = leaseOps(c, winner);
    expect(winnerOps.filter((o) => o === "UPDATE applied").length).toBeGreaterThanOrEqual(3);
    expect(winnerOps.filter((o) => o !== "UPDATE applied")).toEqual(["INSERT applied", "DELETE applied"]);
    const freed = c.statements(winner).find((e) => e.cql.startsWith("DELETE FROM orbit.orbit_migration_lock"))!;
    const lastDdl = c.statements(winner).filter(isDdl).at(-1)!;
    const loserWon = c
      .statements(loser)
      .find((e) => e.cql.startsWith("INSERT INTO orbit.orbit_migration_lock") && e.applied)!;
    expect(lastDdl.atMs - c.statements(winner)[0]!.atMs).toBeGreaterThan(60_000);
    expect(loserWon.atMs).toBeGreaterThanOrEqual(freed.atMs);
    expect(
      c.statements(loser).some((e) => e.cql.startsWith("INSERT INTO orbit.orbit_migration_lock") && !e.applied),
    ).toBe(true);
    expect(c.lease).toBeUndefined();
  });

  it("stops before the next DDL when its lease was taken while a step ran, and does not free the new holder's lease", async () => {
    const c = new FakeCassandra(KS);
    c.ddlLatencyMs = 25_000; // the first renewal (after 20 s) happens while the first step's DDL runs
    const err = await runError(
      migrate(c, "boot-a", v2, {
        onProgress: (e) => {
          if (e.phase === "started" && e.index === 0) c.stealLease("intruder");
        },
      }),
    );
    expect(err).toBeInstanceOf(MigrationLockTimeoutError);
    expect(err.message).toMatch(/migration lease lost on cassandra:\/\/fake\/orbit: the lease was taken by intruder/);
    // The step that was running finishes and is recorded; the next one is not started.
    expect(planDdl(c)).toHaveLength(1);
    expect(planDdl(c)[0]).toMatch(/^CREATE TABLE IF NOT EXISTS orbit\.events /);
    expect(schemaRows(c).map((r) => `${r.step} ${r.status}`)).toEqual(["create_table:events applied"]);
    expect(leaseOps(c, "boot-a")).toContain("UPDATE not applied");
    expect(leaseOps(c, "boot-a").at(-1)).toBe("DELETE not applied");
    expect(c.lease?.owner).toBe("intruder");
  });
  it("stops before the next step when it could not renew its lease for most of its length", async () => {
    const c = new FakeCassandra(KS);
    c.ddlLatencyMs = 70_000; // renewals at 20, 40 and 60 s fail while the first step's DDL runs
    const err = await runError(
      migrate(c, "boot-a", v2, {
        onProgress: (e) => {
          if (e.phase === "started" && e.index === 0) c.failingRenewals = Infinity;
        },
      }),
    );
    expect(err).toBeInstanceOf(MigrationLockTimeoutError);
    expect(err.message).toMatch(
      /migration lease lost on cassandra:\/\/fake\/orbit: could not renew the lease: Operation timed out/,
    );
    expect(planDdl(c)).toHaveLength(1);
    expect(schemaRows(c).map((r) => `${r.step} ${r.status}`)).toEqual(["create_table:events applied"]);
  });

  it("keeps the lease through a renewal that fails once", async () => {
    const c = new FakeCassandra(KS);
    c.ddlLatencyMs = 50_000;
    const report = await run(
      migrate(c, "boot-a", v2, {
        onProgress: (e) => {
          if (e.phase === "started" && e.index === 0) c.failingRenewals = 1;
        },
      }),
    );
    expect(leaseOps(c, "boot-a").filter((o) => o === "UPDATE failed")).toHaveLength(1);
    expect(leaseOps(c, "boot-a").filter((o) => o === "UPDATE applied").length).toBeGreaterThan(0);
    expect(report.applied).toHaveLength(2);
    expect(c.lease).toBeUndefined();
  });
});

describe("migrateCassandra: schema agreement (in-memory fake: nodes that never agree)", () => {
  it("stops with a clear error when the nodes do not agree within schemaAgreementTimeoutMs; the next run finishes", async () => {
    const c = new FakeCassandra(KS);
    c.neverAgreeAfter = (cql) => cql.startsWith("CREATE TABLE IF NOT EXISTS orbit.events ");
    const err = await runError(migrate(c, "boot-a", v2, { schemaAgreementTimeoutMs: 5_000 }));
    expect(err.message).toMatch(
      /Cassandra nodes did not agree on the schema within 5 s \(cassandra:\/\/fake\/orbit\); stopping before the next schema change/,
    );
    expect(planDdl(c)).toEqual([expect.stringMatching(/^CREATE TABLE IF NOT EXISTS orbit\.events /)]);
    const checks = c.events.filter((e) => e.kind === "agreement" && !e.agreed);
    expect(checks.length).toBeGreaterThan(5);
    expect(c.ddlWhileDisagreeing).toEqual([]);
    expect(c.lease).toBeUndefined();
    // The step stays "running": its DDL was sent, agreement never came.
    expect(schemaRows(c).map((r) => `${r.step} ${r.status}`)).toEqual(["create_table:events running"]);

    c.agreeAgain(); // the cluster settles
    const report = await run(migrate(c, "boot-b", v2));
    expect(report.recovered).toEqual(["create_table:events (applied)"]);
    expect(report.applied.map((s) => s.id)).toEqual(["create_table:counts"]);
  });
});
