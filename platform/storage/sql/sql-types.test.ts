import { describe, expect, it } from "vitest";
import { canonicalMysqlType, mysqlWidens, sqliteAffinity } from "./sql-types.js";

describe("canonicalMysqlType", () => {
  it.each([
    ["BIGINT", "bigint(20)"],
    ["BIGINT UNSIGNED", "bigint(20) unsigned"],
    ["INT UNSIGNED", "int(10) unsigned"],
    ["INT", "int(11)"],
    ["INT", "integer"],
    ["TINYINT(1)", "tinyint(1)"],
    ["TINYINT(1)", "boolean"],
    ["VARCHAR(64)", "varchar(64)"],
    ["DOUBLE", "double precision"],
    ["DOUBLE", "real"],
    ["DOUBLE", "float(53)"],
    ["FLOAT", "float(10)"],
    ["DECIMAL", "decimal(10,0)"],
    ["NUMERIC(8)", "decimal(8,0)"],
    ["LONGTEXT", "json"],
    ["LONGBLOB", "longblob"],
    ["VARBINARY(255)", "varbinary(255)"],
    ["CHAR", "char(1)"],
    ["BIGINT UNSIGNED ZEROFILL", "bigint(20) unsigned zerofill"],
  ])("%s equals %s", (a, b) => {
    expect(canonicalMysqlType(a)).toBe(canonicalMysqlType(b));
  });

  it.each([
    ["INT", "INT UNSIGNED"],
    ["VARCHAR(64)", "VARCHAR(65)"],
    ["TEXT", "LONGTEXT"],
    ["BIGINT", "INT"],
    ["DECIMAL(10,2)", "DECIMAL(10,3)"],
  ])("%s differs from %s", (a, b) => {
    expect(canonicalMysqlType(a)).not.toBe(canonicalMysqlType(b));
  });
});

describe("mysqlWidens", () => {
  it.each([
    ["int(11)", "BIGINT", true],
    ["tinyint(1)", "INT", true],
    ["int(10) unsigned", "BIGINT", true],
    ["int(10) unsigned", "INT", false],
    ["int(11)", "INT UNSIGNED", false],
    ["bigint(20)", "INT", false],
    ["float", "DOUBLE", true],
    ["double", "FLOAT", false],
    ["varchar(64)", "VARCHAR(255)", true],
    ["varchar(255)", "VARCHAR(64)", false],
    ["varchar(2000)", "TEXT", true],
    ["varchar(20000)", "TEXT", false],
    ["varchar(20000)", "MEDIUMTEXT", true],
    ["text", "LONGTEXT", true],
    ["longtext", "TEXT", false],
    ["varbinary(255)", "LONGBLOB", true],
    ["blob", "TEXT", false],
    ["decimal(10,2)", "DECIMAL(12,2)", true],
    ["decimal(10,2)", "DECIMAL(10,3)", false],
    ["char(10)", "VARCHAR(10)", true],
    ["varchar(10)", "CHAR(10)", false],
    ["int(11)", "VARCHAR(20)", false],
  ])("%s → %s widens: %s", (from, to, want) => {
    expect(mysqlWidens(from, to)).toBe(want);
  });
});

describe("sqliteAffinity", () => {
  it.each([
    ["INTEGER", "INTEGER"],
    ["BIGINT", "INTEGER"],
    ["int", "INTEGER"],
    ["TEXT", "TEXT"],
    ["VARCHAR(10)", "TEXT"],
    ["CLOB", "TEXT"],
    ["BLOB", "BLOB"],
    ["", "BLOB"],
    ["REAL", "REAL"],
    ["DOUBLE", "REAL"],
    ["FLOAT", "REAL"],
    ["NUMERIC", "NUMERIC"],
    ["BOOLEAN", "NUMERIC"],
  ])("%s has affinity %s", (t, a) => {
    expect(sqliteAffinity(t)).toBe(a);
  });
});
