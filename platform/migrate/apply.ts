/**
 * Runs the statements of one step. On MySQL an ALTER tries its algorithm
 * ladder: if the server refuses ALGORITHM=INSTANT (or LOCK=NONE) for this
 * change, the next clause is tried, and the one that ran is reported.
 */
import type { SqlExecutor } from "../storage/driver.js";
import { MigrationStepError } from "./errors.js";
import { withAlgorithm, type Step } from "./step.js";

/** True if the server refused only the ALGORITHM/LOCK clause, not the change. */
export function isAlgorithmRefusal(err: unknown): boolean {
  const e = err as { errno?: unknown; code?: unknown; message?: unknown } | null;
  if (e?.errno === 1845 || e?.errno === 1846) return true;
  if (e?.code === "ER_ALTER_OPERATION_NOT_SUPPORTED" || e?.code === "ER_ALTER_OPERATION_NOT_SUPPORTED_REASON")
    return true;
  return typeof e?.message === "string" && /(ALGORITHM|LOCK)=\w+ is not supported/i.test(e.message);
}

/** Runs `step`; returns the algorithm clause used by each ALTER (MySQL). */
export async function runStep(exec: SqlExecutor, step: Step): Promise<string[]> {
  const used: string[] = [];
  for (const st of step.statements) {
    const ladder = st.algorithms ?? [""];
    for (let k = 0; k < ladder.length; k++) {
      const sql = withAlgorithm(st.sql, ladder[k]!);
      try {
        await exec.exec(sql);
        if (st.algorithms) used.push(ladder[k] || "ALGORITHM=COPY (the server's choice)");
        break;
      } catch (err) {
        if (k < ladder.length - 1 && isAlgorithmRefusal(err)) continue;
        throw new MigrationStepError(step.id, sql, err);
      }
    }
  }
  return used;
}
