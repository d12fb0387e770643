import { describe, expect, it } from "vitest";
import { openSqlStore, parseCassandraUrl, redact, StoreUrlError } from "./open.js";

describe("store URLs", () => {
  it("opens SQLite in memory and runs statements", async () => {
    const db = openSqlStore("sqlite::memory:");
    expect(db.dialect).toBe("sqlite");
    await db.exec("CREATE TABLE t (a INTEGER)");
    await db.run("INSERT INTO t VALUES (?)", [9007199254740993n]);
    expect(await db.get("SELECT a FROM t")).toEqual({ a: 9007199254740993n });
    await db.close();
  });

  it("parses Cassandra URLs", () => {
    expect(parseCassandraUrl("cassandra://a,b:9043/ks?dc=dc2&consistency=quorum")).toEqual({
      contactPoints: ["a", "b:9043"],
      keyspace: "ks",
      localDataCenter: "dc2",
      consistency: "quorum",
      username: undefined,
      password: undefined,
    });
    expect(parseCassandraUrl("cassandra://u:p%40ss@h/ks")).toMatchObject({ username: "u", password: "p@ss", localDataCenter: "datacenter1" });
  });

  it.each(["postgres://x/y", "sqlite:", "mysql://host:3306/", "cassandra://host", "nonsense"])("rejects %s clearly", (url) => {
    expect(() => (url.startsWith("cassandra") ? parseCassandraUrl(url) : openSqlStore(url))).toThrow(StoreUrlError);
  });

  it("redacts passwords", () => {
    expect(redact("mysql://root:secret@h:3306/db")).toBe("mysql://root:***@h:3306/db");
  });
});
