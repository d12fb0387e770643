/**
 * Opens a store from a URL:
 *   sqlite:./data/orbit.db   sqlite::memory:
 *   mysql://user:password@host:3306/db?pool=10
 *   cassandra://host1,host2:9042/keyspace?dc=datacenter1&consistency=localQuorum
 */
import type { SqlDb } from "./driver.js";
import { SqliteDb } from "./sqlite.js";
import { MysqlDb } from "./mysql.js";

export class StoreUrlError extends Error {
  override readonly name = "StoreUrlError";
}

export function openSqlStore(url: string): SqlDb {
  if (url.startsWith("sqlite:")) {
    const path = url.slice("sqlite:".length).replace(/^\/\//, "");
    if (!path) throw new StoreUrlError(`store URL ${url} names no file (try sqlite:./data/orbit.db)`);
    return new SqliteDb({ path });
  }
  if (url.startsWith("mysql:") || url.startsWith("mariadb:")) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new StoreUrlError(`store URL ${url} is not a valid URL`);
    }
    const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
    if (!database) throw new StoreUrlError(`store URL ${redact(url)} names no database`);
    const pool = u.searchParams.get("pool");
    return new MysqlDb({
      host: u.hostname || "127.0.0.1",
      port: u.port ? Number(u.port) : 3306,
      user: decodeURIComponent(u.username || "root"),
      password: u.password ? decodeURIComponent(u.password) : undefined,
      database,
      connectionLimit: pool ? Number(pool) : undefined,
    });
  }
  throw new StoreUrlError(
    `unsupported SQL store URL ${redact(url)}: use sqlite:<path> or mysql://user@host:port/db`,
  );
}

export interface CassandraConfig {
  readonly contactPoints: string[];
  readonly keyspace: string;
  readonly localDataCenter: string;
  readonly consistency: string;
  readonly username?: string;
  readonly password?: string;
}

export function parseCassandraUrl(url: string): CassandraConfig {
  const m = /^cassandra:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?]+)\/([A-Za-z0-9_]+)(?:\?(.*))?$/.exec(url);
  if (!m) {
    throw new StoreUrlError(
      `invalid Cassandra URL ${redact(url)}: use cassandra://host1,host2:9042/keyspace?dc=datacenter1`,
    );
  }
  const params = new URLSearchParams(m[5] ?? "");
  return {
    contactPoints: m[3]!.split(",").filter(Boolean),
    keyspace: m[4]!,
    localDataCenter: params.get("dc") ?? "datacenter1",
    consistency: params.get("consistency") ?? "localQuorum",
    username: m[1] ? decodeURIComponent(m[1]) : undefined,
    password: m[2] ? decodeURIComponent(m[2]) : undefined,
  };
}

/** Removes a password from a store URL, for logs and errors. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
