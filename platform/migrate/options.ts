/**
 * What a caller can ask of the migrator, and what it reports back.
 */
import type { Dialect } from "../storage/driver.js";
import type { DataMigration } from "./data-migrations.js";
import type {
  DestructiveChange,
  DestructiveChangeError,
  NewerSchemaError,
  NewerTable,
  UnsupportedChangeError,
} from "./errors.js";
import type { Step } from "./step.js";

export interface MigrateOptions {
  /** Apply destructive steps (drops, narrowing, key changes). Default false: refuse them. */
  readonly allowDestructive?: boolean;
  /** Plan and report only; change nothing and take no lock. */
  readonly dryRun?: boolean;
  /** Progress lines (the plan, each step, lock waits). */
  readonly log?: (line: string) => void;
  /**
   * Start even though the database was migrated by a newer binary: tables
   * whose schema moved past this binary's are left as they are. With
   * allowDestructive too, they are rolled back to this binary's schema.
   */
  readonly allowNewerSchema?: boolean;
  /** Recorded in the history with each step. Default "<hostname>:<pid>". */
  readonly processId?: string;
  /** Where wide tables live: on the SQL store (default) or on Cassandra (see migrateCassandra). */
  readonly wide?: "sql" | "cassandra";
  /**
   * Data migrations: a directory of NNNN_name.ts files, or a list. Default:
   * migrations/data/.
   */
  readonly dataMigrations?: string | readonly DataMigration[];
  /** How long to wait for another process's migration lock. Default 10 minutes. */
  readonly lockTimeoutMs?: number;
  /**
   * Called around each step: "started" (history row written, DDL not yet
   * run), "executed" (DDL done, not yet recorded), "recorded". For progress
   * displays, and for tests that stop a run half way.
   */
  readonly onProgress?: (event: ProgressEvent) => void | Promise<void>;
  /**
   * Called once with the plan that is about to be applied (made under the
   * lock), or with the plan of a dry run or an up-to-date store; also when
   * the plan is refused, before the error is thrown.
   */
  readonly onPlan?: (plan: MigrationPlan) => void;
}

export interface ProgressEvent {
  readonly phase: "started" | "executed" | "recorded";
  readonly step: PlannedStep;
  readonly index: number;
  readonly total: number;
}

/** A step as reported. */
export interface PlannedStep {
  readonly id: string;
  readonly op: Step["op"];
  readonly table: string;
  readonly summary: string;
  readonly sql: readonly string[];
  readonly destructive: boolean;
  readonly locking: string;
  readonly checksum: string;
}

export interface AppliedStep extends PlannedStep {
  /** MySQL: the algorithm clause the server accepted for each ALTER. */
  readonly algorithms: readonly string[];
  readonly durationMs: number;
}

export interface MigrationPlan {
  readonly store: string;
  readonly dialect: Dialect | "cassandra";
  readonly steps: readonly PlannedStep[];
  /** What the destructive steps would lose. */
  readonly destructive: readonly DestructiveChange[];
  /** Tables migrated past this binary (see allowNewerSchema). */
  readonly newerTables: readonly NewerTable[];
  /** Data migrations that will run in this call. */
  readonly pendingData: readonly string[];
  /** Data migrations waiting for a call that covers their tables. */
  readonly postponedData: readonly string[];
  /** Steps a crashed run left unfinished (settled by the next run). */
  readonly interrupted: readonly string[];
  /** Tables whose current schema is not yet recorded in the history. */
  readonly unrecorded: readonly string[];
  /** Why applying this plan would be refused, if it would. */
  readonly blocked?: DestructiveChangeError | NewerSchemaError | UnsupportedChangeError;
  /** Nothing to do at all. */
  readonly upToDate: boolean;
  readonly warnings: readonly string[];
}

export interface MigrationReport {
  readonly store: string;
  readonly dialect: Dialect | "cassandra";
  readonly dryRun: boolean;
  /** The plan as made under the lock (or, when up to date or dry, without it). */
  readonly plan: MigrationPlan;
  readonly applied: readonly AppliedStep[];
  /** Interrupted steps found and settled: "<step> (applied|failed)". */
  readonly recovered: readonly string[];
  readonly dataApplied: readonly string[];
  /** Tables left as they are because their schema is newer (allowNewerSchema). */
  readonly skippedNewer: readonly string[];
  readonly lockWaitMs: number;
  readonly durationMs: number;
}
