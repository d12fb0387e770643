/**
 * MySQL/MariaDB DDL for a list of changes, one statement per step so each
 * step is atomic on its own (MySQL DDL is not transactional; a step either
 * happened or not, and the next run re-plans from what is there). ALTER
 * statements carry an algorithm ladder — INSTANT, then INPLACE with
 * LOCK=NONE, then the server's choice — and the plan says which steps are
 * expected to block writes.
 */
import type { Change, TableDiff } from "./diff.js";
import { describeChange, lossOf } from "./diff.js";
import type { DesiredColumn, DesiredTable, LiveColumn } from "./model.js";
import type { MysqlServer } from "./mysql-server.js";
import { NULL_LITERAL, renderLiteral, type Literal } from "../storage/sql/sql-literal.js";
import { parseMysqlType } from "../storage/sql/sql-types.js";
import { makeStep, type Step } from "./step.js";

const q = (name: string) => `\`${name}\``;

export const INSTANT = "ALGORITHM=INSTANT";
export const ONLINE = "ALGORITHM=INPLACE, LOCK=NONE";
const LADDER_INSTANT = [INSTANT, ONLINE, ""];
const LADDER_ONLINE = [ONLINE, ""];

/**
 * Table options of every table the migrator creates: binary comparisons,
 * without padding where the server can (MysqlServer.binaryCollation).
 * Tables keep the collation they were created with (collations are not
 * diffed).
 */
export function mysqlTableOptions(server: MysqlServer): string {
  return `ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=${server.binaryCollation}`;
}

function isLob(type: string): boolean {
  return /(text|blob)$/.test(parseMysqlType(type).base);
}

/**
 * The desired tables as this server can hold them: MySQL before 8.0.13 has
 * no defaults on TEXT/BLOB columns, so those defaults are dropped (inserts
 * name every column anyway).
 */
export function fitDesiredToServer(tables: readonly DesiredTable[], server: MysqlServer): DesiredTable[] {
  if (server.lobDefaults !== "none") return [...tables];
  return tables.map((t) => ({
    ...t,
    columns: t.columns.map((c) => (isLob(c.type) ? { ...c, default: NULL_LITERAL } : c)),
  }));
}

function defaultClause(type: string, lit: Literal, server: MysqlServer): string {
  if (lit.kind === "null") return "";
  const text = renderLiteral(lit, "mysql");
  if (isLob(type) && server.lobDefaults === "expression") return ` DEFAULT (${text})`;
  return ` DEFAULT ${text}`;
}

export function mysqlColumnDef(c: DesiredColumn, server: MysqlServer): string {
  return `${q(c.name)} ${c.type}${c.nullable ? " NULL" : " NOT NULL"}${defaultClause(c.type, c.default, server)}`;
}

function liveColumnDef(name: string, c: LiveColumn, server: MysqlServer): string {
  return `${q(name)} ${c.type}${c.nullable ? " NULL" : " NOT NULL"}${defaultClause(c.type, c.default, server)}`;
}

export function mysqlCreateTable(t: DesiredTable, server: MysqlServer): string {
  const defs = t.columns.map((c) => `  ${mysqlColumnDef(c, server)}`);
  defs.push(`  PRIMARY KEY (${t.primaryKey.map(q).join(", ")})`);
  for (const i of t.indexes)
    defs.push(`  ${i.unique ? "UNIQUE " : ""}KEY ${q(i.name)} (${i.columns.map(q).join(", ")})`);
  return `CREATE TABLE ${q(t.name)} (\n${defs.join(",\n")}\n) ${mysqlTableOptions(server)}`;
}

/** Bytes of the length prefix a VARCHAR/VARBINARY needs (utf8mb4: 4 bytes a character). */
function lengthBytes(t: ReturnType<typeof parseMysqlType>): number | undefined {
  if (t.base === "varchar") return (t.args[0] ?? 0) * 4 > 255 ? 2 : 1;
  if (t.base === "varbinary") return (t.args[0] ?? 0) > 255 ? 2 : 1;
  return undefined;
}

/** How a column change is expected to run. */
function alterLocking(c: Extract<Change, { op: "alter_column" }>): string {
  if (!c.type && !c.nullability) return "instant (metadata only)";
  if (c.type) {
    const a = parseMysqlType(c.live.type);
    const b = parseMysqlType(c.column.type);
    const la = lengthBytes(a);
    if (la !== undefined && la === lengthBytes(b) && a.base === b.base) return "instant (metadata only)";
    return `LOCKS ${c.table}: the table is copied and writes wait until it finishes`;
  }
  return `online: ${c.table} is rebuilt in place while reads and writes continue`;
}

function describe(c: Change, server: MysqlServer): string {
  return describeChange(c, {
    desired: (col) => mysqlColumnDef(col, server).replace(/`/g, ""),
    live: (col) => liveColumnDef(col.name, col, server).replace(/`/g, ""),
  });
}

function stepOf(c: Change, server: MysqlServer): Step {
  const base = { table: c.table, summary: describe(c, server), losses: lossOf(c) ? [lossOf(c)!] : [] };
  const alter = `ALTER TABLE ${q(c.table)}`;
  switch (c.op) {
    case "create_table":
      return makeStep({
        ...base,
        id: `create_table:${c.table}`,
        op: c.op,
        statements: [{ sql: mysqlCreateTable(c.desired, server) }],
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
        statements: [
          {
            sql: server.renameColumn
              ? `${alter} RENAME COLUMN ${q(c.from)} TO ${q(c.to)}`
              : `${alter} CHANGE COLUMN ${q(c.from)} ${liveColumnDef(c.to, c.live, server)}`,
            algorithms: LADDER_INSTANT,
          },
        ],
        locking: "instant (metadata only)",
      });
    case "add_column":
      return makeStep({
        ...base,
        id: `add_column:${c.table}.${c.column.name}`,
        op: c.op,
        statements: [{ sql: `${alter} ADD COLUMN ${mysqlColumnDef(c.column, server)}`, algorithms: LADDER_INSTANT }],
        locking: "instant (metadata only)",
      });
    case "drop_column":
      return makeStep({
        ...base,
        id: `drop_column:${c.table}.${c.column.name}`,
        op: c.op,
        statements: [{ sql: `${alter} DROP COLUMN ${q(c.column.name)}`, algorithms: LADDER_INSTANT }],
        locking: "instant (metadata only)",
      });
    case "alter_column": {
      const statements = [];
      if (!c.type && !c.nullability) {
        statements.push({
          sql:
            c.column.default.kind === "null"
              ? `${alter} ALTER COLUMN ${q(c.column.name)} DROP DEFAULT`
              : `${alter} ALTER COLUMN ${q(c.column.name)} SET${defaultClause(c.column.type, c.column.default, server)}`,
          algorithms: LADDER_INSTANT,
        });
      } else {
        if (c.nullability === "tighten" && c.column.default.kind !== "null") {
          // Re-runnable: a second run finds no NULL left.
          statements.push({
            sql: `UPDATE ${q(c.table)} SET ${q(c.column.name)} = ${renderLiteral(c.column.default, "mysql")} WHERE ${q(c.column.name)} IS NULL`,
          });
        }
        statements.push({
          sql: `${alter} MODIFY COLUMN ${mysqlColumnDef(c.column, server)}`,
          algorithms: LADDER_INSTANT,
        });
      }
      return makeStep({
        ...base,
        id: `alter_column:${c.table}.${c.column.name}`,
        op: c.op,
        statements,
        locking: alterLocking(c),
      });
    }
    case "add_index":
      return makeStep({
        ...base,
        id: `add_index:${c.table}.${c.index.name}`,
        op: c.op,
        statements: [
          {
            sql: `${alter} ADD ${c.index.unique ? "UNIQUE " : ""}INDEX ${q(c.index.name)} (${c.index.columns.map(q).join(", ")})`,
            algorithms: LADDER_ONLINE,
          },
        ],
        locking: "online: the index is built while reads and writes continue",
      });
    case "drop_index":
      return makeStep({
        ...base,
        id: `drop_index:${c.table}.${c.index.name}`,
        op: c.op,
        statements: [{ sql: `${alter} DROP INDEX ${q(c.index.name)}`, algorithms: LADDER_INSTANT }],
        locking: "instant (metadata only)",
      });
    case "retype_column":
      throw new Error("internal: retype_column is planned on SQLite only (MySQL compares the live types)");
    case "replace_primary_key":
      return makeStep({
        ...base,
        id: `replace_primary_key:${c.table}`,
        op: c.op,
        statements: [
          {
            sql: `${alter} ${c.from.length ? "DROP PRIMARY KEY, " : ""}ADD PRIMARY KEY (${c.to.map(q).join(", ")})`,
            algorithms: LADDER_ONLINE,
          },
        ],
        locking: `online: ${c.table} is rebuilt in place while reads and writes continue`,
      });
  }
}

/** MySQL steps for the diffs: creates first, drops of tables last. */
export function planMysql(diffs: readonly TableDiff[], server: MysqlServer): Step[] {
  const creates: Step[] = [];
  const middle: Step[] = [];
  const dropsOfTables: Step[] = [];
  for (const diff of diffs) {
    for (const c of diff.changes) {
      const s = stepOf(c, server);
      if (c.op === "create_table") creates.push(s);
      else if (c.op === "drop_table") dropsOfTables.push(s);
      else middle.push(s);
    }
  }
  return [...creates, ...middle, ...dropsOfTables];
}
