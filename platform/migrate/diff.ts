/**
 * Compares the desired tables with the live ones and lists the changes per
 * table, each marked safe or destructive (with what it would lose). Types
 * and defaults are compared as normalised values, so an unchanged schema
 * yields no change at all. A column whose `renamedFrom` names a live column
 * is renamed, never dropped and re-added.
 */
import type { DesiredColumn, DesiredTable, IndexShape, LiveColumn, LiveTable } from "./model.js";
import { describeLiteral, sameLiteral } from "../storage/sql/sql-literal.js";
import { declaredNarrows, sqliteAffinity, sqliteMisfitCondition } from "../storage/sql/sql-types.js";
import type { TypeRules } from "./type-rules.js";

/** What a destructive change would cost, in words. */
export interface Loss {
  /** The column concerned, if the loss is about one column. */
  readonly column?: string;
  readonly summary: string;
  readonly loses: string;
  /** Append the table's row count to `loses` when reporting. */
  readonly countRows?: boolean;
  /**
   * A condition (in the store's SQL) true for the rows whose value would not
   * fit; how many rows match is appended to `loses` when reporting.
   */
  readonly misfit?: string;
}

export type Change =
  | { readonly op: "create_table"; readonly table: string; readonly desired: DesiredTable }
  | {
      readonly op: "rename_column";
      readonly table: string;
      readonly from: string;
      readonly to: string;
      readonly live: LiveColumn;
    }
  | { readonly op: "add_column"; readonly table: string; readonly column: DesiredColumn }
  | {
      readonly op: "alter_column";
      readonly table: string;
      readonly column: DesiredColumn;
      readonly live: LiveColumn;
      readonly type?: "widen" | "change";
      readonly nullability?: "relax" | "tighten";
      readonly defaultChanged: boolean;
      readonly loss?: Loss;
    }
  | { readonly op: "drop_column"; readonly table: string; readonly column: LiveColumn; readonly loss: Loss }
  /**
   * SQLite only: the declared type narrows (int64 → int32, varchar(80) →
   * varchar(4), …) while the affinity stays the same, so the live table
   * cannot show it; found by comparing with the declared type the history
   * recorded. Nothing is rewritten: SQLite keeps every value as it is.
   */
  | {
      readonly op: "retype_column";
      readonly table: string;
      readonly column: DesiredColumn;
      /** The declared type recorded when the table was last migrated. */
      readonly from: string;
      readonly loss: Loss;
    }
  | { readonly op: "drop_index"; readonly table: string; readonly index: IndexShape }
  | { readonly op: "add_index"; readonly table: string; readonly index: IndexShape }
  | {
      readonly op: "replace_primary_key";
      readonly table: string;
      readonly from: readonly string[];
      readonly to: readonly string[];
      readonly loss: Loss;
    }
  | { readonly op: "drop_table"; readonly table: string; readonly live: LiveTable; readonly loss: Loss };

export interface TableDiff {
  readonly table: string;
  readonly desired?: DesiredTable;
  readonly live?: LiveTable;
  readonly changes: readonly Change[];
}

/** The loss of a change, if it is destructive. */
/** How a dialect writes a column in a change's one-line summary. */
export interface ColumnText {
  /** The desired column: "name type [NOT NULL] …". */
  desired(column: DesiredColumn): string;
  /** The live column an alter_column replaces. */
  live(column: LiveColumn): string;
}

/** One line saying what a change does ("add column posts.title varchar(200)"), for plans and progress. */
export function describeChange(c: Change, text: ColumnText): string {
  switch (c.op) {
    case "create_table":
      return `create table ${c.table}`;
    case "drop_table":
      return `drop table ${c.table}`;
    case "rename_column":
      return `rename column ${c.table}.${c.from} to ${c.to}`;
    case "add_column":
      return `add column ${c.table}.${text.desired(c.column)}`;
    case "drop_column":
      return `drop column ${c.table}.${c.column.name}`;
    case "alter_column":
      return `change column ${c.table}.${text.desired(c.column)} (was ${text.live(c.live)})`;
    case "retype_column":
      return `change the declared type of ${c.table}.${c.column.name} from ${c.from} to ${c.column.declared}`;
    case "add_index":
      return `add ${c.index.unique ? "unique " : ""}index ${c.index.name} on ${c.table} (${c.index.columns.join(", ")})`;
    case "drop_index":
      return `drop index ${c.index.name} on ${c.table}`;
    case "replace_primary_key":
      return `change the primary key of ${c.table} to (${c.to.join(", ")})`;
  }
}

export function lossOf(c: Change): Loss | undefined {
  return "loss" in c ? c.loss : undefined;
}

const list = (cols: readonly string[]) => `(${cols.join(", ")})`;

function sameIndex(a: IndexShape, b: IndexShape): boolean {
  return (
    a.unique === b.unique && a.columns.length === b.columns.length && a.columns.every((c, i) => c === b.columns[i])
  );
}

/**
 * Changes that turn `live` into `desired` (both for the same table).
 * `previous` holds the declared type of each column (by its live name) as
 * recorded when the table was last migrated, if the history has it.
 */
export function diffTable(
  desired: DesiredTable,
  live: LiveTable,
  rules: TypeRules,
  previous?: ReadonlyMap<string, string>,
): Change[] {
  const t = desired.name;
  const liveByName = new Map(live.columns.map((c) => [c.name, c]));
  const renames: Change[] = [];
  const adds: Change[] = [];
  const alters: Change[] = [];
  const drops: Change[] = [];
  /** Live column name → the desired name it ends up with. */
  const newName = new Map<string, string>();
  const claimed = new Set<string>();

  for (const col of desired.columns) {
    let current = liveByName.get(col.name);
    if (current) {
      claimed.add(col.name);
      newName.set(col.name, col.name);
    } else {
      const old = col.renamedFrom.find((n) => liveByName.has(n) && !claimed.has(n));
      if (old !== undefined) {
        current = liveByName.get(old)!;
        claimed.add(old);
        newName.set(old, col.name);
        renames.push({ op: "rename_column", table: t, from: old, to: col.name, live: current });
      } else {
        adds.push({ op: "add_column", table: t, column: col });
        continue;
      }
    }
    const alter = compareColumn(t, col, current, rules);
    if (alter) alters.push(alter);
    // SQLite: one affinity holds int32 and int64, varchar(4) and varchar(80),
    // so the live table cannot show a narrowing; the recorded declared type can.
    const before = rules.dialect === "sqlite" ? previous?.get(current.name) : undefined;
    if (
      before !== undefined &&
      (alter === undefined || alter.op !== "alter_column" || alter.type === undefined) &&
      declaredNarrows(before, col.declared)
    ) {
      const affinity = sqliteAffinity(col.type);
      alters.push({
        op: "retype_column",
        table: t,
        column: col,
        from: before,
        loss: {
          column: col.name,
          summary: `change the type of ${t}.${col.name} from ${before} to ${col.declared} (declared; SQLite stores both as ${affinity})`,
          loses:
            `nothing is rewritten: SQLite keeps every value, also those that do not fit ${col.declared} ` +
            "(which the new declaration, and MySQL, would not accept)",
          misfit: sqliteMisfitCondition(current.name, col.declared),
        },
      });
    }
  }

  for (const c of live.columns) {
    if (claimed.has(c.name)) continue;
    drops.push({
      op: "drop_column",
      table: t,
      column: c,
      loss: {
        column: c.name,
        summary: `drop column ${t}.${c.name} (${c.type})`,
        loses: `every value of ${c.name} would be lost`,
        countRows: true,
      },
    });
  }

  const mapped = (cols: readonly string[]) => cols.map((c) => newName.get(c) ?? c);
  const livePk = mapped(live.primaryKey);
  const pkChanges: Change[] = [];
  if (livePk.length !== desired.primaryKey.length || livePk.some((c, i) => c !== desired.primaryKey[i])) {
    pkChanges.push({
      op: "replace_primary_key",
      table: t,
      from: livePk,
      to: desired.primaryKey,
      loss: {
        summary: `change the primary key of ${t} from ${list(livePk)} to ${list(desired.primaryKey)}`,
        loses:
          livePk.length === 0
            ? "the table is rewritten; it fails if rows share a key value"
            : "the table is rewritten, and the change fails if rows share a value of the new key",
        countRows: true,
      },
    });
  }

  const indexDrops: Change[] = [];
  const indexAdds: Change[] = [];
  const liveIdx = new Map(live.indexes.map((i) => [i.name, { ...i, columns: mapped(i.columns) }]));
  for (const want of desired.indexes) {
    const have = liveIdx.get(want.name);
    if (have && sameIndex(have, want)) continue;
    if (have) indexDrops.push({ op: "drop_index", table: t, index: have });
    indexAdds.push({ op: "add_index", table: t, index: want });
  }
  for (const have of liveIdx.values()) {
    if (!desired.indexes.some((i) => i.name === have.name))
      indexDrops.push({ op: "drop_index", table: t, index: have });
  }

  return [...renames, ...indexDrops, ...adds, ...alters, ...pkChanges, ...drops, ...indexAdds];
}

function compareColumn(t: string, col: DesiredColumn, live: LiveColumn, rules: TypeRules): Change | undefined {
  const typeSame = rules.canonical(col.type) === rules.canonical(live.type);
  const type = typeSame ? undefined : rules.widens(live.type, col.type) ? "widen" : "change";
  const nullability = col.nullable === live.nullable ? undefined : col.nullable ? "relax" : "tighten";
  const defaultChanged = !sameLiteral(col.default, live.default, rules.valueClass(col.type));
  if (!type && !nullability && !defaultChanged) return undefined;
  let loss: Loss | undefined;
  if (type === "change") {
    loss = {
      column: col.name,
      summary: `change the type of ${t}.${col.name} from ${live.type} to ${col.type}`,
      loses: `values that do not fit ${col.type} would be converted or truncated`,
      countRows: true,
    };
  } else if (nullability === "tighten") {
    loss = {
      column: col.name,
      summary: `make ${t}.${col.name} NOT NULL`,
      loses: `rows holding NULL in ${col.name} would get the default ${describeLiteral(col.default)} instead`,
    };
  }
  return { op: "alter_column", table: t, column: col, live, type, nullability, defaultChanged, loss };
}

/** Every change between the desired tables and the live schema. */
export function diffSchema(
  desired: readonly DesiredTable[],
  live: ReadonlyMap<string, LiveTable>,
  rules: TypeRules,
  dropTables: readonly { readonly name: string; readonly file: string }[] = [],
  previous: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map(),
): TableDiff[] {
  const out: TableDiff[] = [];
  for (const d of desired) {
    const l = live.get(d.name);
    if (!l) out.push({ table: d.name, desired: d, changes: [{ op: "create_table", table: d.name, desired: d }] });
    else out.push({ table: d.name, desired: d, live: l, changes: diffTable(d, l, rules, previous.get(d.name)) });
  }
  for (const { name, file } of dropTables) {
    const l = live.get(name);
    if (!l) continue;
    out.push({
      table: name,
      live: l,
      changes: [
        {
          op: "drop_table",
          table: name,
          live: l,
          loss: {
            summary: `drop table ${name} (made from ${file}, which no longer declares it)`,
            loses: "all of its rows would be lost",
            countRows: true,
          },
        },
      ],
    });
  }
  return out;
}
