/**
 * Every setting of `orbit bundle`, as one table: its flag, its environment
 * variable, its config-file key, its help text, its default and its parser.
 * CONFIG_FIELDS are the platform's own (OrbitConfig properties); each
 * service's declared settings add theirs (service-fields.ts). The CLI builds
 * its options from the fields, load.ts reads the environment and the file
 * with them, and docs/architecture.md lists them (settings-table.ts).
 */
import { MAX_TRUSTED_HOPS } from "../http/client-address.js";
import { corsOriginProblem } from "../http/cors.js";
import { LOG_LEVELS } from "../log.js";
import { parseCassandraUrl, parseMysqlUrl, StoreUrlError } from "../storage/open.js";
import type { ConfigKey, OrbitConfig } from "./config.js";
import { DEFAULT_CONFIG } from "./config.js";
import { boolean, httpUrl, integer, keyValues, list, oneOf, text, type Parser } from "./parse.js";

/** Another name a setting is still known by: its flag, variable and file key. */
export interface ConfigAlias {
  readonly key: string;
  readonly flag: string;
  readonly env: string;
}

export interface ConfigField {
  /** The config-file key (camelCase; the OrbitConfig property of a platform setting). */
  readonly key: string;
  /** Commander flag syntax, e.g. "--port <port>". */
  readonly flag: string;
  readonly env: string;
  readonly help: string;
  /** The default value (undefined: none). */
  readonly default: unknown;
  /** Shown instead of the default value in --help and the docs ("random per process"). */
  readonly defaultText?: string;
  /** The flag may be given several times (values are collected). */
  readonly repeatable?: boolean;
  readonly parse: Parser<unknown>;
  /** A service's own setting: its value goes to `config.settings[service][name]`. */
  readonly setting?: { readonly service: string; readonly name: string };
  /** Older names of the same setting, still accepted (not listed in --help). */
  readonly aliases?: readonly ConfigAlias[];
}

/** How the default is shown ("" when there is none to show). */
export function defaultText(f: ConfigField): string {
  if (f.defaultText !== undefined) return f.defaultText;
  const d = f.default;
  if (d === undefined) return "";
  if (Array.isArray(d)) return d.join(",");
  if (typeof d === "object" && d !== null) return Object.keys(d).length ? JSON.stringify(d) : "";
  return String(d);
}

/** The help text with its default, as --help prints it. */
export function helpLine(f: ConfigField): string {
  const d = defaultText(f);
  return d ? `${f.help} (default: ${d})` : f.help;
}

/** "--port <port>" → "--port"; "--no-migrate" stays. */
export function flagName(flag: string): string {
  return flag.split(/\s/)[0]!;
}

const SERVICE_NAME = /^[a-z][a-z0-9-]*$/;

const serviceName = text({
  nonEmpty: true,
  check: (v) =>
    SERVICE_NAME.test(v) ? undefined : `${JSON.stringify(v)} is not a service name (lowercase letters, digits, -)`,
});

/** The StoreUrlError message of a store URL that does not parse, or undefined. */
function storeUrlProblem(parse: () => unknown): string | undefined {
  try {
    parse();
    return undefined;
  } catch (err) {
    if (err instanceof StoreUrlError) return err.message;
    throw err;
  }
}

/** A platform setting: key and parser typed by OrbitConfig, default from DEFAULT_CONFIG. */
function field<K extends ConfigKey>(
  f: Omit<ConfigField, "key" | "parse" | "default"> & { readonly key: K; readonly parse: Parser<OrbitConfig[K]> },
): ConfigField {
  return { ...f, default: DEFAULT_CONFIG[f.key] };
}

export const CONFIG_FIELDS: readonly ConfigField[] = [
  field({
    key: "services",
    flag: "--services <names>",
    env: "ORBIT_SERVICES",
    help: "services and groups to run, comma-separated",
    parse: list(serviceName),
  }),
  field({
    key: "host",
    flag: "--host <host>",
    env: "ORBIT_HOST",
    help: "interface to listen on",
    parse: text({ nonEmpty: true }),
  }),
  field({
    key: "port",
    flag: "--port <port>",
    env: "ORBIT_PORT",
    help: `port for Connect, gRPC, gRPC-Web and HTTP; 0 picks a free one`,
    parse: integer(0, 65535),
  }),
  field({
    key: "adminPort",
    flag: "--admin-port <port>",
    env: "ORBIT_ADMIN_PORT",
    help: "admin listener for operators: /metrics, /healthz, /readyz (0 picks a free one)",
    defaultText: "off",
    parse: integer(0, 65535),
  }),
  field({
    key: "adminHost",
    flag: "--admin-host <host>",
    env: "ORBIT_ADMIN_HOST",
    help: "interface of the admin listener",
    parse: text({ nonEmpty: true }),
  }),
  field({
    key: "metricsToken",
    flag: "--metrics-token <token>",
    env: "ORBIT_METRICS_TOKEN",
    help: "serve /metrics on the service port to scrapers that send 'authorization: Bearer <token>' (prefer the env variable)",
    defaultText: "/metrics only on --admin-port",
    parse: text({
      nonEmpty: true,
      check: (v) => (v.length >= 16 ? undefined : "the metrics token must be at least 16 characters"),
    }),
  }),
  field({
    key: "dataDir",
    flag: "--data-dir <dir>",
    env: "ORBIT_DATA_DIR",
    help: `directory of the embedded SQLite store <dir>/orbit.db`,
    parse: text({ nonEmpty: true }),
  }),
  field({
    key: "mysql",
    flag: "--mysql <url>",
    env: "ORBIT_MYSQL",
    help: "MySQL/MariaDB store instead of SQLite, e.g. mysql://user:pass@host:3306/orbit",
    defaultText: "SQLite in --data-dir",
    parse: text({
      nonEmpty: true,
      check: (v) => {
        if (!/^(mysql|mariadb):\/\//.test(v)) return "expected a mysql://user:pass@host:3306/db URL";
        return storeUrlProblem(() => parseMysqlUrl(v));
      },
    }),
  }),
  field({
    key: "cassandra",
    flag: "--cassandra <url>",
    env: "ORBIT_CASSANDRA",
    help: "Cassandra/ScyllaDB for wide tables, e.g. cassandra://host1,host2:9042/orbit?dc=dc1&rf=3 (rf: replicas when the keyspace is created; default 3)",
    defaultText: "wide tables in the SQL store",
    parse: text({
      nonEmpty: true,
      check: (v) => storeUrlProblem(() => parseCassandraUrl(v)),
    }),
  }),
  field({
    key: "redis",
    flag: "--redis <url>",
    env: "ORBIT_REDIS",
    help: "Redis shared by the bundles, e.g. redis://10.0.0.5:6379: push updates made in one bundle reach devices connected to another, presence and abuse limits (sign-up, log-in) are shared",
    defaultText: "none (one bundle alone needs none)",
    parse: text({
      nonEmpty: true,
      check: (v) => (/^rediss?:\/\/[^/]/.test(v) ? undefined : "must be a redis:// or rediss:// URL"),
    }),
  }),
  field({
    key: "peers",
    flag: "--peer <name=url>",
    env: "ORBIT_PEERS",
    help: "a service that runs in another bundle, e.g. --peer post=http://10.0.0.7:8080 (repeatable)",
    repeatable: true,
    parse: keyValues(serviceName, httpUrl(), "peer"),
  }),
  field({
    key: "clusterSecret",
    flag: "--cluster-secret <secret>",
    env: "ORBIT_CLUSTER_SECRET",
    help: "secret shared by all bundles of a deployment; signs identity between them (prefer the env variable)",
    defaultText: "random per process",
    parse: text({
      nonEmpty: true,
      check: (v) => (v.length >= 16 ? undefined : "the cluster secret must be at least 16 characters"),
    }),
  }),
  field({
    key: "nodeId",
    flag: "--node-id <n>",
    env: "ORBIT_NODE_ID",
    help: "id-generator node, 0..1023, unique per process sharing a store (unset: a free one is leased from the SQL store)",
    defaultText: "leased",
    parse: integer(0, 1023),
  }),
  field({
    key: "workers",
    flag: "--workers <n>",
    env: "ORBIT_WORKERS",
    help: "worker processes sharing the port, each with its own node id; restarted when one dies (docs/architecture.md#workers)",
    defaultText: "1",
    parse: integer(1, 64),
  }),
  field({
    key: "logLevel",
    flag: "--log-level <level>",
    env: "ORBIT_LOG_LEVEL",
    help: LOG_LEVELS.join(", "),
    parse: oneOf(LOG_LEVELS),
  }),
  field({
    key: "migrate",
    flag: "--no-migrate",
    env: "ORBIT_MIGRATE",
    help: "do not migrate tables on boot",
    defaultText: "migrate",
    parse: boolean(),
  }),
  field({
    key: "allowDestructive",
    flag: "--allow-destructive",
    env: "ORBIT_ALLOW_DESTRUCTIVE",
    help: "let boot migrations drop or narrow columns and change keys",
    defaultText: "refuse",
    parse: boolean(),
  }),
  field({
    key: "eventRetentionHours",
    flag: "--event-retention <hours>",
    env: "ORBIT_EVENT_RETENTION_HOURS",
    help: "delete events older than this that every consumer group has passed; 0 keeps all",
    parse: integer(0, 100_000),
  }),
  field({
    key: "allowNewerSchema",
    flag: "--allow-newer-schema",
    env: "ORBIT_ALLOW_NEWER_SCHEMA",
    help: "start even if the database schema is newer than this binary's",
    defaultText: "refuse",
    parse: boolean(),
  }),
  field({
    key: "shutdownTimeoutMs",
    flag: "--shutdown-timeout <ms>",
    env: "ORBIT_SHUTDOWN_TIMEOUT_MS",
    help: "time SIGTERM/SIGINT gives in-flight calls and stop hooks",
    parse: integer(0, 3_600_000),
  }),
  field({
    key: "rpcTimeoutMs",
    flag: "--rpc-timeout <ms>",
    env: "ORBIT_RPC_TIMEOUT_MS",
    help: "deadline of a call to a peer that has none",
    parse: integer(1, 3_600_000),
  }),
  field({
    key: "trustProxy",
    flag: "--trust-proxy <hops>",
    env: "ORBIT_TRUST_PROXY",
    help: "proxies in front that append to X-Forwarded-For; the client address is read that many hops from the right, 0 uses the socket's peer",
    parse: integer(0, MAX_TRUSTED_HOPS),
  }),
  field({
    key: "maxRequestBytes",
    flag: "--max-request-bytes <bytes>",
    env: "ORBIT_MAX_REQUEST_BYTES",
    help: "largest binary request message; larger ones get resource_exhausted before they are read (a method's proto may lower it)",
    parse: integer(1024, 16 * 1024 * 1024),
  }),
  field({
    key: "maxJsonBytes",
    flag: "--max-json-bytes <bytes>",
    env: "ORBIT_MAX_JSON_BYTES",
    help: "largest JSON request message (checked while it arrives, before it is parsed)",
    parse: integer(1024, 16 * 1024 * 1024),
  }),
  field({
    key: "maxJsonDepth",
    flag: "--max-json-depth <levels>",
    env: "ORBIT_MAX_JSON_DEPTH",
    help: "deepest nesting of arrays and objects in a JSON request; deeper gets invalid_argument before parsing",
    parse: integer(4, 1000),
  }),
  field({
    key: "maxCallTimeoutMs",
    flag: "--max-call-timeout <ms>",
    env: "ORBIT_MAX_CALL_TIMEOUT_MS",
    help: "the longest deadline of a call served here: a call with none or a longer one gets this (a method's proto may lower it)",
    parse: integer(1, 3_600_000),
  }),
  field({
    key: "headersTimeoutMs",
    flag: "--headers-timeout <ms>",
    env: "ORBIT_HEADERS_TIMEOUT_MS",
    help: "a connection that does not send a request's headers within this long (also after each answer) is closed",
    parse: integer(100, 3_600_000),
  }),
  field({
    key: "bodyTimeoutMs",
    flag: "--body-timeout <ms>",
    env: "ORBIT_BODY_TIMEOUT_MS",
    help: "a request whose body has not arrived this long after its headers is cut off",
    parse: integer(100, 3_600_000),
  }),
  field({
    key: "idleTimeoutMs",
    flag: "--idle-timeout <ms>",
    env: "ORBIT_IDLE_TIMEOUT_MS",
    help: "an HTTP/2 connection without an open stream for this long is closed (GOAWAY)",
    parse: integer(100, 3_600_000),
  }),
  field({
    key: "maxConnectionsPerAddress",
    flag: "--max-connections-per-address <n>",
    env: "ORBIT_MAX_CONNECTIONS_PER_ADDRESS",
    help: "open connections allowed from one peer address; more are closed at once (0: no cap; raise it behind a proxy)",
    parse: integer(0, 1_000_000),
  }),
  field({
    key: "corsOrigins",
    flag: "--cors-origin <origin>",
    env: "ORBIT_CORS_ORIGINS",
    help: 'a web origin whose pages may call the bundle (CORS), e.g. https://app.example.com; "*" allows any, for development (repeatable)',
    repeatable: true,
    parse: list(text({ nonEmpty: true, check: corsOriginProblem })),
  }),
  field({
    key: "devTokens",
    flag: "--dev-token <token=userId>",
    env: "ORBIT_DEV_TOKENS",
    help: "accept a bearer token as a user without the user service; development and tests only (repeatable)",
    repeatable: true,
    parse: keyValues(text({ nonEmpty: true }), text({ nonEmpty: true }), "dev token"),
  }),
];

export function fieldFor(key: string): ConfigField {
  const f = CONFIG_FIELDS.find((x) => x.key === key);
  if (!f) throw new Error(`no config field ${key}`);
  return f;
}
