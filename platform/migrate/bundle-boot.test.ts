/**
 * Boot migrations as operators meet them: real `orbit bundle` child
 * processes (test/support/bundle-process.ts) on SQLite and MariaDB.
 *
 * - The newcomer flow: an empty database gets its tables and the bundle
 *   serves; a column the manifest no longer has (a removed proto field,
 *   simulated with raw SQL) makes the next boot exit 3 naming the table,
 *   column and what would be lost; --allow-destructive drops it and serves;
 *   the boot after that plans nothing. A database a newer binary migrated
 *   also exits 3.
 * - The race: four bundles start at once on one fresh database (one shared
 *   --data-dir on SQLite, one --mysql URL), each with its own --node-id; all
 *   four serve, and each step is applied exactly once.
 */
import { dirname } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { UserService } from "../../gen/orbit/user/v1/user_pb.js";
import {
  freePort,
  runOrbit,
  startBundle,
  type BundleProcess,
  type Exit,
  type OrbitProcess,
} from "../../test/support/bundle-process.js";
import { mysqlStore, sqliteStore, type TestStore } from "../../test/support/stores.js";
import { readHistory } from "./index.js";

const SERVICES = ["--services", "user"];
/**
 * How long one `orbit bundle` child may take to boot. Four at once through
 * tsx on a loaded two-core machine took over 20 s (the prebuilt test CLI is
 * quicker), so this is generous: the tests assert what the boots did, not how
 * fast.
 */
const BOOT_MS = 120_000;

const ENGINES = [
  { name: "sqlite", open: async () => sqliteStore() },
  { name: "mariadb", open: mysqlStore },
] as const;

/** The flags that point a bundle at `store`, and the data dir for startBundle. */
function storeArgs(store: TestStore): { args: string[]; dataDir?: string } {
  if (store.url.startsWith("sqlite:")) return { args: [], dataDir: dirname(store.url.slice("sqlite:".length)) };
  return { args: ["--mysql", store.url] };
}

async function ready(url: string): Promise<number> {
  return (await fetch(`${url}/readyz`)).status;
}

async function handleAvailable(url: string, handle: string): Promise<boolean> {
  const users = createClient(UserService, createConnectTransport({ baseUrl: url, httpVersion: "2" }));
  return (await users.checkHandle({ handle })).available;
}

/** Runs `orbit bundle` expecting it to exit on its own (a refused boot). */
async function bootExpectingExit(store: TestStore, extra: string[] = []): Promise<{ exit: Exit; p: OrbitProcess }> {
  const { args, dataDir } = storeArgs(store);
  const p = runOrbit(
    [
      "bundle",
      "--host",
      "127.0.0.1",
      "--port",
      String(await freePort()),
      ...(dataDir ? ["--data-dir", dataDir] : []),
      ...args,
      ...SERVICES,
      ...extra,
    ],
    { ORBIT_LOG_LEVEL: "info" },
  );
  const timer = setTimeout(() => p.child.kill("SIGKILL"), BOOT_MS);
  const exit = await p.exited;
  clearTimeout(timer);
  return { exit, p };
}

function migrationsDone(b: OrbitProcess): { applied: number; upToDate: boolean } {
  const line = b.logs().find((l) => l.msg === "migrations done");
  expect(line, b.stdout.join("\n")).toBeDefined();
  return line as unknown as { applied: number; upToDate: boolean };
}

async function columns(store: TestStore, table: string): Promise<string[]> {
  if (store.db.dialect === "sqlite") {
    return (await store.db.all<{ name: string }>(`SELECT name FROM pragma_table_info('${table}')`)).map((r) => r.name);
  }
  const rows = await store.db.all<{ c: string }>(
    "SELECT column_name AS c FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?",
    [table],
  );
  return rows.map((r) => r.c);
}

describe.each(ENGINES)("orbit bundle boot migrations on $name (child processes)", ({ open }) => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  it("newcomer: creates the tables and serves; refuses a dropped column with exit 3; drops it when allowed; then plans nothing", async () => {
    const store = await open();
    cleanup.push(() => store.dispose());
    const { args, dataDir } = storeArgs(store);
    const boot = async (extra: string[] = []) => {
      const b = await startBundle([...args, ...SERVICES, ...extra], { dataDir, readyTimeoutMs: BOOT_MS });
      cleanup.push(() => b.stop());
      return b;
    };

    // 1. Empty database: tables are made, the bundle serves.
    let b: BundleProcess = await boot();
    expect(migrationsDone(b).applied).toBeGreaterThan(0);
    expect(await columns(store, "users")).toContain("handle_key");
    expect(await ready(b.url)).toBe(200);
    expect(await handleAvailable(b.url, "ann")).toBe(true);
    expect((await b.stop()).code).toBe(0);

    // 2. A proto field was removed: the live table has a column the manifest no longer declares.
    await store.db.run("INSERT INTO users (id, handle, handle_key, display_name) VALUES (1, 'ann', 'ann', 'Ann')");
    await store.db.exec(
      `ALTER TABLE users ADD COLUMN nickname ${store.db.dialect === "mysql" ? "VARCHAR(64) NULL" : "TEXT"}`,
    );
    await store.db.run("UPDATE users SET nickname = 'annie' WHERE id = 1");
    const refused = await bootExpectingExit(store);
    expect(refused.exit.code, refused.p.stderr.join("\n")).toBe(3);
    const stderr = refused.p.stderr.join("\n");
    expect(stderr).toMatch(/orbit bundle: boot migrations refused: refusing to apply 1 destructive change/);
    expect(stderr).toMatch(
      /table users: drop column users\.nickname \(\w+.*\): every value of nickname would be lost \(users has 1 row\)/,
    );
    expect(stderr).toMatch(/--allow-destructive/);
    // The JSON log says the same, as a fatal line.
    expect(refused.p.logs().find((l) => l.level === "fatal")).toMatchObject({
      refused: "DestructiveChangeError",
      msg: expect.stringMatching(/^failed to start: refusing .*drop column users\.nickname/s),
    });
    expect(await columns(store, "users")).toContain("nickname");

    // 3. --allow-destructive: the column is dropped, the rest of the row kept, the bundle serves.
    b = await boot(["--allow-destructive"]);
    expect(migrationsDone(b).applied).toBe(1);
    expect(await columns(store, "users")).not.toContain("nickname");
    expect(await ready(b.url)).toBe(200);
    expect(await handleAvailable(b.url, "ann")).toBe(false);
    expect((await b.stop()).code).toBe(0);
    const history = await readHistory(store.db);
    expect(
      history.filter((h) => h.kind === "schema" && h.step === "drop_column:users.nickname").map((h) => h.status),
    ).toEqual(["applied"]);

    // 4. Unchanged: nothing to plan, nothing written.
    b = await boot();
    expect(migrationsDone(b)).toMatchObject({ applied: 0, upToDate: true });
    expect(b.logs().some((l) => /schema is up to date, nothing to do/.test(String(l.migration ?? "")))).toBe(true);
    expect((await readHistory(store.db)).length).toBe(history.length);
    expect((await b.stop()).code).toBe(0);

    // 5. A newer binary moved the table on (it added a column and recorded its state): refused, exit 3.
    await store.db.exec(
      `ALTER TABLE users ADD COLUMN pronouns ${store.db.dialect === "mysql" ? "VARCHAR(16) NULL" : "TEXT"}`,
    );
    await store.db.run(
      "INSERT INTO orbit_migrations (kind, subject, step, summary, statements, checksum, status, detail, process, started_at_ms, finished_at_ms) " +
        "VALUES ('state', 'users', 'state', 'schema of users', '', 'fingerprint-of-a-newer-binary', 'applied', 'orbit/user/v1/tables.proto', 'newer-binary', ?, ?)",
      [Date.now(), Date.now()],
    );
    const newer = await bootExpectingExit(store);
    expect(newer.exit.code, newer.p.stderr.join("\n")).toBe(3);
    expect(newer.p.stderr.join("\n")).toMatch(
      /the schema of .* is newer than this binary[\s\S]*table users was migrated to a newer schema .* by newer-binary/,
    );
  }, 600_000);

  it("race: four bundles boot at once on one fresh database; all four serve, each step is applied once", async () => {
    const store = await open();
    cleanup.push(() => store.dispose());
    const { args, dataDir } = storeArgs(store);
    const bundles = await Promise.all(
      [1, 2, 3, 4].map(async (node) => {
        const b = await startBundle([...args, ...SERVICES, "--node-id", String(node)], {
          dataDir,
          readyTimeoutMs: BOOT_MS,
        });
        cleanup.push(() => b.stop());
        return b;
      }),
    );

    for (const b of bundles) {
      expect(await ready(b.url)).toBe(200);
      expect(await handleAvailable(b.url, "nobody_here")).toBe(true);
    }

    // One process applied every step; the others waited and found them done.
    const done = bundles.map(migrationsDone);
    expect(done.filter((d) => d.applied > 0).length).toBe(1);
    const history = await readHistory(store.db);
    const steps = history.filter((h) => h.kind === "schema");
    expect(steps.length).toBe(done.reduce((n, d) => n + d.applied, 0));
    expect(steps.every((h) => h.status === "applied")).toBe(true);
    expect(new Set(steps.map((h) => h.step)).size).toBe(steps.length);
    expect(new Set(steps.map((h) => h.process)).size).toBe(1);
    for (const table of ["users", "user_sessions", "user_blocks", "profile_counters"]) {
      expect(steps.filter((h) => h.step === `create_table:${table}`).length).toBe(1);
      expect(history.filter((h) => h.kind === "state" && h.subject === table).length).toBe(1);
    }

    for (const b of bundles) expect((await b.stop()).code).toBe(0);
  }, 600_000);
});
