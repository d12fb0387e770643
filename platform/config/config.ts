/**
 * The configuration of one `orbit bundle` process, after every layer has
 * been applied (see load.ts for the precedence: flags > ORBIT_* environment
 * variables > config file > defaults).
 */
import type { LogLevel } from "../log.js";

export interface OrbitConfig {
  /** Services and groups to run, as named in services/registry.ts. */
  readonly services: readonly string[];
  /** Interface to listen on. */
  readonly host: string;
  /** Port for Connect, gRPC, gRPC-Web, HTTP routes, /healthz and /readyz (0 = any free port). */
  readonly port: number;
  /**
   * Port of the admin listener (operator endpoints: /metrics, /healthz, /readyz), on
   * `adminHost`; unset: no admin listener (0 = any free port). docs/operations.md.
   */
  readonly adminPort?: number;
  /** Interface of the admin listener (loopback unless an operator opens it up). */
  readonly adminHost: string;
  /**
   * Bearer token that lets a scraper read /metrics on the service port. Unset: /metrics is not
   * served on the service port at all (only on the admin port).
   */
  readonly metricsToken?: string;
  /** Where the embedded SQLite store lives (`<dataDir>/orbit.db`) when no MySQL URL is given. */
  readonly dataDir: string;
  /** MySQL/MariaDB URL (`mysql://user:pass@host:3306/db`); replaces the embedded SQLite store. */
  readonly mysql?: string;
  /** Cassandra URL for wide tables (`cassandra://host1,host2:9042/keyspace?dc=dc1`); passed to services. */
  readonly cassandra?: string;
  /** Redis URL of the push broker (`redis://host:6379`): push updates reach devices connected to other bundles. */
  readonly redis?: string;
  /** Services that run in other processes: Orbit service name → base URL. */
  readonly peers: Readonly<Record<string, string>>;
  /** Shared secret that signs identity between bundle processes. Random per process if unset. */
  readonly clusterSecret?: string;
  /**
   * Node id (0..1023) of the id generator. Unset: the bundle leases a free one from its SQL
   * store (platform/node-lease.ts). Given: used as is, and every process sharing the store
   * must have its own.
   */
  readonly nodeId?: number;
  /**
   * Worker processes sharing the port (`orbit bundle --workers N`, node:cluster). Unset: one
   * (cmd/commands/bundle.ts says why).
   */
  readonly workers?: number;
  readonly logLevel: LogLevel;
  /** Migrate the tables of the services that run, before serving. */
  readonly migrate: boolean;
  /** Let boot-time migrations apply destructive changes (drop, narrow, key change). */
  readonly allowDestructive: boolean;
  /** Events older than this many hours that every group has passed are deleted; 0 keeps all. */
  readonly eventRetentionHours: number;
  /** Start even if a newer binary already migrated the schema. */
  readonly allowNewerSchema: boolean;
  /** How long SIGTERM/SIGINT waits for in-flight calls and stop hooks. */
  readonly shutdownTimeoutMs: number;
  /** Deadline of a call to a peer (another process) that does not inherit or set one. */
  readonly rpcTimeoutMs: number;
  /**
   * Bearer tokens accepted without the user service: token → user id.
   * For development and tests only; the bundle warns when it is set.
   */
  readonly devTokens: Readonly<Record<string, string>>;
  /**
   * How many proxies in front of the bundle append to X-Forwarded-For; the
   * client address (login rate limits, logs) is read that many hops from the
   * right. 0: the socket's peer address, X-Forwarded-For ignored.
   */
  readonly trustProxy: number;
  /**
   * Web origins (scheme://host[:port]) whose pages may call the bundle from a
   * browser (CORS); "*" allows any (development only). Default: none.
   */
  readonly corsOrigins: readonly string[];
  /** Largest binary request message, in bytes (a method's proto may lower it). */
  readonly maxRequestBytes: number;
  /** Largest JSON request message, in bytes. */
  readonly maxJsonBytes: number;
  /** Deepest nesting of arrays and objects in a JSON request. */
  readonly maxJsonDepth: number;
  /** Longest deadline of a call served here; a call without one gets it (a method's proto may lower it). */
  readonly maxCallTimeoutMs: number;
  /** A connection must send a request's headers within this long (and again after each answer). */
  readonly headersTimeoutMs: number;
  /** A request's body must arrive within this long after its headers. */
  readonly bodyTimeoutMs: number;
  /** An HTTP/2 connection with no open stream for this long is closed; so is one that sends no SETTINGS within 5 s. */
  readonly idleTimeoutMs: number;
  /** Open connections allowed from one client address (0 = no cap). */
  readonly maxConnectionsPerAddress: number;
  /**
   * Values of the services' own settings (services/<name>: `settings`), by
   * service and setting name: `{ feed: { cap: 400 } }`. A setting not given
   * here takes the default its service declares.
   */
  readonly settings: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

export const DEFAULT_CONFIG: OrbitConfig = {
  services: ["all"],
  host: "0.0.0.0",
  port: 8080,
  adminHost: "127.0.0.1",
  dataDir: "./data",
  peers: {},
  logLevel: "info",
  migrate: true,
  allowDestructive: false,
  allowNewerSchema: false,
  eventRetentionHours: 168,
  shutdownTimeoutMs: 10_000,
  rpcTimeoutMs: 30_000,
  devTokens: {},
  trustProxy: 0,
  corsOrigins: [],
  maxRequestBytes: 16 * 1024 * 1024,
  maxJsonBytes: 1024 * 1024,
  maxJsonDepth: 64,
  maxCallTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  idleTimeoutMs: 120_000,
  maxConnectionsPerAddress: 256,
  settings: {},
};

export type ConfigKey = keyof OrbitConfig;

/** Where a setting came from. */
export type ConfigSource = "flag" | "env" | "file" | "default";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}
