/**
 * Four processes boot at once against a fresh database: all succeed, one
 * migrates, the others wait for its lock and find nothing to do, and each
 * step is in the history once. The children call migrate() and exit;
 * bundle-boot.test.ts runs four real `orbit bundle` processes and checks
 * that all four serve.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { tablesFromProto } from "../../test/support/compile-proto.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { planMigration, readHistory } from "./index.js";
import { startChild, writeTables } from "../../test/support/migrate/children.js";

const contract = tablesFromProto({
  "orbit/contract/v1/tables.proto": readFileSync(
    new URL("../../proto/internal/orbit/contract/v1/tables.proto", import.meta.url),
    "utf8",
  ),
});

describe.each(ENGINES)("four boots at once on $name", ({ open }) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await open();
  });
  afterEach(async () => {
    await store.dispose();
  });

  it("migrates once", async () => {
    const tablesPath = writeTables(contract);
    const children = Array.from({ length: 4 }, () => startChild(store.url, tablesPath));
    await Promise.all(children.map((c) => c.waitFor("READY")));
    for (const c of children) c.go();
    const results = await Promise.all(children.map((c) => c.exited));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const reports = results.map((r) => JSON.parse(r.stdout.trim().split("\n").pop()!) as { applied: string[] });

    // Exactly one process applied the steps; the others found them done.
    const appliers = reports.filter((r) => r.applied.length > 0);
    expect(appliers.length).toBe(1);
    expect(appliers[0]!.applied.sort()).toEqual(contract.map((t) => `create_table:${t.name}`).sort());

    const history = await readHistory(store.db);
    const steps = history.filter((h) => h.kind === "schema").map((h) => `${h.step} ${h.status}`);
    expect(steps.sort()).toEqual(contract.map((t) => `create_table:${t.name} applied`).sort());
    const states = history.filter((h) => h.kind === "state").map((h) => h.subject);
    expect(states.sort()).toEqual(contract.map((t) => t.name).sort());
    expect((await planMigration(store.db, contract, { dataMigrations: [] })).upToDate).toBe(true);
  });
});
