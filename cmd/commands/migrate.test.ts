/**
 * `orbit migrate` as a real child process: prints the plan, applies it,
 * refuses a destructive change with exit code 3 and a message naming the
 * table and column, applies it with --allow-destructive, and rejects bad
 * usage with exit code 2; with --cassandra on the live node, it creates the
 * keyspace (the URL's rf) and the wide tables there.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { orbitScript } from "../../test/support/bundle-process.js";
import { afterAll, describe, expect, it } from "vitest";
import type { TableSpec } from "../../platform/storage/schema.js";
import { tablesFromProto } from "../../test/support/compile-proto.js";
import { mysqlStore } from "../../test/support/stores.js";
import { CASSANDRA_SKIP, liveKeyspace } from "../../test/support/cassandra.js";
import { CassandraClient } from "../../platform/storage/cassandra/client.js";
import { openSqlStore } from "../../platform/storage/open.js";

const run = promisify(execFile);
/** The run's prebuilt CLI (test/support/cli/build.ts). */
const ORBIT = orbitScript();
const dir = mkdtempSync(join(tmpdir(), "orbit-cli-migrate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const header = `syntax = "proto3";\npackage demo.v1;\nimport "orbit/options/v1/options.proto";\n`;
function manifest(name: string, fields: string): string {
  const tables = tablesFromProto({
    "demo/v1/notes.proto":
      header +
      `message NoteRow { option (orbit.options.v1.table) = { sql: { name: "notes" primary_key: ["id"] } }; ${fields} }`,
  });
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ version: 1, tables: tables as TableSpec[] }));
  return path;
}
const v1 = manifest("v1", "int64 id = 1; string title = 2; string body = 3;");
const v2 = manifest("v2", "int64 id = 1; string title = 2;");

async function orbit(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [ORBIT, "migrate", ...args], {
      env: { ...process.env, ORBIT_SERVICES: "", ORBIT_MYSQL: "", ORBIT_DATA_DIR: "" },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("orbit migrate", () => {
  it("applies, refuses a drop with exit 3, drops with --allow-destructive (SQLite)", async () => {
    const data = join(dir, "sqlite");
    const dry = await orbit("--manifest", v1, "--data-dir", data, "--dry-run", "--sql");
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/1\. \+ create table notes/);
    expect(dry.stdout).toMatch(/CREATE TABLE "notes"/);
    expect(dry.stdout).toMatch(/dry run: nothing was changed/);

    const first = await orbit("--manifest", v1, "--data-dir", data);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/migrate: \[1\/1\] create table notes — done/);

    const refused = await orbit("--manifest", v2, "--data-dir", data);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(
      /table notes: drop column notes\.body \(TEXT\): every value of body would be lost \(notes has 0 rows\)/,
    );
    expect(refused.stderr).toMatch(/--allow-destructive/);

    const allowed = await orbit("--manifest", v2, "--data-dir", data, "--allow-destructive", "--json");
    expect(allowed.code).toBe(0);
    const [report] = JSON.parse(allowed.stdout) as { applied: { id: string }[] }[];
    expect(report!.applied.map((s) => s.id)).toEqual(["drop_column:notes.body"]);
  });

  it("refuses with exit 3 on MariaDB too", async () => {
    const store = await mysqlStore();
    try {
      expect((await orbit("--manifest", v1, "--mysql", store.url)).code).toBe(0);
      const refused = await orbit("--manifest", v2, "--mysql", store.url);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toMatch(/drop column notes\.body \(text\)/);
    } finally {
      await store.dispose();
    }
  });

  it("migrates --services from the registry; refuses a newer schema with exit 3 unless --allow-newer-schema", async () => {
    const data = join(dir, "services");
    const first = await orbit("--services", "user", "--data-dir", data);
    expect(first.code, first.stderr).toBe(0);
    const db = openSqlStore(`sqlite:${join(data, "orbit.db")}`);
    try {
      const tables = (await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")).map(
        (r) => r.name,
      );
      expect(tables).toEqual(expect.arrayContaining(["users", "user_sessions", "orbit_migrations"]));
      const again = await orbit("--services", "user", "--data-dir", data);
      expect(again.code, again.stderr).toBe(0);
      const history = await db.all<{ n: unknown }>("SELECT COUNT(*) AS n FROM orbit_migrations");

      // A newer binary added a column to users and recorded its schema.
      await db.exec("ALTER TABLE users ADD COLUMN pronouns TEXT");
      await db.run(
        "INSERT INTO orbit_migrations (kind, subject, step, summary, statements, checksum, status, detail, process, started_at_ms, finished_at_ms) " +
          "VALUES ('state', 'users', 'state', 'schema of users', '', 'fingerprint-of-a-newer-binary', 'applied', 'orbit/user/v1/tables.proto', 'newer-binary', ?, ?)",
        [Date.now(), Date.now()],
      );
      const refused = await orbit("--services", "user", "--data-dir", data);
      expect(refused.code, refused.stderr).toBe(3);
      expect(refused.stderr).toMatch(/table users was migrated to a newer schema .* by newer-binary/);
      expect(refused.stderr).toContain("--allow-newer-schema");

      // From the command line: start anyway, leaving the newer table as it is.
      const allowed = await orbit("--services", "user", "--data-dir", data, "--allow-newer-schema");
      expect(allowed.code, allowed.stderr).toBe(0);
      const columns = (await db.all<{ name: string }>("SELECT name FROM pragma_table_info('users')")).map(
        (r) => r.name,
      );
      expect(columns).toContain("pronouns");
      expect(Number((await db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM orbit_migrations"))!.n)).toBe(
        Number(history[0]!.n) + 1,
      );
    } finally {
      await db.close();
    }
  }, 180_000);

  it("rejects bad usage with exit 2", async () => {
    const unknown = await orbit("--services", "no-such-service", "--data-dir", join(dir, "x"));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown service "no-such-service"/);
    const missing = await orbit("--manifest", join(dir, "missing.json"), "--data-dir", join(dir, "x"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read the manifest/);
  });
});

describe.skipIf(CASSANDRA_SKIP !== undefined)("orbit migrate --cassandra on the live node", () => {
  it("plans without creating anything, creates the keyspace with the URL's rf and the wide tables, then has nothing to do", async () => {
    const store = await mysqlStore();
    const ks = await liveKeyspace("orbit_cli", { create: false });
    try {
      const args = ["--services", "feed", "--mysql", store.url, "--cassandra", ks.url];
      const dry = await orbit(...args, "--dry-run");
      expect(dry.code).toBe(0);
      expect(dry.stdout).toMatch(new RegExp(`\\+ create table ${ks.name}\\.home_feed`));
      expect(dry.stdout).toMatch(/dry run: nothing was changed/);
      const admin = await CassandraClient.open(ks.config, { noKeyspace: true });
      try {
        const keyspace = () =>
          admin.execute("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?", [ks.name]);
        expect((await keyspace()).rows).toEqual([]);

        const first = await orbit(...args);
        expect(first.code, first.stderr).toBe(0);
        expect(first.stdout).toMatch(new RegExp(`create table ${ks.name}\\.home_feed — done`));
        expect((await keyspace()).rows[0]?.get("replication")).toMatchObject({ datacenter1: "1" });

        const again = await orbit(...args, "--json");
        expect(again.code).toBe(0);
        const reports = JSON.parse(again.stdout) as { dialect: string; upToDate: boolean }[];
        expect(reports.map((r) => [r.dialect, r.upToDate])).toEqual([
          ["mysql", true],
          ["cassandra", true],
        ]);
      } finally {
        await admin.close();
      }
    } finally {
      await ks.dispose();
      await store.dispose();
    }
  }, 120_000);
});
