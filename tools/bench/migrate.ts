/**
 * `npm run bench -- migrate [--runs N]`: how long a boot spends migrating
 * when there is nothing to do — every table of gen/manifest.json already in
 * place — on SQLite and MariaDB. Baseline: the raw introspection queries
 * alone (what any migrator must at least ask the database). Goal: under
 * 300 ms from start to "nothing to do".
 *
 * Figures per engine (medians of N runs):
 *   warm  — migrate() on an open store (the boot path after connecting)
 *   cold  — open the store, migrate(), close (a whole boot's migration step)
 *   raw   — the introspection queries only, on an open store
 */
import { readFileSync } from "node:fs";
import type { SqlDb } from "../../platform/storage/driver.js";
import { openSqlStore } from "../../platform/storage/open.js";
import type { Manifest } from "../../platform/storage/schema.js";
import { migrate } from "../../platform/migrate/index.js";
import { MYSQL_COLUMNS_SQL, MYSQL_INDEXES_SQL } from "../../platform/migrate/introspect-mysql.js";
import { SQLITE_COLUMNS_SQL, SQLITE_INDEXES_SQL } from "../../platform/migrate/introspect-sqlite.js";
import { mysqlStore, sqliteStore, type TestStore } from "../../test/support/stores.js";

const GOAL_MS = 300;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
function p95(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)]!;
}
const r2 = (x: number) => Math.round(x * 100) / 100;

async function time(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

async function rawIntrospection(db: SqlDb): Promise<void> {
  if (db.dialect === "mysql") {
    await db.all(MYSQL_COLUMNS_SQL);
    await db.all(MYSQL_INDEXES_SQL);
  } else {
    await db.all(SQLITE_COLUMNS_SQL);
    await db.all(SQLITE_INDEXES_SQL);
  }
}

interface EngineFigures {
  warm_ms: number;
  warm_p95_ms: number;
  cold_ms: number;
  raw_introspection_ms: number;
  ratio: number;
}

async function measure(name: string, store: TestStore, manifest: Manifest, runs: number): Promise<EngineFigures> {
  const opts = { dataMigrations: [] as const };
  const created = await migrate(store.db, manifest.tables, opts);
  process.stdout.write(`${name}: created ${created.applied.length} tables in ${created.durationMs.toFixed(0)} ms\n`);
  // Warm up caches and the JIT on all three paths.
  for (let i = 0; i < 3; i++) {
    await migrate(store.db, manifest.tables, opts);
    await rawIntrospection(store.db);
  }
  const warm = await time(runs, async () => {
    const r = await migrate(store.db, manifest.tables, opts);
    if (!r.plan.upToDate) throw new Error(`${name}: expected nothing to do, got ${r.plan.steps.length} steps`);
  });
  const raw = await time(runs, () => rawIntrospection(store.db));
  const cold = await time(Math.max(3, Math.floor(runs / 2)), async () => {
    const db = openSqlStore(store.url);
    try {
      const r = await migrate(db, manifest.tables, opts);
      if (!r.plan.upToDate) throw new Error(`${name}: expected nothing to do`);
    } finally {
      await db.close();
    }
  });
  const f: EngineFigures = {
    warm_ms: r2(median(warm)),
    warm_p95_ms: r2(p95(warm)),
    cold_ms: r2(median(cold)),
    raw_introspection_ms: r2(median(raw)),
    ratio: r2(median(warm) / median(raw)),
  };
  process.stdout.write(
    `${name}: nothing to do in ${f.warm_ms} ms (p95 ${f.warm_p95_ms}), ${f.cold_ms} ms with connect+close; ` +
      `raw introspection ${f.raw_introspection_ms} ms; ratio ${f.ratio}\n`,
  );
  return f;
}

export async function main(args: string[]): Promise<void> {
  const i = args.indexOf("--runs");
  const runs = i >= 0 ? Number(args[i + 1]) : 30;
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be a positive integer");
  const manifest = JSON.parse(readFileSync(new URL("../../gen/manifest.json", import.meta.url), "utf8")) as Manifest;
  process.stdout.write(`migrate bench: ${manifest.tables.length} tables from gen/manifest.json, ${runs} runs each\n`);
  const figures: Record<string, EngineFigures> = {};
  for (const [name, open] of [
    ["sqlite", async () => sqliteStore()],
    ["mariadb", mysqlStore],
  ] as const) {
    const store = await open();
    try {
      figures[name] = await measure(name, store, manifest, runs);
    } finally {
      await store.dispose();
    }
  }
  const worstCold = Math.max(...Object.values(figures).map((f) => f.cold_ms));
  process.stdout.write(
    `${JSON.stringify({
      scenario: "migrate",
      tables: manifest.tables.length,
      runs,
      goal_ms: GOAL_MS,
      under_goal: worstCold < GOAL_MS,
      ...figures,
      ratio: Math.max(...Object.values(figures).map((f) => f.ratio)),
    })}\n`,
  );
}
