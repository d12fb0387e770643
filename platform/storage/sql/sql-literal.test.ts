import { describe, expect, it } from "vitest";
import { InvalidManifestError } from "../schema.js";
import {
  canonicalNumber,
  parseManifestDefault,
  parseMysqlDefault,
  parseSqliteDefault,
  renderLiteral,
  sameLiteral,
  type Literal,
} from "./sql-literal.js";

const maria = (raw: string | null, valueClass: "numeric" | "text" = "text") =>
  parseMysqlDefault(raw, { mariadb: true, extra: "", valueClass });
const mysql8 = (raw: string | null, valueClass: "numeric" | "text" = "text", extra = "") =>
  parseMysqlDefault(raw, { mariadb: false, extra, valueClass });

describe("defaults", () => {
  it("canonicalises numbers", () => {
    expect(canonicalNumber("0")).toBe("0");
    expect(canonicalNumber("-0")).toBe("0");
    expect(canonicalNumber("0.0")).toBe("0");
    expect(canonicalNumber("007")).toBe("7");
    expect(canonicalNumber("1.50")).toBe("1.5");
    expect(canonicalNumber("+3")).toBe("3");
    expect(canonicalNumber("1e3")).toBe("1000");
    expect(canonicalNumber("9223372036854775807")).toBe("9223372036854775807");
  });

  it("parses manifest literals and refuses anything else", () => {
    expect(parseManifestDefault("0", "t.c")).toEqual({ kind: "number", text: "0" });
    expect(parseManifestDefault("''", "t.c")).toEqual({ kind: "string", value: "" });
    expect(parseManifestDefault("'it''s'", "t.c")).toEqual({ kind: "string", value: "it's" });
    expect(parseManifestDefault("'a\\b'", "t.c")).toEqual({ kind: "string", value: "a\\b" });
    expect(parseManifestDefault("TRUE", "t.c")).toEqual({ kind: "number", text: "1" });
    expect(parseManifestDefault("NULL", "t.c")).toEqual({ kind: "null" });
    expect(parseManifestDefault("X'0aFF'", "t.c")).toEqual({ kind: "bytes", hex: "0aff" });
    for (const bad of ["now()", "'open", "1; DROP TABLE x", "'a' || 'b'", "abc"]) {
      expect(() => parseManifestDefault(bad, "posts.x")).toThrow(InvalidManifestError);
    }
    expect(() => parseManifestDefault("now()", "posts.x")).toThrow(/posts\.x: default "now\(\)" is not an SQL literal/);
  });

  it("reads MariaDB's spelling: quoted strings, bare numbers, NULL as text, expressions", () => {
    expect(maria("''")).toEqual({ kind: "string", value: "" });
    expect(maria("'it''s'")).toEqual({ kind: "string", value: "it's" });
    expect(maria("'a\\\\b'")).toEqual({ kind: "string", value: "a\\b" });
    expect(maria("'NULL'")).toEqual({ kind: "string", value: "NULL" });
    expect(maria("NULL")).toEqual({ kind: "null" });
    expect(maria(null)).toEqual({ kind: "null" });
    expect(maria("0", "numeric")).toEqual({ kind: "number", text: "0" });
    expect(maria("1.5", "numeric")).toEqual({ kind: "number", text: "1.5" });
    expect(maria("current_timestamp()")).toEqual({ kind: "expr", text: "current_timestamp" });
  });

  it("reads MySQL 8's spelling: raw values and generated expressions", () => {
    expect(mysql8("", "text")).toEqual({ kind: "string", value: "" });
    expect(mysql8("abc", "text")).toEqual({ kind: "string", value: "abc" });
    expect(mysql8("0", "numeric")).toEqual({ kind: "number", text: "0" });
    expect(mysql8(null)).toEqual({ kind: "null" });
    expect(mysql8("_utf8mb4\\'\\'", "text", "DEFAULT_GENERATED")).toEqual({ kind: "string", value: "" });
    expect(mysql8("CURRENT_TIMESTAMP", "text", "DEFAULT_GENERATED")).toEqual({
      kind: "expr",
      text: "current_timestamp",
    });
  });

  it("reads SQLite's spelling (the CREATE text)", () => {
    expect(parseSqliteDefault("0")).toEqual({ kind: "number", text: "0" });
    expect(parseSqliteDefault("(0)")).toEqual({ kind: "number", text: "0" });
    expect(parseSqliteDefault("''")).toEqual({ kind: "string", value: "" });
    expect(parseSqliteDefault("'a\\b'")).toEqual({ kind: "string", value: "a\\b" });
    expect(parseSqliteDefault(null)).toEqual({ kind: "null" });
    expect(parseSqliteDefault("CURRENT_TIMESTAMP")).toEqual({ kind: "expr", text: "current_timestamp" });
  });

  it("compares by value through the column's class", () => {
    const n = (text: string): Literal => ({ kind: "number", text });
    const s = (value: string): Literal => ({ kind: "string", value });
    expect(sameLiteral(n("0"), s("0"), "numeric")).toBe(true);
    expect(sameLiteral(n("0"), s("0"), "text")).toBe(true);
    expect(sameLiteral(n("0"), s(""), "text")).toBe(false);
    expect(sameLiteral(n("7"), n("0"), "numeric")).toBe(false);
    expect(sameLiteral({ kind: "null" }, s(""), "text")).toBe(false);
    expect(sameLiteral({ kind: "bytes", hex: "" }, s(""), "binary")).toBe(true);
  });

  it("renders per dialect: MySQL escapes backslashes, SQLite does not", () => {
    const v: Literal = { kind: "string", value: "it's a\\b" };
    expect(renderLiteral(v, "sqlite")).toBe("'it''s a\\b'");
    expect(renderLiteral(v, "mysql")).toBe("'it''s a\\\\b'");
  });
});
