import { describe, expect, it } from "vitest";
import { urlReplication } from "./cassandra/client.js";
import { openSqlStore, parseCassandraUrl, parseMysqlUrl, parseSqliteUrl, redact, StoreUrlError } from "./open.js";

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
    expect(parseCassandraUrl("cassandra://u:p%40ss@h/ks")).toMatchObject({
      username: "u",
      password: "p@ss",
      localDataCenter: "datacenter1",
    });
    expect(parseCassandraUrl("cassandra://h/ks").replicationFactor).toBeUndefined();
    expect(parseCassandraUrl("cassandra://127.0.0.1:9042/ks?dc=dc1&rf=1")).toMatchObject({
      contactPoints: ["127.0.0.1:9042"],
      localDataCenter: "dc1",
      replicationFactor: 1,
    });
  });

  it("creates a keyspace with the URL's rf replicas in its data center (default 3)", () => {
    expect(urlReplication(parseCassandraUrl("cassandra://h/ks?rf=1"))).toEqual({
      class: "NetworkTopologyStrategy",
      dataCenters: { datacenter1: 1 },
    });
    expect(urlReplication(parseCassandraUrl("cassandra://h/ks?dc=east"))).toEqual({
      class: "NetworkTopologyStrategy",
      dataCenters: { east: 3 },
    });
  });

  it.each(["postgres://x/y", "sqlite:", "mysql://host:3306/", "cassandra://host", "nonsense"])(
    "rejects %s clearly",
    (url) => {
      expect(() => (url.startsWith("cassandra") ? parseCassandraUrl(url) : openSqlStore(url))).toThrow(StoreUrlError);
    },
  );

  it("reads the options of mysql:// URLs", () => {
    expect(parseMysqlUrl("mysql://app:p%40ss@db1:3307/orbit?pool=25")).toEqual({
      host: "db1",
      port: 3307,
      user: "app",
      password: "p@ss",
      database: "orbit",
      connectionLimit: 25,
    });
    expect(parseMysqlUrl("mariadb://h/orbit")).toEqual({
      host: "h",
      port: 3306,
      user: "root",
      password: undefined,
      database: "orbit",
    });
    expect(parseSqliteUrl("sqlite:./data/orbit.db")).toEqual({ path: "./data/orbit.db" });
    expect(parseSqliteUrl("sqlite::memory:")).toEqual({ path: ":memory:" });
  });

  it.each([
    [
      "mysql://root:secret@h/db?pool=abc",
      'store URL mysql://root:***@h/db?pool=abc: pool "abc" is not an integer in 1..1000',
    ],
    ["mysql://h/db?pool=0", 'pool "0" is not an integer in 1..1000'],
    ["mysql://h/db?pool=-1", 'pool "-1" is not an integer in 1..1000'],
    ["mysql://h/db?pool=1.5", 'pool "1.5" is not an integer'],
    ["mysql://h/db?pool=1001", 'pool "1001" is not an integer'],
    ["mysql://h/db?pool=", 'pool "" is not an integer'],
    ["mysql://h/db?pool=5&pool=6", "store URL mysql://h/db?pool=5&pool=6: option pool is given twice"],
    ["mysql://h/db?pool=5&ssl=true", 'store URL mysql://h/db?pool=5&ssl=true: unknown option "ssl" (accepted: pool)'],
    ["mariadb://h/db?poolsize=5", 'unknown option "poolsize" (accepted: pool)'],
    ["mysql://root:secret@h:99999/db", "store URL mysql://root:***@h:99999/db is not a valid URL"],
    [
      "sqlite:./x.db?cache=shared",
      'store URL sqlite:./x.db?cache=shared: unknown option "cache" (sqlite: URLs take no options)',
    ],
    ["sqlite::memory:?mode=ro", 'unknown option "mode" (sqlite: URLs take no options)'],
    ["sqlite:?x=1", 'unknown option "x"'],
  ])("refuses %s, naming the option", (url, msg) => {
    expect(() => openSqlStore(url)).toThrow(StoreUrlError);
    expect(() => openSqlStore(url)).toThrow(msg);
  });

  it.each([
    [
      "cassandra://h/ks?dc=",
      "store URL cassandra://h/ks?dc=: dc is empty (name the local data center, e.g. dc=datacenter1)",
    ],
    ["cassandra://h/ks?dc=%20", "dc is empty"],
    [
      "cassandra://u:secret@h/ks?dc=a&region=b",
      'store URL cassandra://u:***@h/ks?dc=a&region=b: unknown option "region" (accepted: dc, consistency, rf)',
    ],
    ...["0", "-1", "1.5", "x", "", "33"].map((rf) => [
      `cassandra://h/ks?rf=${rf}`,
      `rf ${JSON.stringify(rf)} is not an integer in 1..32 (replicas of the keyspace in the local data center)`,
    ]),
    ["cassandra://h/ks?rf=1&rf=2", "option rf is given twice"],
    ["cassandra://h/ks?dc=a&dc=b", "option dc is given twice"],
    ["cassandra://h/ks?consistency=", 'consistency "" is not one of any, one, two, three, quorum, all, localQuorum'],
    ["cassandra://h/ks?consistency=LOCAL_QUORUM", 'consistency "LOCAL_QUORUM" is not one of'],
    ["cassandra://u%zz@h/ks", "has a malformed %-escape"],
  ])("refuses %s, naming the option", (url, msg) => {
    expect(() => parseCassandraUrl(url)).toThrow(StoreUrlError);
    expect(() => parseCassandraUrl(url)).toThrow(msg);
  });

  it("redacts passwords", () => {
    expect(redact("mysql://root:secret@h:3306/db")).toBe("mysql://root:***@h:3306/db");
  });
});
