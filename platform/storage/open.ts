/**
 * Opens a store from a URL:
 *   sqlite:./data/orbit.db   sqlite::memory:          (no options)
 *   mysql://user:password@host:3306/db?pool=10        (pool: connections, 1..1000)
 *   cassandra://host1,host2:9042/keyspace?dc=datacenter1&consistency=localQuorum&rf=3
 * A URL with an unknown option, an option given twice or a bad value is
 * refused with a StoreUrlError naming the option and the accepted ones.
 */
import { CASSANDRA_CONSISTENCIES, isCassandraConsistency } from "./cassandra/consistency.js";
import type { SqlDb } from "./driver.js";
import { SqliteDb, type SqliteOptions } from "./sqlite.js";
import { MysqlDb, type MysqlOptions } from "./mysql.js";

export class StoreUrlError extends Error {
  override readonly name = "StoreUrlError";
}

/** Options of a mysql:// URL. */
export const MYSQL_URL_OPTIONS = ["pool"] as const;
/** Options of a cassandra:// URL. */
export { CASSANDRA_CONSISTENCIES };
export const CASSANDRA_URL_OPTIONS = ["dc", "consistency", "rf"] as const;
const MAX_POOL = 1000;
/** Replicas per data center a keyspace may ask for (rf=N). */
export const MAX_REPLICATION_FACTOR = 32;
/** Replicas of a keyspace the bundle creates when the URL has no rf. */
export const DEFAULT_REPLICATION_FACTOR = 3;

/**
 * The options of a store URL's query, each given at most once and each one
 * of `accepted`; throws a StoreUrlError naming the first that is not.
 */
function urlOptions(url: string, query: string, accepted: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const list = accepted.length ? `accepted: ${accepted.join(", ")}` : `${url.split(":")[0]}: URLs take no options`;
  for (const [key, value] of new URLSearchParams(query)) {
    if (!accepted.includes(key)) {
      throw new StoreUrlError(`store URL ${redact(url)}: unknown option ${JSON.stringify(key)} (${list})`);
    }
    if (out.has(key)) throw new StoreUrlError(`store URL ${redact(url)}: option ${key} is given twice`);
    out.set(key, value);
  }
  return out;
}

/** The file of a `sqlite:` URL (`sqlite:./data/orbit.db`, `sqlite::memory:`); it takes no options. */
export function parseSqliteUrl(url: string): SqliteOptions {
  if (!url.startsWith("sqlite:")) throw new StoreUrlError(`store URL ${redact(url)} is not a sqlite: URL`);
  const rest = url.slice("sqlite:".length).replace(/^\/\//, "");
  const q = rest.indexOf("?");
  const path = q < 0 ? rest : rest.slice(0, q);
  if (q >= 0) urlOptions(url, rest.slice(q + 1), []);
  if (!path) throw new StoreUrlError(`store URL ${url} names no file (try sqlite:./data/orbit.db)`);
  return { path };
}

/** The connection settings of a `mysql://` (or `mariadb://`) URL, checked without connecting. */
export function parseMysqlUrl(url: string): MysqlOptions {
  if (!/^(mysql|mariadb):/.test(url)) throw new StoreUrlError(`store URL ${redact(url)} is not a mysql:// URL`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StoreUrlError(`store URL ${redact(url)} is not a valid URL (mysql://user:pass@host:3306/db)`);
  }
  let database: string;
  let user: string;
  let password: string | undefined;
  try {
    database = decodeURIComponent(u.pathname.replace(/^\//, ""));
    user = decodeURIComponent(u.username || "root");
    password = u.password ? decodeURIComponent(u.password) : undefined;
  } catch {
    throw new StoreUrlError(`store URL ${redact(url)} has a malformed %-escape`);
  }
  if (!database) throw new StoreUrlError(`store URL ${redact(url)} names no database`);
  const opts = urlOptions(url, u.search, MYSQL_URL_OPTIONS);
  const pool = opts.get("pool");
  if (pool !== undefined && !(/^\d+$/.test(pool) && Number(pool) >= 1 && Number(pool) <= MAX_POOL)) {
    throw new StoreUrlError(
      `store URL ${redact(url)}: pool ${JSON.stringify(pool)} is not an integer in 1..${MAX_POOL} (the most connections to open)`,
    );
  }
  return {
    host: u.hostname || "127.0.0.1",
    port: u.port ? Number(u.port) : 3306,
    user,
    password,
    database,
    ...(pool !== undefined ? { connectionLimit: Number(pool) } : {}),
  };
}

export function openSqlStore(url: string): SqlDb {
  if (url.startsWith("sqlite:")) return new SqliteDb(parseSqliteUrl(url));
  if (/^(mysql|mariadb):/.test(url)) return new MysqlDb(parseMysqlUrl(url));
  throw new StoreUrlError(`unsupported SQL store URL ${redact(url)}: use sqlite:<path> or mysql://user@host:port/db`);
}

export interface CassandraConfig {
  readonly contactPoints: string[];
  readonly keyspace: string;
  readonly localDataCenter: string;
  readonly consistency: string;
  /**
   * Replicas in the local data center when the keyspace is created (the
   * URL's `rf`; unset: DEFAULT_REPLICATION_FACTOR). An existing keyspace is
   * never altered.
   */
  readonly replicationFactor?: number;
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
  const params = urlOptions(url, m[5] ?? "", CASSANDRA_URL_OPTIONS);
  const dc = params.get("dc");
  if (dc !== undefined && dc.trim() === "") {
    throw new StoreUrlError(`store URL ${redact(url)}: dc is empty (name the local data center, e.g. dc=datacenter1)`);
  }
  const consistency = params.get("consistency");
  if (consistency !== undefined && !isCassandraConsistency(consistency)) {
    throw new StoreUrlError(
      `store URL ${redact(url)}: consistency ${JSON.stringify(consistency)} is not one of ${CASSANDRA_CONSISTENCIES.join(", ")}`,
    );
  }
  const rf = params.get("rf");
  if (rf !== undefined && !(/^\d+$/.test(rf) && Number(rf) >= 1 && Number(rf) <= MAX_REPLICATION_FACTOR)) {
    throw new StoreUrlError(
      `store URL ${redact(url)}: rf ${JSON.stringify(rf)} is not an integer in 1..${MAX_REPLICATION_FACTOR} (replicas of the keyspace in the local data center)`,
    );
  }
  let username: string | undefined;
  let password: string | undefined;
  try {
    username = m[1] ? decodeURIComponent(m[1]) : undefined;
    password = m[2] ? decodeURIComponent(m[2]) : undefined;
  } catch {
    throw new StoreUrlError(`store URL ${redact(url)} has a malformed %-escape`);
  }
  return {
    contactPoints: m[3]!.split(",").filter(Boolean),
    keyspace: m[4]!,
    localDataCenter: dc ?? "datacenter1",
    consistency: consistency ?? "localQuorum",
    ...(rf !== undefined ? { replicationFactor: Number(rf) } : {}),
    username,
    password,
  };
}

/** Removes a password from a store URL, for logs and errors. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
