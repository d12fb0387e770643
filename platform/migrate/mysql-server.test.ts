import { describe, expect, it } from "vitest";
import { mysqlServerOf } from "./mysql-server.js";

describe("mysqlServerOf", () => {
  it("reads MariaDB and MySQL versions and what their syntax allows", () => {
    expect(mysqlServerOf("10.11.6-MariaDB-0+deb12u1")).toMatchObject({
      mariadb: true,
      renameColumn: true,
      lobDefaults: "literal",
      binaryCollation: "utf8mb4_nopad_bin",
    });
    expect(mysqlServerOf("10.2.1-MariaDB")).toMatchObject({
      renameColumn: false,
      lobDefaults: "literal",
      binaryCollation: "utf8mb4_bin",
    });
    expect(mysqlServerOf("8.0.36")).toMatchObject({
      mariadb: false,
      renameColumn: true,
      lobDefaults: "expression",
      binaryCollation: "utf8mb4_0900_bin",
    });
    expect(mysqlServerOf("8.0.16")).toMatchObject({ lobDefaults: "expression", binaryCollation: "utf8mb4_bin" });
    expect(mysqlServerOf("5.7.44-log")).toMatchObject({
      renameColumn: false,
      lobDefaults: "none",
      binaryCollation: "utf8mb4_bin",
    });
  });
});
