/**
 * Cassandra steps that bring a keyspace's wide tables to the manifest.
 * What Cassandra allows decides what is safe:
 *
 * - new table, new column, a new default TTL: safe;
 * - renaming a primary-key column (renamed_from): safe, in place;
 * - renaming a regular column: Cassandra cannot; it is a new empty column
 *   plus a drop of the old one (destructive);
 * - dropping a column: destructive;
 * - a different partition key or clustering (columns or order): the table
 *   must be dropped and created again, losing every row (destructive);
 * - a column type change: not possible in Cassandra (refused always).
 */
import { createHash } from "node:crypto";
import { createTableCql, cqlIdent } from "../../storage/cassandra/cql.js";
import type { WideTableSpec } from "../../storage/schema.js";
import type { Loss } from "../diff.js";
import { makeStep, type Step } from "../step.js";
import { normaliseCqlType, type CqlLiveTable } from "./introspect.js";

export interface CassandraTablePlan {
  readonly table: string;
  readonly spec: WideTableSpec;
  readonly steps: readonly Step[];
  /** Changes Cassandra cannot make at all. */
  readonly unsupported: readonly string[];
}

const ref = (keyspace: string, table: string) => `${cqlIdent(keyspace)}.${cqlIdent(table)}`;
const AGREE = "schema change (waits for schema agreement)";

export function cassandraFingerprint(spec: WideTableSpec): string {
  const shape = {
    columns: spec.columns.map((c) => [c.name, normaliseCqlType(c.cql)]).sort((a, b) => a[0]!.localeCompare(b[0]!)),
    partitionKey: spec.partitionKey,
    clustering: spec.clustering.map((c) => [c.column, c.order]),
    ttl: spec.defaultTtlSeconds,
  };
  return createHash("sha256").update(JSON.stringify(shape)).digest("hex").slice(0, 32);
}

function keyShape(partition: readonly string[], clustering: readonly { column: string; order: string }[]): string {
  return `(${partition.join(", ")})${clustering.map((c) => `, ${c.column} ${c.order}`).join("")}`;
}

/** The steps for one wide table (live undefined: the table does not exist). */
export function planCassandraTable(
  spec: WideTableSpec,
  live: CqlLiveTable | undefined,
  keyspace: string,
): CassandraTablePlan {
  const t = spec.name;
  const at = ref(keyspace, t);
  if (!live) {
    return {
      table: t,
      spec,
      unsupported: [],
      steps: [
        makeStep({
          id: `create_table:${t}`,
          op: "create_table",
          table: t,
          summary: `create table ${keyspace}.${t}`,
          statements: [{ sql: createTableCql(spec, keyspace) }],
          losses: [],
          locking: AGREE,
        }),
      ],
    };
  }
  const keyCols = new Set([...live.partitionKey, ...live.clustering.map((c) => c.column)]);
  const desiredNames = new Set(spec.columns.map((c) => c.name));
  const renamedTo = new Map<string, string>();
  const steps: Step[] = [];
  const drops: Step[] = [];
  const unsupported: string[] = [];
  const claimed = new Set<string>();

  for (const col of spec.columns) {
    if (live.columns.has(col.name)) {
      claimed.add(col.name);
      const have = live.columns.get(col.name)!;
      if (have !== normaliseCqlType(col.cql)) {
        unsupported.push(
          `${keyspace}.${t}.${col.name}: Cassandra cannot change a column's type (${have} → ${normaliseCqlType(col.cql)}); add a new field instead`,
        );
      }
      continue;
    }
    const old = (col.renamedFrom ?? []).find((n) => live.columns.has(n) && !claimed.has(n) && !desiredNames.has(n));
    if (old !== undefined && keyCols.has(old)) {
      claimed.add(old);
      renamedTo.set(old, col.name);
      steps.push(
        makeStep({
          id: `rename_column:${t}.${old}->${col.name}`,
          op: "rename_column",
          table: t,
          summary: `rename key column ${t}.${old} to ${col.name}`,
          statements: [{ sql: `ALTER TABLE ${at} RENAME ${cqlIdent(old)} TO ${cqlIdent(col.name)}` }],
          losses: [],
          locking: AGREE,
        }),
      );
      continue;
    }
    steps.push(
      makeStep({
        id: `add_column:${t}.${col.name}`,
        op: "add_column",
        table: t,
        summary: `add column ${t}.${col.name} ${col.cql}`,
        statements: [{ sql: `ALTER TABLE ${at} ADD ${cqlIdent(col.name)} ${col.cql}` }],
        losses: [],
        locking: AGREE,
      }),
    );
    if (old !== undefined) {
      // A regular column cannot be renamed: it is dropped below, its values lost.
      drops.push(
        dropStep(
          t,
          at,
          old,
          live.columns.get(old)!,
          `Cassandra cannot rename a regular column: ${col.name} is added empty and every value of ${old} would be lost`,
        ),
      );
      claimed.add(old);
    }
  }

  const mapped = (c: string) => renamedTo.get(c) ?? c;
  const liveKey = keyShape(
    live.partitionKey.map(mapped),
    live.clustering.map((c) => ({ column: mapped(c.column), order: c.order })),
  );
  const wantKey = keyShape(spec.partitionKey, spec.clustering);
  if (liveKey !== wantKey) {
    const loss: Loss = {
      summary: `change the primary key of ${t} from ${liveKey} to ${wantKey}`,
      loses: "Cassandra cannot alter a primary key: the table is dropped and created again, and every row is lost",
    };
    return {
      table: t,
      spec,
      unsupported,
      steps: [
        makeStep({
          id: `recreate_table:${t}`,
          op: "replace_primary_key",
          table: t,
          summary: `drop and re-create ${keyspace}.${t} with primary key ${wantKey}`,
          statements: [{ sql: `DROP TABLE IF EXISTS ${at}` }, { sql: createTableCql(spec, keyspace) }],
          losses: [loss],
          locking: AGREE,
        }),
      ],
    };
  }

  for (const name of live.columns.keys()) {
    if (claimed.has(name) || desiredNames.has(name)) continue;
    drops.push(dropStep(t, at, name, live.columns.get(name)!, `every value of ${name} would be lost`));
  }
  if (live.defaultTtlSeconds !== spec.defaultTtlSeconds) {
    steps.push(
      makeStep({
        id: `alter_table:${t}.default_time_to_live`,
        op: "alter_column",
        table: t,
        summary: `set the default TTL of ${t} to ${spec.defaultTtlSeconds} s (was ${live.defaultTtlSeconds} s; rows already written keep theirs)`,
        statements: [{ sql: `ALTER TABLE ${at} WITH default_time_to_live = ${spec.defaultTtlSeconds}` }],
        losses: [],
        locking: AGREE,
      }),
    );
  }
  return { table: t, spec, unsupported, steps: [...steps, ...drops] };
}

function dropStep(t: string, at: string, name: string, type: string, loses: string): Step {
  return makeStep({
    id: `drop_column:${t}.${name}`,
    op: "drop_column",
    table: t,
    summary: `drop column ${t}.${name} (${type})`,
    statements: [{ sql: `ALTER TABLE ${at} DROP ${cqlIdent(name)}` }],
    losses: [{ column: name, summary: `drop column ${t}.${name} (${type})`, loses }],
    locking: AGREE,
  });
}
