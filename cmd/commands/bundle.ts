/**
 * `orbit bundle`: runs a set of services in one process until SIGTERM or
 * SIGINT, then drains and exits 0. Exits 1 on failure, 2 on bad usage or
 * configuration, 3 (EXIT_REFUSED, as `orbit migrate`) when boot migrations
 * refuse the plan.
 */
import cluster from "node:cluster";
import type { Command } from "commander";
import {
  ConfigError,
  DEFAULT_CONFIG,
  loadConfig,
  type LoadedConfig,
  type OrbitConfig,
} from "../../platform/config/index.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { RegistryError, UnknownServiceError } from "../../platform/kernel/registry.js";
import { joinPrimary, supervise, workerSlot } from "../../platform/kernel/workers.js";
import { createLogger, type Logger } from "../../platform/log.js";
import { DestructiveChangeError, NewerSchemaError, UnsupportedChangeError } from "../../platform/migrate/index.js";
import { registry } from "../../services/registry.js";
import { EXIT_REFUSED } from "./migrate.js";
import { addConfigOptions, type Flags } from "../options.js";

const HELP_AFTER = `
Settings come from, highest precedence first: flags, ORBIT_* environment
variables, the JSON config file (--config or ORBIT_CONFIG; keys as in
docs/architecture.md, e.g. {"port": 9000, "peers": {"echo": "http://10.0.0.5:8080"}, "feedCap": 400}),
then defaults. The --<service>-… settings are the services' own.

A service named in --services pulls in the services it depends on, unless a
--peer says where they run. \`orbit services\` lists services and groups.

Examples:
  orbit bundle                                   # every service, SQLite in ./data, port ${DEFAULT_CONFIG.port}
  orbit bundle --services=relay --peer echo=http://10.0.0.5:8080
  ORBIT_CLUSTER_SECRET=… orbit bundle --services=echo --port 9001 --mysql mysql://root@127.0.0.1:3306/orbit

Endpoints on the port: Connect, gRPC and gRPC-Web (HTTP/1.1 and h2c),
/healthz, /readyz. /metrics: on the admin listener (--admin-port, loopback by
default, also /healthz and /readyz), or on the port with --metrics-token.
Operators: docs/operations.md.
Exit codes: 0 after a clean shutdown, 1 on failure (also when its leased node
id was lost: docs/operations.md), 2 on bad usage or
configuration, 3 when boot migrations are refused (a destructive change
without --allow-destructive, a database migrated by a newer binary without
--allow-newer-schema, or a change the store cannot make), as for \`orbit migrate\`.`;

export function register(program: Command): void {
  const cmd = program
    .command("bundle")
    .summary("run a set of services in one process")
    .description(
      "Run the chosen services in one process on one port. Services in the same process call each " +
        "other in-process; the others are reached over the network (--peer). Tables are migrated " +
        "before the bundle serves.",
    )
    .option("--config <file>", "JSON config file [env ORBIT_CONFIG]");
  const flagsOf = addConfigOptions(cmd, registry.configFields());
  cmd.addHelpText("after", HELP_AFTER);
  cmd.action(async (opts: Record<string, unknown>, command: Command) => {
    await run(flagsOf(command), opts.config as string | undefined);
  });
}

function usageError(message: string): never {
  process.stderr.write(`orbit bundle: ${message}\n`);
  process.exit(2);
}

async function run(flags: Flags, file: string | undefined): Promise<void> {
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig({ flags, env: process.env, file, fields: registry.configFields() });
  } catch (err) {
    if (err instanceof ConfigError) usageError(err.message);
    throw err;
  }
  const { config } = loaded;
  const log = createLogger({ level: config.logLevel });
  for (const w of loaded.warnings) log.warn(w);
  if (loaded.file) log.info({ file: loaded.file }, "read config file");

  const workers = workerCount(config, log);
  if (workers > 1 && cluster.isPrimary) {
    process.exit(await supervise({ count: workers, log, shutdownTimeoutMs: config.shutdownTimeoutMs }));
  }
  const worker = workers > 1 ? workerSlot() : undefined;
  const primary = worker ? joinPrimary(() => onStop()) : undefined;

  process.on("uncaughtException", (err) => {
    log.fatal({ err }, "uncaught exception");
    process.exit(1);
  });
  process.on("unhandledRejection", (err) => {
    log.fatal({ err }, "unhandled promise rejection");
    process.exit(1);
  });

  let bundle: Bundle | undefined;
  let signalled = false;
  const stop = () => {
    bundle!.stop().then(
      (r) => process.exit(r.failures ? 1 : 0),
      (err) => {
        log.fatal({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  // The primary asks a worker to drain (--workers): as a first signal, never as a second one.
  const onStop = () => {
    if (signalled) return;
    signalled = true;
    log.info("asked to stop by the primary");
    if (bundle) stop();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, "second signal: exiting at once");
      process.exit(1);
    }
    signalled = true;
    log.info({ signal }, `received ${signal}`);
    if (bundle) stop();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  try {
    bundle = await Bundle.start({
      registry,
      config,
      log: worker ? log.child({ worker: worker.index }) : log,
      ...(worker ? { worker } : {}),
      // The bundle is already stopping (its leased node id was lost): exit non-zero once it has.
      onFatal: () => {
        void (bundle?.stop() ?? Promise.resolve()).finally(() => process.exit(1));
      },
    });
  } catch (err) {
    if (err instanceof UnknownServiceError || err instanceof RegistryError || err instanceof ConfigError) {
      usageError(err.message);
    }
    if (
      err instanceof DestructiveChangeError ||
      err instanceof NewerSchemaError ||
      err instanceof UnsupportedChangeError
    ) {
      // Refused, not crashed: nothing was changed and a retry would be refused again.
      log.fatal({ err, refused: err.name }, `failed to start: ${err.message}`);
      process.stderr.write(`orbit bundle: boot migrations refused: ${err.message}\n`);
      process.exit(EXIT_REFUSED);
    }
    log.fatal({ err }, `failed to start: ${(err as Error).message}`);
    process.exit(1);
  }
  if (signalled) stop();
  else primary?.ready(bundle.url, bundle.adminUrl);
}

/**
 * How many workers: --workers, else one on every store for now. SQLite has one writer (its
 * writes already wait on one lock); MySQL is meant to default to one per core
 * (os.availableParallelism()) once a quiet run of `npm run bench -- feed --workers 2` shows the
 * gain: docs/architecture.md#workers.
 */
function workerCount(config: OrbitConfig, log: Logger): number {
  const asked = config.workers;
  const n = asked ?? 1;
  if (n === 1) return 1;
  if (config.nodeId !== undefined) {
    if (asked !== undefined) usageError("--workers above 1 needs leased node ids: drop --node-id");
    return 1;
  }
  let local: string[];
  try {
    local = registry.resolve(config.services, config.peers).local.map((s) => s.name);
  } catch (err) {
    if (err instanceof UnknownServiceError || err instanceof RegistryError) usageError(err.message);
    throw err;
  }
  if (local.includes("live")) {
    // RTMP ingest and its HLS/FLV output live in one process: a second worker would answer
    // players it has no stream for.
    if (asked !== undefined) {
      usageError("--workers above 1 cannot run the live service: run it in its own bundle (--peer live=URL)");
    }
    log.info("one worker: the live service runs here (RTMP ingest is per process)");
    return 1;
  }
  return n;
}
