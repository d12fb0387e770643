/**
 * `orbit events` as a real child process against a store a bus has used:
 * groups and lag, dead letters (list, inspect with the payload decoded,
 * retry, purge), replay, and usage errors (exit 2).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { orbitScript } from "../../test/support/bundle-process.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContractCountedSchema, type ContractCounted } from "../../gen/orbit/contract/v1/events_pb.js";
import { EventBus } from "../../platform/events/index.js";
import { silentLogger } from "../../platform/events/logger.js";
import { waitFor } from "../../test/support/wait.js";
import { openSqlStore } from "../../platform/storage/open.js";
import { mysqlStore, type TestStore } from "../../test/support/stores.js";

const run = promisify(execFile);
/** The run's prebuilt CLI (test/support/cli/build.ts). */
const ORBIT = orbitScript();

async function orbit(env: Record<string, string>, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [ORBIT, "events", ...args], {
      env: { ...process.env, ORBIT_MYSQL: "", ORBIT_DATA_DIR: "", ORBIT_CONFIG: "", ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A group "ledger" that handled 3 events and dead-lettered the one with amount 2. */
async function seed(url: string): Promise<void> {
  const db = openSqlStore(url);
  const bus = await EventBus.open(db, { logger: silentLogger });
  try {
    bus.consume({
      group: "ledger",
      events: [ContractCountedSchema],
      maxAttempts: 1,
      handle: (e) => {
        if ((e.message as ContractCounted).amount === 2n) throw new Error("amount 2 is not allowed\n  at the ledger");
      },
    });
    for (const amount of [1n, 2n, 3n]) await bus.publish(ContractCountedSchema, { accountId: 7n, amount });
    await waitFor(async () => (await bus.lagByGroup())[0]?.pending === 0, "ledger caught up");
  } finally {
    await bus.close();
    await db.close();
  }
}

describe("orbit events on SQLite", () => {
  const dir = mkdtempSync(join(tmpdir(), "orbit-cli-events-"));
  const env = { ORBIT_DATA_DIR: dir };
  beforeAll(() => seed(`sqlite:${join(dir, "orbit.db")}`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("lists groups with position, pending and dead letters", async () => {
    const r = await orbit(env, "groups");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/GROUP\s+TOPICS\s+POSITION\s+HEAD\s+PENDING/);
    expect(r.stdout).toMatch(/ledger\s+contract\.counted\s+3\s+3\s+0\s+-\s+\(none\)\s+-\s+1/);
    const json = JSON.parse((await orbit(env, "groups", "--json")).stdout);
    expect(json[0]).toMatchObject({ group: "ledger", position: "3", deadLetters: 1 });
  });

  it("lists and inspects dead letters, decoding the payload from gen/", async () => {
    const list = await orbit(env, "dead-letters", "ledger");
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^2\s+contract\.counted\s+7\s+1\s+dead\s+\S+\s+Error: amount 2 is not allowed$/m);
    const one = await orbit(env, "inspect", "ledger", "2");
    expect(one.code).toBe(0);
    expect(one.stdout).toContain("topic      contract.counted  (orbit.contract.v1.ContractCounted)");
    expect(one.stdout).toContain('"accountId": "7"');
    expect(one.stdout).toContain("at the ledger");
  });

  it("marks dead letters for retry, purges them, and replays a group", async () => {
    expect((await orbit(env, "retry", "ledger", "2")).stdout).toContain("1 dead letter marked for retry");
    expect(JSON.parse((await orbit(env, "dlq", "ledger", "--json")).stdout)[0].state).toBe("retry");
    expect((await orbit(env, "purge", "ledger", "--all")).stdout).toContain("1 dead letter deleted");
    const r = await orbit(env, "replay", "ledger", "--from", "2");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("group ledger: position 3 → 1; it handles events from 2 on again");
    expect((await orbit(env, "replay", "ledger", "--from", "earliest")).stdout).toContain("→ 0");
  });

  it("exits 2 with a clear message for bad usage", async () => {
    const unknown = await orbit(env, "replay", "nope", "--from", "1");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown consumer group "nope" (groups: ledger)');
    const badId = await orbit(env, "inspect", "ledger", "abc");
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('"abc" is not an event id');
    const far = await orbit(env, "replay", "ledger", "--from", "999");
    expect(far.code).toBe(2);
    expect(far.stderr).toContain("the log ends at 3");
    const neither = await orbit(env, "retry", "ledger");
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain("give event ids or --all");
  });

  it("drops a group: it is no longer listed, and replaying it is then refused", async () => {
    const dropped = await orbit(env, "drop-group", "ledger");
    expect(dropped.code).toBe(0);
    expect(dropped.stdout).toContain("group ledger dropped");
    const groups = JSON.parse((await orbit(env, "groups", "--json")).stdout) as Array<{ name: string }>;
    expect(groups.map((g) => g.name)).not.toContain("ledger");
    const replay = await orbit(env, "replay", "ledger", "--from", "1");
    expect(replay.code).toBe(2);
    expect(replay.stderr).toContain('unknown consumer group "ledger"');
  }, 120_000);
});

describe("orbit events on MariaDB", () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await mysqlStore();
    await seed(store.url);
  });
  afterAll(() => store.dispose());

  it("lists groups and replays through --mysql", async () => {
    const g = await orbit({}, "groups", "--mysql", store.url);
    expect(g.code).toBe(0);
    expect(g.stdout).toMatch(/ledger\s+contract\.counted\s+3\s+3\s+0/);
    const r = await orbit({ ORBIT_MYSQL: store.url }, "replay", "ledger", "--from", "1");
    expect(r.stdout).toContain("position 3 → 0");
  });
});
