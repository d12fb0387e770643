/**
 * Emits, for one wide table: its TableSpec, its CQL as visible constants
 * (the exact text the Cassandra runtime prepares), the key/prefix/row types
 * and a typed DAO class over the WideTable runtime.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import type { GeneratedFile, ImportSymbol } from "@bufbuild/protoplugin";
import type { WideTableSpec } from "../../platform/storage/schema.js";
import { createTableCql, wideCql } from "../../platform/storage/cassandra/cql.js";
import {
  docText,
  fieldNotes,
  generatedFromMessage,
  protoComments,
  specLiteral,
  statementLiteral,
  wrapDoc,
} from "../common/emit-text.js";

/** The runtime, relative to the output root (gen/). */
const RT = "../platform/storage";

export interface Runtime {
  WideTableSpec: ImportSymbol;
  column: ImportSymbol;
  WideTable: ImportSymbol;
  WideStore: ImportSymbol;
  WideRowInit: ImportSymbol;
  WidePutOptions: ImportSymbol;
  WideReadOptions: ImportSymbol;
  WideWriteOptions: ImportSymbol;
  WideScanOptions: ImportSymbol;
  WideScanPage: ImportSymbol;
}

export function runtimeImports(f: GeneratedFile): Runtime {
  const wide = (name: string, typeOnly: boolean) => f.import(name, `${RT}/wide/index.js`, typeOnly);
  return {
    WideTableSpec: f.import("WideTableSpec", `${RT}/schema.js`, true),
    column: f.import("column", `${RT}/schema.js`),
    WideTable: wide("WideTable", false),
    WideStore: wide("WideStore", true),
    WideRowInit: wide("WideRowInit", true),
    WidePutOptions: wide("WidePutOptions", true),
    WideReadOptions: wide("WideReadOptions", true),
    WideWriteOptions: wide("WideWriteOptions", true),
    WideScanOptions: wide("WideScanOptions", true),
    WideScanPage: wide("WideScanPage", true),
  };
}

/**
 * A string as a readable TS literal: a template literal if multi-line, else
 * single quotes, a long statement as concatenated clauses (the same text).
 */
export function tsString(s: string): string {
  if (s.includes("\n")) return "`" + s.replace(/\\/g, "\\\\").replace(/`/g, "\\`").replace(/\$\{/g, "\\${") + "`";
  return statementLiteral(s);
}

const union = (names: readonly string[]) => names.map((n) => JSON.stringify(n)).join(" | ");

/** A comment line for a statement (JSDoc-safe). */
const cqlDoc = (text: string) => text.replace(/\*\//g, "*\\/");

export function emitWideTable(f: GeneratedFile, message: DescMessage, spec: WideTableSpec, rt: Runtime): void {
  const doc = (text: string) => f.jsDoc(wrapDoc(text));
  const name = message.name;
  const shape = f.importShape(message);
  const schema = f.importSchema(message);
  const cql = wideCql(spec);
  const fieldOf = (col: string) => spec.columns.find((c) => c.name === col)!.field;
  const keyFields = spec.primaryKey.map(fieldOf);
  const partFields = spec.partitionKey.map(fieldOf);
  const clustFields = spec.clustering.map((c) => fieldOf(c.column));
  const counters = spec.columns.filter((c) => c.counter);
  const isCounter = counters.length > 0;
  const T = `${name}Table`;
  const C = `${name}Cql`;
  const partitionDesc = spec.partitionKey.join(", ");
  const clusteringDesc =
    spec.clustering.length > 0 ? spec.clustering.map((c) => `${c.column} ${c.order.toUpperCase()}`).join(", ") : "none";

  f.print(`// ── ${name} → wide table ${spec.name} ${"─".repeat(Math.max(4, 60 - name.length - spec.name.length))}`);
  f.print();
  const from = generatedFromMessage(message);
  f.print(
    doc(
      docText(
        `Wide table ${spec.name}: its schema manifest entry (diffed by the migrator; gen/manifest.json lists the same).`,
        from,
      ),
    ),
  );
  f.print(f.export("const", T), ": ", rt.WideTableSpec, " = ", ...specLiteral(spec, rt.column), ";");
  f.print();

  f.print(`/**`);
  f.print(` * The CQL of ${spec.name}, exactly as the Cassandra runtime prepares it.`);
  f.print(` * Partition key: (${partitionDesc}). Clustering: ${clusteringDesc}.`);
  if (spec.defaultTtlSeconds > 0)
    f.print(` * Rows expire ${spec.defaultTtlSeconds} s after they are written unless put says otherwise.`);
  f.print(` * Scans with other bounds or in reverse order use the same text with other`);
  f.print(` * tuple relations / ORDER BY (platform/storage/cassandra/cql.ts, scanCql).`);
  f.print(` *`);
  f.print(` * ${from}`);
  f.print(` */`);
  f.print(f.export("const", C), " = {");
  f.print(`  createTable: ${tsString(createTableCql(spec))},`);
  for (const [k, v] of Object.entries(cql)) f.print(`  ${k}: ${tsString(v as string)},`);
  f.print("} as const;");
  f.print();

  const keyDescs = spec.primaryKey.map((k) => message.fields.find((x) => x.name === k)!);
  f.print(
    doc(
      docText(`The full primary key of ${spec.name}: partition key + clustering columns.`, fieldNotes(keyDescs), from),
    ),
  );
  f.print(f.export("type", `${name}Key`), " = Pick<", shape, `, ${union(keyFields)}>;`);
  f.print(doc(docText(`The partition key of ${spec.name} (${partitionDesc}).`, from)));
  f.print(f.export("type", `${name}PartitionKey`), " = Pick<", shape, `, ${union(partFields)}>;`);
  if (clustFields.length > 0) {
    f.print(`/** A prefix of the clustering columns (${clustFields.join(", ")}), for scan bounds. */`);
    const rest = clustFields.slice(1);
    f.print(
      f.export("type", `${name}ClusteringPrefix`),
      " = Pick<",
      shape,
      `, ${union(clustFields.slice(0, 1))}>`,
      ...(rest.length > 0 ? [" & Partial<Pick<", shape, `, ${union(rest)}>>`] : []),
      ";",
    );
  } else {
    f.print(`/** ${spec.name} has no clustering columns: a partition holds one row, scans take no bounds. */`);
    f.print(f.export("type", `${name}ClusteringPrefix`), " = never;");
  }
  const prefix = `${name}ClusteringPrefix`;
  if (isCounter) {
    f.print(`/** Amounts to add to the counters of one row (negative to subtract). */`);
    f.print(f.export("type", `${name}Delta`), " = {");
    for (const c of counters) f.print(`  ${c.field}?: bigint | number;`);
    f.print("};");
  } else {
    f.print(doc(docText("A row to put: the key fields are required; absent fields take their zero value.", from)));
    f.print(f.export("type", `${name}Init`), " = ", rt.WideRowInit, "<", shape, `, ${union(keyFields)}>;`);
  }
  f.print();

  const generics = [shape, `, ${name}Key, ${name}PartitionKey, ${prefix}`, ...(isCounter ? [`, ${name}Delta`] : [])];
  f.print(
    doc(
      docText(
        protoComments(message),
        `Typed access to the wide table ${spec.name} on any WideStore: CassandraWideStore, or SqlWideStore on SQLite/MySQL.`,
        from,
      ),
    ),
  );
  f.print(f.export("class", `${name}Dao`), " {");
  f.print(`  /** The runtime shared by every generated wide DAO. */`);
  f.print("  readonly table: ", rt.WideTable, "<", ...generics, ">;");
  f.print();
  f.print("  constructor(store: ", rt.WideStore, ") {");
  f.print("    this.table = new ", rt.WideTable, "(store, ", T, ", ", schema, ");");
  f.print("  }");
  f.print();
  let first = true;
  const method = (doc: string[], sig: (string | ImportSymbol)[], body: string) => {
    if (!first) f.print();
    first = false;
    f.print("  /**");
    for (const d of doc) f.print(d ? `   * ${d}` : "   *");
    f.print("   */");
    f.print("  ", ...sig, " {");
    f.print(`    ${body}`);
    f.print("  }");
  };
  if (!isCounter) {
    const ttl = spec.defaultTtlSeconds > 0 ? `${spec.defaultTtlSeconds} s` : "none";
    method(
      [
        "Inserts the row, or overwrites every column of the row with its key.",
        `TTL: opts.ttlSeconds (0 = never expires), else the table default (${ttl}).`,
        "",
        `CQL: ${cqlDoc(cql.insert!)}`,
      ],
      ["put(row: ", `${name}Init`, ", opts?: ", rt.WidePutOptions, "): Promise<void>"],
      "return this.table.put(row, opts);",
    );
    method(
      ["Puts many rows with the same options (one transaction on the SQL store)."],
      ["putMany(rows: readonly ", `${name}Init`, "[], opts?: ", rt.WidePutOptions, "): Promise<void>"],
      "return this.table.putMany(rows, opts);",
    );
  } else {
    method(
      [
        "Adds the deltas to the counters of the row with this key (atomically;",
        "a row that does not exist yet starts at 0).",
        "",
        `CQL: ${cqlDoc(cql.increment!)}`,
      ],
      [
        "increment(key: ",
        `${name}Key`,
        ", delta: ",
        `${name}Delta`,
        ", opts?: ",
        rt.WideWriteOptions,
        "): Promise<void>",
      ],
      "return this.table.increment(key, delta, opts);",
    );
  }
  method(
    ["The row with this key, or undefined.", "", `CQL: ${cqlDoc(cql.selectByKey)}`],
    ["get(key: ", `${name}Key`, ", opts?: ", rt.WideReadOptions, "): Promise<", shape, " | undefined>"],
    "return this.table.get(key, opts);",
  );
  method(
    [
      "One page of a partition, in clustering order (or reverse), optionally",
      "between clustering bounds (by value, on a prefix of the clustering columns).",
      "",
      `CQL: ${cqlDoc(cql.scanPartition)}`,
      ...(cql.scanRange ? [`  or ${cqlDoc(cql.scanRange)}`] : []),
    ],
    [
      "scan(partition: ",
      `${name}PartitionKey`,
      ", opts?: ",
      rt.WideScanOptions,
      `<${prefix}>): Promise<`,
      rt.WideScanPage,
      "<",
      shape,
      ">>",
    ],
    "return this.table.scan(partition, opts);",
  );
  method(
    ["Deletes the row with this key (no error if there is none).", "", `CQL: ${cqlDoc(cql.deleteRow)}`],
    ["delete(key: ", `${name}Key`, ", opts?: ", rt.WideWriteOptions, "): Promise<void>"],
    "return this.table.delete(key, opts);",
  );
  method(
    ["Deletes every row of the partition.", "", `CQL: ${cqlDoc(cql.deletePartition)}`],
    ["deletePartition(partition: ", `${name}PartitionKey`, ", opts?: ", rt.WideWriteOptions, "): Promise<void>"],
    "return this.table.deletePartition(partition, opts);",
  );
  f.print("}");
  f.print();
}

/** The golden `.cql` file of one proto file: the DDL of its wide tables. */
export function emitCqlFile(
  f: GeneratedFile,
  protoFile: string,
  tables: { message: DescMessage; spec: WideTableSpec }[],
): void {
  f.print(`-- Generated by the Orbit Cassandra walker (generators/cassandra-walker) from ${protoFile}. DO NOT EDIT.`);
  f.print(`-- The wide tables of ${protoFile}, to apply in the service's keyspace.`);
  for (const t of tables) {
    f.print();
    f.print(`-- ${t.message.typeName}`);
    f.print(createTableCql(t.spec) + ";");
  }
}
