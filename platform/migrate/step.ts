/**
 * A step of a migration plan: one change (or, on SQLite, one table rebuild)
 * with the statements that make it, what it would lose, and how it affects
 * the table while it runs. Steps are recorded in the history by id and
 * checksum.
 */
import { createHash } from "node:crypto";
import type { Change, Loss } from "./diff.js";

export type StepOp = Change["op"] | "rebuild_table";

export interface Statement {
  readonly sql: string;
  /**
   * MySQL ALTER TABLE only: algorithm clauses to try in order, e.g.
   * ["ALGORITHM=INSTANT", "ALGORITHM=INPLACE, LOCK=NONE", ""]; the first the
   * server accepts is used ("" lets the server choose, which may copy).
   */
  readonly algorithms?: readonly string[];
}

export interface Step {
  /** Stable id, e.g. "add_column:posts.body", "rename_column:users.name->display_name". */
  readonly id: string;
  readonly op: StepOp;
  readonly table: string;
  /** One line for people: "add column posts.body TEXT NOT NULL DEFAULT ''". */
  readonly summary: string;
  readonly statements: readonly Statement[];
  /** Empty for a safe step. */
  readonly losses: readonly Loss[];
  /** What the table goes through while the step runs, as predicted. */
  readonly locking: string;
  /** sha256 of the id and statements. */
  readonly checksum: string;
}

export function makeStep(s: Omit<Step, "checksum">): Step {
  const h = createHash("sha256").update(s.id);
  for (const st of s.statements) h.update("\n").update(st.sql);
  return { ...s, checksum: h.digest("hex") };
}

/** The statement as it runs with an algorithm clause (MySQL). */
export function withAlgorithm(sql: string, algorithm: string): string {
  return algorithm ? `${sql}, ${algorithm}` : sql;
}
