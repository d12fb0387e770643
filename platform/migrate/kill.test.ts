/**
 * A process killed (SIGKILL) in the middle of a multi-step plan; the next
 * boot finishes it, and every step ends up applied exactly once in the
 * history. On MariaDB (DDL is not transactional) the interrupted step is
 * settled from the live schema; on SQLite the whole run rolled back.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tablesFromProto } from "../../test/support/compile-proto.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { migrate, planMigration, readHistory } from "./index.js";
import { startChild, writeTables } from "../../test/support/migrate/children.js";

const header = `syntax = "proto3";\npackage demo.v1;\nimport "orbit/options/v1/options.proto";\n`;
const v1 = tablesFromProto({
  "demo/v1/docs.proto":
    header +
    `message DocRow { option (orbit.options.v1.table) = { sql: { name: "docs" primary_key: ["id"] } }; int64 id = 1; }`,
});
const v2 = tablesFromProto({
  "demo/v1/docs.proto":
    header +
    `message DocRow { option (orbit.options.v1.table) = { sql: { name: "docs" primary_key: ["id"]
       index: { columns: ["owner_id", "id"] } } };
       int64 id = 1; int64 owner_id = 2; string title = 3; string body = 4; }`,
});
const STEPS = [
  "add_column:docs.owner_id",
  "add_column:docs.title",
  "add_column:docs.body",
  "add_index:docs.docs_by_owner_id_id",
];
const opts = { dataMigrations: [] as const };

describe.each(ENGINES)("a boot killed half way on $name", ({ name, open }) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await open();
  });
  afterEach(async () => {
    await store.dispose();
  });

  it.each(["started", "executed"])("is finished by the next boot (killed when step 2 was %s)", async (phase) => {
    await migrate(store.db, v1, opts);
    await store.db.run("INSERT INTO docs (id) VALUES (1), (2)");
    const child = startChild(store.url, writeTables(v2), `1:${phase}`);
    await child.waitFor("READY");
    child.go();
    expect(await child.waitFor("PAUSED")).toBe(`PAUSED ${STEPS[1]}`);
    child.proc.kill("SIGKILL");
    expect((await child.exited).code).toBe("SIGKILL");

    const next = await migrate(store.db, v2, { ...opts, lockTimeoutMs: 20_000 });
    if (name === "sqlite") {
      // The killed run's transaction rolled back: the next run does it all.
      expect(next.recovered).toEqual([]);
      expect(next.applied.map((s) => s.id)).toEqual(STEPS);
    } else if (phase === "started") {
      // Recorded as running but its DDL never ran: marked failed and applied again.
      expect(next.recovered).toEqual([`${STEPS[1]} (failed)`]);
      expect(next.applied.map((s) => s.id)).toEqual(STEPS.slice(1));
    } else {
      // Its DDL ran but was not recorded: found in place and marked applied.
      expect(next.recovered).toEqual([`${STEPS[1]} (applied)`]);
      expect(next.applied.map((s) => s.id)).toEqual(STEPS.slice(2));
    }
    expect((await planMigration(store.db, v2, opts)).upToDate).toBe(true);
    expect((await store.db.all("SELECT id FROM docs")).length).toBe(2);

    const history = (await readHistory(store.db)).filter((h) => h.kind === "schema" && h.step !== "create_table:docs");
    for (const step of STEPS) {
      expect(history.filter((h) => h.step === step && h.status === "applied").length, step).toBe(1);
    }
    expect(history.filter((h) => h.status === "running")).toEqual([]);
    if (name === "mariadb") {
      const settled = history.find((h) => h.step === STEPS[1] && h.process.startsWith("child-"))!;
      expect(settled.detail).toMatch(phase === "started" ? /before it took effect/ : /after it took effect/);
    }
  });
});
