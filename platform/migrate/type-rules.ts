/**
 * Per-dialect rules for comparing column types: the comparable spelling of a
 * type, whether a change widens it, and how its values compare.
 */
import type { Dialect } from "../storage/driver.js";
import type { ValueClass } from "../storage/sql/sql-literal.js";
import {
  canonicalMysqlType,
  mysqlValueClass,
  mysqlWidens,
  sqliteAffinity,
  sqliteValueClass,
} from "../storage/sql/sql-types.js";

export interface TypeRules {
  readonly dialect: Dialect;
  /** Comparable spelling: equal spellings mean no change. */
  canonical(type: string): string;
  /** True if every value of `from` fits unchanged in `to`. */
  widens(from: string, to: string): boolean;
  valueClass(type: string): ValueClass;
}

export const SQLITE_RULES: TypeRules = {
  dialect: "sqlite",
  canonical: (t) => sqliteAffinity(t),
  // SQLite can only change a type by rewriting the table, and values are
  // converted by affinity: treat any affinity change as destructive.
  widens: () => false,
  valueClass: sqliteValueClass,
};

export const MYSQL_RULES: TypeRules = {
  dialect: "mysql",
  canonical: canonicalMysqlType,
  widens: mysqlWidens,
  valueClass: mysqlValueClass,
};

export function rulesFor(dialect: Dialect): TypeRules {
  return dialect === "mysql" ? MYSQL_RULES : SQLITE_RULES;
}
