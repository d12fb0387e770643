/**
 * Hand-written data migrations: ordered files in the top-level migrations/data/ named
 * `NNNN_name.ts`, each exporting `up(db)` (and optionally `tables`, the
 * tables it needs). Each runs once, after the schema steps, in a transaction
 * together with its history row, so it is recorded exactly when it commits.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { SqlExecutor } from "../storage/driver.js";
import { InvalidManifestError } from "./errors.js";

export interface DataMigrationModule {
  /** Changes data through `db` (a transaction). */
  up(db: SqlExecutor): Promise<void> | void;
  /**
   * Tables the migration reads or writes. It runs in a migrate call whose
   * tables include all of them, and waits for one otherwise (a bundle that
   * runs only some services). Omitted: it runs in any migrate call.
   */
  readonly tables?: readonly string[];
  readonly description?: string;
}

export interface DataMigration {
  /** File name without extension, e.g. "0001_backfill_handles". */
  readonly id: string;
  /** sha256 of the file (or of `up` for inline migrations). */
  readonly checksum: string;
  /** Imports the module (done only when the migration is about to run). */
  load(): Promise<DataMigrationModule>;
}

/**
 * Where the project's data migrations live: the top-level `migrations/data/`
 * (hand-written, beside the code they migrate; the engine itself is here in
 * platform/migrate/ and imports nothing from there).
 */
export const DEFAULT_DATA_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "migrations", "data");

const FILE = /^(\d+)_([A-Za-z0-9_-]+)\.(ts|mts|js|mjs)$/;

/** The data migrations in `dir`, ordered by their number. A missing dir has none. */
export function dataMigrationsIn(dir: string): DataMigration[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return [];
    throw err;
  }
  const found = names
    .filter((n) => FILE.test(n) && !/\.(test|spec|d)\.[a-z]+$/.test(n))
    .map((n) => {
      const m = FILE.exec(n)!;
      return { n, num: Number(m[1]), id: n.slice(0, n.length - m[3]!.length - 1) };
    })
    .sort((a, b) => a.num - b.num || a.id.localeCompare(b.id));
  for (let i = 1; i < found.length; i++) {
    if (found[i]!.num === found[i - 1]!.num) {
      throw new InvalidManifestError(
        `data migrations ${found[i - 1]!.n} and ${found[i]!.n} in ${dir} share the number ${found[i]!.num}`,
      );
    }
  }
  return found.map(({ n, id }) => {
    const path = resolve(dir, n);
    return {
      id,
      checksum: createHash("sha256").update(readFileSync(path)).digest("hex"),
      async load() {
        const mod = (await import(pathToFileURL(path).href)) as Partial<DataMigrationModule>;
        if (typeof mod.up !== "function")
          throw new InvalidManifestError(`data migration ${path} does not export up(db)`);
        return mod as DataMigrationModule;
      },
    };
  });
}

/** A data migration given in code (tests, or a service that ships its own). */
export function dataMigration(id: string, mod: DataMigrationModule): DataMigration {
  if (!/^\d+_[A-Za-z0-9_-]+$/.test(id))
    throw new InvalidManifestError(`data migration id "${id}" must look like 0001_name`);
  return {
    id,
    checksum: createHash("sha256").update(mod.up.toString()).digest("hex"),
    load: async () => mod,
  };
}
