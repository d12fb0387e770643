/**
 * SQLite DDL for a list of changes. SQLite alters in place only to add,
 * rename or drop a column; any other change to a table (a type, NOT NULL or
 * default change, a new primary key) rewrites it with the 12-step procedure
 * (https://sqlite.org/lang_altertable.html#otheralter): create the new
 * shape, copy the rows, drop the old table, rename the new one, re-create
 * the indexes — inside the migration's transaction, so it is all or nothing.
 */
import type { Change, Loss, TableDiff } from "./diff.js";
import { describeChange, lossOf } from "./diff.js";
import type { DesiredColumn, DesiredTable, IndexShape } from "./model.js";
import { renderLiteral } from "../storage/sql/sql-literal.js";
import { makeStep, type Step } from "./step.js";

const q = (name: string) => `"${name}"`;

export function sqliteColumnDef(c: DesiredColumn): string {
  let def = `${q(c.name)} ${c.type}`;
  if (!c.nullable) def += " NOT NULL";
  if (c.default.kind !== "null") def += ` DEFAULT ${renderLiteral(c.default, "sqlite")}`;
  return def;
}

export function sqliteCreateTable(t: DesiredTable, name = t.name): string {
  const defs = t.columns.map(sqliteColumnDef);
  defs.push(`PRIMARY KEY (${t.primaryKey.map(q).join(", ")})`);
  return `CREATE TABLE ${q(name)} (${defs.join(", ")})${t.withoutRowid ? " WITHOUT ROWID" : ""}`;
}

export function sqliteCreateIndex(table: string, i: IndexShape): string {
  return `CREATE ${i.unique ? "UNIQUE " : ""}INDEX ${q(i.name)} ON ${q(table)} (${i.columns.map(q).join(", ")})`;
}

function describe(c: Change): string {
  return describeChange(c, {
    desired: (col) => sqliteColumnDef(col).replace(/"/g, ""),
    live: (col) => `${col.name} ${col.type}${col.nullable ? "" : " NOT NULL"}`,
  });
}

function needsRebuild(c: Change, diff: TableDiff): boolean {
  if (c.op === "alter_column" || c.op === "replace_primary_key") return true;
  if (c.op === "add_column") return !c.column.nullable && c.column.default.kind === "null";
  if (c.op === "drop_column") return (diff.live?.primaryKey ?? []).includes(c.column.name);
  return false;
}

function rebuild(diff: TableDiff): Step {
  const d = diff.desired!;
  const live = diff.live!;
  const tmp = `_orbit_new_${d.name}`;
  const renamedTo = new Map<string, string>();
  for (const c of diff.changes) if (c.op === "rename_column") renamedTo.set(c.to, c.from);
  const liveCols = new Map(live.columns.map((c) => [c.name, c]));
  const into: string[] = [];
  const from: string[] = [];
  for (const col of d.columns) {
    const srcName = liveCols.has(col.name) ? col.name : renamedTo.get(col.name);
    const src = srcName !== undefined ? liveCols.get(srcName) : undefined;
    if (!src) continue;
    into.push(q(col.name));
    from.push(
      !col.nullable && src.nullable && col.default.kind !== "null"
        ? `COALESCE(${q(src.name)}, ${renderLiteral(col.default, "sqlite")})`
        : q(src.name),
    );
  }
  const statements = [
    { sql: sqliteCreateTable(d, tmp) },
    { sql: `INSERT INTO ${q(tmp)} (${into.join(", ")}) SELECT ${from.join(", ")} FROM ${q(d.name)}` },
    { sql: `DROP TABLE ${q(d.name)}` },
    { sql: `ALTER TABLE ${q(tmp)} RENAME TO ${q(d.name)}` },
    ...d.indexes.map((i) => ({ sql: sqliteCreateIndex(d.name, i) })),
  ];
  const losses = diff.changes.map(lossOf).filter((l): l is Loss => l !== undefined);
  return makeStep({
    id: `rebuild_table:${d.name}`,
    op: "rebuild_table",
    table: d.name,
    summary: `rebuild table ${d.name}: ${diff.changes.map(describe).join("; ")}`,
    statements,
    losses,
    locking: `rewrites ${d.name} (inside the migration's write transaction)`,
  });
}

function stepOf(c: Change): Step {
  const base = { table: c.table, summary: describe(c), losses: lossOf(c) ? [lossOf(c)!] : [] };
  switch (c.op) {
    case "create_table":
      return makeStep({
        ...base,
        id: `create_table:${c.table}`,
        op: c.op,
        statements: [
          { sql: sqliteCreateTable(c.desired) },
          ...c.desired.indexes.map((i) => ({ sql: sqliteCreateIndex(c.table, i) })),
        ],
        locking: "new table",
      });
    case "drop_table":
      return makeStep({
        ...base,
        id: `drop_table:${c.table}`,
        op: c.op,
        statements: [{ sql: `DROP TABLE ${q(c.table)}` }],
        locking: "drops the table",
      });
    case "rename_column":
      return makeStep({
        ...base,
        id: `rename_column:${c.table}.${c.from}->${c.to}`,
        op: c.op,
        statements: [{ sql: `ALTER TABLE ${q(c.table)} RENAME COLUMN ${q(c.from)} TO ${q(c.to)}` }],
        locking: "schema only",
      });
    case "add_column":
      return makeStep({
        ...base,
        id: `add_column:${c.table}.${c.column.name}`,
        op: c.op,
        statements: [{ sql: `ALTER TABLE ${q(c.table)} ADD COLUMN ${sqliteColumnDef(c.column)}` }],
        locking: "schema only",
      });
    case "drop_column":
      return makeStep({
        ...base,
        id: `drop_column:${c.table}.${c.column.name}`,
        op: c.op,
        statements: [{ sql: `ALTER TABLE ${q(c.table)} DROP COLUMN ${q(c.column.name)}` }],
        locking: `rewrites ${c.table}`,
      });
    case "add_index":
      return makeStep({
        ...base,
        id: `add_index:${c.table}.${c.index.name}`,
        op: c.op,
        statements: [{ sql: sqliteCreateIndex(c.table, c.index) }],
        locking: "builds the index",
      });
    case "drop_index":
      return makeStep({
        ...base,
        id: `drop_index:${c.table}.${c.index.name}`,
        op: c.op,
        statements: [{ sql: `DROP INDEX ${q(c.index.name)}` }],
        locking: "schema only",
      });
    case "retype_column":
      // Nothing to rewrite: the new declared type is recorded with the table's state.
      return makeStep({
        ...base,
        id: `retype_column:${c.table}.${c.column.name}`,
        op: c.op,
        statements: [],
        locking: "nothing to rewrite (same SQLite type); the new declared type is recorded in the history",
      });
    case "alter_column":
    case "replace_primary_key":
      throw new Error(`internal: ${c.op} on SQLite needs a table rebuild`);
  }
}

/** SQLite steps for the diffs: creates first, drops of tables last. */
export function planSqlite(diffs: readonly TableDiff[]): Step[] {
  const creates: Step[] = [];
  const middle: Step[] = [];
  const dropsOfTables: Step[] = [];
  for (const diff of diffs) {
    if (diff.changes.length === 0) continue;
    if (!diff.live) {
      creates.push(...diff.changes.map(stepOf));
      continue;
    }
    if (!diff.desired) {
      dropsOfTables.push(...diff.changes.map(stepOf));
      continue;
    }
    if (diff.changes.some((c) => needsRebuild(c, diff))) middle.push(rebuild(diff));
    else middle.push(...diff.changes.map(stepOf));
  }
  return [...creates, ...middle, ...dropsOfTables];
}
