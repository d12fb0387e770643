/**
 * The two sides the migrator compares: the schema the manifest asks for
 * (desired) and the schema the database has (live), both for one SQL dialect.
 */
import type { Literal } from "../storage/sql/sql-literal.js";

export interface DesiredColumn {
  readonly name: string;
  /** The type as the manifest spells it for this dialect (used in DDL). */
  readonly type: string;
  /**
   * The type the manifest declares, in its MySQL spelling (BIGINT, INT,
   * BIGINT UNSIGNED, TINYINT(1), VARCHAR(64)…), whatever the dialect: it keeps
   * the widths and sign that SQLite's affinities (INTEGER, TEXT) lose. The
   * history records it per column, which is how SQLite recognises narrowing.
   */
  readonly declared: string;
  readonly nullable: boolean;
  readonly default: Literal;
  readonly renamedFrom: readonly string[];
}

export interface IndexShape {
  readonly name: string;
  readonly columns: readonly string[];
  readonly unique: boolean;
}

export interface DesiredTable {
  readonly name: string;
  /** Where the table comes from: a relational row, or a wide row kept on SQL. */
  readonly kind: "sql" | "wide";
  /** Proto file and message that declare the table. */
  readonly file: string;
  readonly message: string;
  readonly columns: readonly DesiredColumn[];
  readonly primaryKey: readonly string[];
  readonly indexes: readonly IndexShape[];
  /**
   * SQLite: store rows in primary-key order (WITHOUT ROWID) unless the key
   * is a single INTEGER column (which is the rowid itself).
   */
  readonly withoutRowid: boolean;
}

export interface LiveColumn {
  readonly name: string;
  /** The type as the database reports it (e.g. "bigint(20) unsigned"). */
  readonly type: string;
  readonly nullable: boolean;
  readonly default: Literal;
}

export interface LiveTable {
  readonly name: string;
  readonly columns: readonly LiveColumn[];
  readonly primaryKey: readonly string[];
  /** Secondary indexes the migrator manages (not the primary key). */
  readonly indexes: readonly IndexShape[];
}

/** Live tables by name. */
export type LiveSchema = ReadonlyMap<string, LiveTable>;
