/**
 * Plain-text rendering of plans and reports, for logs and the CLI.
 */
import type { MigrationPlan } from "./options.js";

const MARK: Record<string, string> = {
  create_table: "+",
  add_column: "+",
  add_index: "+",
  rename_column: "~",
  alter_column: "~",
  retype_column: "~",
  replace_primary_key: "~",
  rebuild_table: "~",
  drop_index: "-",
  drop_column: "-",
  drop_table: "-",
};

/** The plan, one line a step, with what locks and what is destructive. */
export function formatPlan(plan: MigrationPlan, opts: { sql?: boolean } = {}): string {
  const lines: string[] = [];
  if (plan.upToDate) return `${plan.store}: schema is up to date, nothing to do`;
  const n = plan.steps.length;
  lines.push(`${plan.store}: ${n} step${n === 1 ? "" : "s"}`);
  for (const [i, s] of plan.steps.entries()) {
    lines.push(
      `  ${String(i + 1).padStart(2)}. ${MARK[s.op] ?? "*"} ${s.summary}${s.destructive ? "   [DESTRUCTIVE]" : ""}`,
    );
    lines.push(`        ${s.locking}`);
    if (opts.sql) for (const q of s.sql) lines.push(`        ${q.replace(/\n\s*/g, " ")};`);
  }
  const locking = plan.steps.filter((s) => s.locking.startsWith("LOCKS"));
  if (locking.length > 0) {
    lines.push(
      `  ${locking.length} step${locking.length === 1 ? "" : "s"} will block writes: ${locking.map((s) => s.table).join(", ")}`,
    );
  }
  if (plan.interrupted.length)
    lines.push(`  interrupted by an earlier crash (settled now): ${plan.interrupted.join(", ")}`);
  if (plan.pendingData.length) lines.push(`  data migrations to run: ${plan.pendingData.join(", ")}`);
  if (plan.postponedData.length)
    lines.push(`  data migrations waiting for their tables: ${plan.postponedData.join(", ")}`);
  if (plan.unrecorded.length && n === 0) lines.push(`  record the schema of: ${plan.unrecorded.join(", ")}`);
  for (const w of plan.warnings) lines.push(`  warning: ${w}`);
  if (plan.blocked) lines.push(`  REFUSED: ${plan.blocked.message.replace(/\n/g, "\n  ")}`);
  return lines.join("\n");
}
