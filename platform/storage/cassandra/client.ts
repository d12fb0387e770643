/**
 * The Cassandra/ScyllaDB client, opened from a `cassandra://` URL (see
 * parseCassandraUrl in ../open.ts): cassandra-driver with token-aware routing
 * over a DC-aware round robin in the local data center, prepared statements
 * by default, 64-bit integers as JS bigint, and a default consistency that
 * each call may override.
 */
import { msLeft } from "../../deadline.js";
import { Client, errors, policies, types } from "cassandra-driver";
import type { ClientOptions, QueryOptions } from "cassandra-driver";
import { DEFAULT_REPLICATION_FACTOR, parseCassandraUrl, redact, StoreUrlError, type CassandraConfig } from "../open.js";
import { StoreUnavailableError } from "../unavailable.js";
import type { Consistency } from "../wide/store.js";
import { createKeyspaceCql, type Replication } from "./cql.js";

/** The driver's code for a consistency level name such as "localQuorum". */
export function consistencyCode(name: string): number {
  const code = (types.consistencies as unknown as Record<string, number | undefined>)[name];
  if (typeof code !== "number") {
    throw new StoreUrlError(
      `unknown Cassandra consistency "${name}" (use one of ${Object.keys(types.consistencies).join(", ")})`,
    );
  }
  return code;
}

export interface CassandraClientOptions {
  /** Connect timeout per host, ms (driver default 5000). */
  readonly connectTimeoutMs?: number;
  /** Per-request read timeout, ms (driver default 12000). */
  readonly readTimeoutMs?: number;
  /** Connect without a keyspace (to create it first). */
  readonly noKeyspace?: boolean;
}

/** Server answers that mean "not now" (replicas down, overloaded, starting, timed out), not "wrong". */
const UNAVAILABLE_CODES = new Set<number>([
  types.responseErrorCodes.unavailableException,
  types.responseErrorCodes.overloaded,
  types.responseErrorCodes.isBootstrapping,
  types.responseErrorCodes.truncateError,
  types.responseErrorCodes.writeTimeout,
  types.responseErrorCodes.readTimeout,
  types.responseErrorCodes.readFailure,
  types.responseErrorCodes.writeFailure,
]);

/**
 * A driver error that says the cluster cannot answer now (no host reachable,
 * a client-side timeout, a busy connection, or one of UNAVAILABLE_CODES)
 * becomes a StoreUnavailableError (RPCs answer Unavailable); anything else
 * is returned as it is.
 */
export function unavailableOr(err: unknown, where: string): unknown {
  const unavailable =
    err instanceof errors.NoHostAvailableError ||
    err instanceof errors.OperationTimedOutError ||
    err instanceof errors.BusyConnectionError ||
    (err instanceof errors.ResponseError && UNAVAILABLE_CODES.has(err.code));
  return unavailable
    ? new StoreUnavailableError("cassandra", `Cassandra at ${where} is unavailable: ${(err as Error).message}`, {
        cause: err,
      })
    : err;
}

/** The cassandra-driver options for a parsed URL. */
export function cassandraClientOptions(config: CassandraConfig, opts: CassandraClientOptions = {}): ClientOptions {
  if (config.contactPoints.length === 0) throw new StoreUrlError("a Cassandra URL needs at least one contact point");
  const ports = new Set(config.contactPoints.map((h) => /:(\d+)$/.exec(h)?.[1]).filter((p): p is string => !!p));
  const options: ClientOptions = {
    contactPoints: [...config.contactPoints],
    localDataCenter: config.localDataCenter,
    ...(opts.noKeyspace ? {} : { keyspace: config.keyspace }),
    policies: {
      // Token-aware: a prepared statement's routing key (its partition key)
      // picks a replica as coordinator; DC-aware: only the local DC.
      loadBalancing: new policies.loadBalancing.TokenAwarePolicy(
        new policies.loadBalancing.DCAwareRoundRobinPolicy(config.localDataCenter),
      ),
      // A node that went away is tried again after 0.5 s, 1 s, 2 s … then every 10 s at
      // most (the driver's default backs off to 10 minutes): the bundle recovers by itself.
      reconnection: new policies.reconnection.ExponentialReconnectionPolicy(500, 10_000, false),
    },
    queryOptions: { consistency: consistencyCode(config.consistency), prepare: true },
    encoding: { useBigIntAsLong: true, useBigIntAsVarint: true },
    // A port given on one host (cassandra://a,b:9043/ks) applies to all.
    ...(ports.size === 1 ? { protocolOptions: { port: Number([...ports][0]) } } : {}),
    socketOptions: {
      ...(opts.connectTimeoutMs ? { connectTimeout: opts.connectTimeoutMs } : {}),
      ...(opts.readTimeoutMs ? { readTimeout: opts.readTimeoutMs } : {}),
    },
  };
  if (config.username) {
    options.credentials = { username: config.username, password: config.password ?? "" };
  }
  return options;
}

/** Per-call options the wide runtime passes. */
export interface CassandraCallOptions {
  readonly consistency?: Consistency;
  readonly fetchSize?: number;
  readonly pageState?: string;
  /** Counter updates and deletes of counters are not idempotent. */
  readonly idempotent?: boolean;
}

export class CassandraClient {
  /** The URL without its password, for logs. */
  readonly url: string;
  readonly consistency: Consistency;

  private constructor(
    readonly driver: Client,
    readonly config: CassandraConfig,
  ) {
    this.url = redact(
      `cassandra://${config.username ? `${config.username}:x@` : ""}${config.contactPoints.join(",")}/${config.keyspace}`,
    );
    this.consistency = config.consistency as Consistency;
  }

  get keyspace(): string {
    return this.config.keyspace;
  }

  /** Connects to `cassandra://host1,host2:9042/keyspace?dc=…&consistency=…`. */
  static async open(url: string | CassandraConfig, opts: CassandraClientOptions = {}): Promise<CassandraClient> {
    const config = typeof url === "string" ? parseCassandraUrl(url) : url;
    const driver = new Client(cassandraClientOptions(config, opts));
    try {
      await driver.connect();
    } catch (err) {
      await driver.shutdown().catch(() => undefined);
      throw new Error(
        `cannot connect to Cassandra at ${config.contactPoints.join(",")} (dc ${config.localDataCenter}, keyspace ${config.keyspace}): ${(err as Error).message}`,
        { cause: err },
      );
    }
    return new CassandraClient(driver, config);
  }

  /** Runs a prepared statement. */
  execute(cql: string, params: readonly unknown[], opts: CassandraCallOptions = {}): Promise<types.ResultSet> {
    const q: QueryOptions = { prepare: true };
    if (opts.consistency) q.consistency = consistencyCode(opts.consistency);
    if (opts.fetchSize !== undefined) q.fetchSize = opts.fetchSize;
    if (opts.pageState !== undefined) q.pageState = opts.pageState;
    if (opts.idempotent !== undefined) q.isIdempotent = opts.idempotent;
    // Within a call, a request gives up at the call's deadline (platform/deadline.ts).
    const left = msLeft();
    if (left !== undefined) q.readTimeout = left;
    return this.driver.execute(cql, params as unknown[], q).catch((err: unknown) => {
      throw unavailableOr(err, this.where);
    });
  }

  /** Runs unprepared CQL (DDL). */
  async run(cql: string): Promise<void> {
    await this.driver.execute(cql, [], { prepare: false }).catch((err: unknown) => {
      throw unavailableOr(err, this.where);
    });
  }

  /** The contact points, for messages. */
  private get where(): string {
    return this.config.contactPoints.join(",");
  }

  async close(): Promise<void> {
    await this.driver.shutdown();
  }
}

/** The replication a URL asks for: `rf` replicas (default 3) in its local data center. */
export function urlReplication(config: CassandraConfig): Replication {
  return {
    class: "NetworkTopologyStrategy",
    dataCenters: { [config.localDataCenter]: config.replicationFactor ?? DEFAULT_REPLICATION_FACTOR },
  };
}

/**
 * Creates the URL's keyspace if it does not exist (connects without a
 * keyspace), with `replication` or else what the URL asks for (urlReplication).
 */
export async function ensureKeyspace(url: string | CassandraConfig, replication?: Replication): Promise<void> {
  const config = typeof url === "string" ? parseCassandraUrl(url) : url;
  replication ??= urlReplication(config);
  const admin = await CassandraClient.open(config, { noKeyspace: true });
  try {
    await admin.run(createKeyspaceCql(config.keyspace, replication));
  } finally {
    await admin.close();
  }
}
