/**
 * A bundle migrates the tables of the services it runs before it serves
 * (with the real migrator, on SQLite and MariaDB), refuses destructive
 * changes unless allowed, and can be told not to migrate.
 */
import { afterEach, describe, expect, it } from "vitest";
import { EchoService } from "../../gen/orbit/testing/v1/echo_pb.js";
import { EchoNoteRowTable } from "../../gen/orbit/testing/v1/tables_db.js";
import { echo } from "../../services/echo/service.js";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { DEFAULT_CONFIG, type OrbitConfig } from "../config/config.js";
import { silentLogger } from "../log.js";
import type { SqlDb } from "../storage/driver.js";
import type { SqlTableSpec } from "../storage/schema.js";
import { Bundle } from "./bundle.js";
import { Registry } from "./registry.js";
import { defineService } from "./service.js";

async function count(db: SqlDb, table: string): Promise<number> {
  const r = await db.get<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(r?.n);
}

async function hasTable(db: SqlDb, table: string): Promise<boolean> {
  const r =
    db.dialect === "sqlite"
      ? await db.get("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", [table])
      : await db.get(
          "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?",
          [table],
        );
  return r !== undefined;
}

function start(store: TestStore, registry: Registry, config: Partial<OrbitConfig> = {}): Promise<Bundle> {
  return Bundle.start({
    registry,
    config: { ...DEFAULT_CONFIG, services: ["echo"], ...config },
    db: store.db,
    listen: false,
    log: silentLogger(),
  });
}

describe.each(ENGINES)("boot migrations on $name", ({ open }) => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it("creates the services' tables before serving, and is a no-op the second time", async () => {
    const store = await open();
    cleanup.push(() => store.dispose());
    const first = await start(store, new Registry([echo]));
    expect(await hasTable(store.db, "testing_echo_notes")).toBe(true);
    const { id } = await first.client(EchoService).note({ text: "kept" });
    expect(id).toBeGreaterThan(0n);
    await first.stop();
    const second = await start(store, new Registry([echo]));
    cleanup.push(() => second.stop());
    expect(await count(store.db, "testing_echo_notes")).toBe(1);
  });

  it("refuses a destructive change unless allowed", async () => {
    const store = await open();
    cleanup.push(() => store.dispose());
    await (await start(store, new Registry([echo]))).stop();
    // The same service, now without the `text` column: migrating would drop it.
    const narrowed: SqlTableSpec = {
      ...EchoNoteRowTable,
      columns: EchoNoteRowTable.columns.filter((c) => c.name !== "text"),
    };
    const changed = defineService({ ...echo, tables: [narrowed] });
    await expect(start(store, new Registry([changed]))).rejects.toThrow(/text/);
    expect(await hasTable(store.db, "testing_echo_notes")).toBe(true);
    const allowed = await start(store, new Registry([changed]), { allowDestructive: true });
    cleanup.push(() => allowed.stop());
  });

  it("refuses to start an older binary on a newer schema unless allowed", async () => {
    const store = await open();
    cleanup.push(() => store.dispose());
    await (await start(store, new Registry([echo]))).stop();
    // A newer binary added a column…
    const newer: SqlTableSpec = {
      ...EchoNoteRowTable,
      columns: [
        ...EchoNoteRowTable.columns,
        { ...EchoNoteRowTable.columns.find((c) => c.name === "text")!, name: "extra", field: "extra" },
      ],
    };
    await (await start(store, new Registry([defineService({ ...echo, tables: [newer] })]))).stop();
    // …and the older one boots again.
    await expect(start(store, new Registry([echo]))).rejects.toThrow(/newer/i);
    const allowed = await start(store, new Registry([echo]), { allowNewerSchema: true, allowDestructive: false });
    cleanup.push(() => allowed.stop());
  });

  it("does not migrate with migrate: false (--no-migrate)", async () => {
    const store = await open();
    cleanup.push(() => store.dispose());
    const b = await start(store, new Registry([echo]), { migrate: false });
    cleanup.push(() => b.stop());
    expect(await hasTable(store.db, "testing_echo_notes")).toBe(false);
    await expect(b.client(EchoService).note({ text: "nowhere" })).rejects.toMatchObject({
      rawMessage: "internal error",
    });
  });
});
