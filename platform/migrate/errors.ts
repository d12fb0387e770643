/**
 * The errors the migrator raises. Each names what was refused and why, so an
 * operator reading a failed boot knows what to do next.
 */

/** One destructive change as shown to the operator. */
export interface DestructiveChange {
  readonly table: string;
  readonly column?: string;
  /** What the step does, e.g. "drop column posts.body (TEXT)". */
  readonly summary: string;
  /** What would be lost, e.g. "the values of body in 3 rows". */
  readonly loses: string;
}

/** The plan holds destructive steps and the caller did not allow them. */
export class DestructiveChangeError extends Error {
  override readonly name = "DestructiveChangeError";
  constructor(
    readonly store: string,
    readonly changes: readonly DestructiveChange[],
  ) {
    super(
      `refusing to apply ${changes.length} destructive change${changes.length === 1 ? "" : "s"} to ${store} ` +
        `(nothing was changed; pass --allow-destructive, or allowDestructive: true, to apply ${changes.length === 1 ? "it" : "them"}):\n` +
        changes.map((c) => `  - table ${c.table}: ${c.summary}: ${c.loses}`).join("\n"),
    );
  }
}

/** A table whose live schema was migrated past what this binary knows. */
export interface NewerTable {
  readonly table: string;
  /** When the newer schema was recorded, and by which process. */
  readonly recordedAtMs: number;
  readonly process: string;
  /** What this binary would change to match its own (older) manifest. */
  readonly wouldChange: readonly string[];
}

/**
 * The database was migrated by a newer binary (its history holds this
 * binary's schema as a superseded state, or data migrations this binary does
 * not have).
 */
export class NewerSchemaError extends Error {
  override readonly name = "NewerSchemaError";
  constructor(
    readonly store: string,
    readonly tables: readonly NewerTable[],
    readonly unknownDataMigrations: readonly string[],
  ) {
    const lines = tables.map(
      (t) =>
        `  - table ${t.table} was migrated to a newer schema at ${new Date(t.recordedAtMs).toISOString()} by ${t.process}; ` +
        `this binary would:\n${t.wouldChange.map((w) => `      ${w}`).join("\n")}`,
    );
    if (unknownDataMigrations.length > 0) {
      lines.push(`  - data migrations applied by a newer binary: ${unknownDataMigrations.join(", ")}`);
    }
    super(
      `the schema of ${store} is newer than this binary (nothing was changed):\n${lines.join("\n")}\n` +
        "Upgrade this binary, or pass --allow-newer-schema (allowNewerSchema: true) to start without migrating those tables. " +
        "If you reverted a schema change on purpose, pass --allow-newer-schema --allow-destructive to roll the tables back.",
    );
  }
}

export { InvalidManifestError } from "../storage/schema.js";

/** A change the engine cannot make at all (e.g. a Cassandra column type change). */
export class UnsupportedChangeError extends Error {
  override readonly name = "UnsupportedChangeError";
}

/** The migration lock was not obtained in time. */
export class MigrationLockTimeoutError extends Error {
  override readonly name = "MigrationLockTimeoutError";
}

/** A step failed while being applied; earlier steps stay applied and recorded. */
export class MigrationStepError extends Error {
  override readonly name = "MigrationStepError";
  constructor(
    readonly stepId: string,
    readonly statement: string,
    cause: unknown,
  ) {
    super(`migration step ${stepId} failed: ${(cause as Error)?.message ?? String(cause)}\n  statement: ${statement}`, {
      cause,
    });
  }
}
