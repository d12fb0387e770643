/**
 * A bundle: the services chosen with `--services`, in one process, on one
 * port. `Bundle.start` resolves the services, opens the store, listens
 * (health only), migrates the services' tables, builds each service in
 * dependency order, runs start hooks and plugins, and then reports ready;
 * `stop` drains and tears down in the reverse order.
 */
import { join } from "node:path";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createServiceImplSpec,
  type Client,
  type MethodImplSpec,
  type ServiceImplSpec,
} from "@connectrpc/connect";
import type { OrbitConfig } from "../config/config.js";
import { createCors, type CorsHandler } from "../http/cors.js";
import { OrbitServer, type RequestHandler } from "../http/server.js";
import { RouteTable } from "../http/routes.js";
import { IdGenerator } from "../ids.js";
import { createLogger, type Logger } from "../log.js";
import { Authenticator } from "../rpc/authenticator.js";
import { ClusterSigner } from "../rpc/cluster-signer.js";
import { rejectAllTokens, staticTokens, type TokenVerifier } from "../rpc/identity.js";
import { guardCommits } from "../rpc/commit-guard.js";
import { createInProcessTransport } from "../rpc/inprocess-transport.js";
import { instrumentService } from "../rpc/instrument.js";
import { RpcMetrics } from "../rpc/metrics.js";
import type { SqlDb } from "../storage/driver.js";
import type { HealthResult } from "../storage/health.js";
import { openSqlStore, redact } from "../storage/open.js";
import type { TableSpec } from "../storage/schema.js";
import { ClientRouter } from "./clients.js";
import type { BaseServiceContext, ServiceContext } from "./context.js";
import { kernelRoutes } from "./kernel-routes.js";
import { kernelServices } from "./kernel-services.js";
import { runMigrations, type MigrateFn } from "./migrate.js";
import type { KernelPlugin } from "./plugin.js";
import { createRpcHandler, rpcError } from "./rpc-handler.js";
import type { Registry, Resolution } from "./registry.js";
import type { ServiceDef } from "./service.js";

export type BundleState = "starting" | "ready" | "draining" | "stopped";

export interface BundleOptions {
  readonly registry: Registry;
  readonly config: OrbitConfig;
  /** Default: JSON logs on stdout at config.logLevel. */
  readonly log?: Logger;
  readonly plugins?: readonly KernelPlugin[];
  /** Use this store instead of opening one from the config; the bundle does not close it. */
  readonly db?: SqlDb;
  /** Serve on config.host:config.port. Default true; false gives an in-process-only bundle. */
  readonly listen?: boolean;
  /** Overrides the token verifier a service or `devTokens` would provide. */
  readonly tokenVerifier?: TokenVerifier;
  /** Boot migrations. Default: migrations/index.ts. */
  readonly migrate?: MigrateFn;
}

export interface StopResult {
  /** Requests cut off because they outlived the shutdown deadline. */
  readonly forced: number;
  /** Stop hooks or plugin stops that failed or timed out. */
  readonly failures: number;
}

interface Built {
  readonly def: ServiceDef;
  readonly ctx: ServiceContext;
  started: boolean;
}

export class Bundle {
  private stateValue: BundleState = "starting";
  private urlValue: string | undefined;
  private server: OrbitServer | undefined;
  private stopping: Promise<StopResult> | undefined;
  private readonly built: Built[] = [];
  private readonly startedPlugins: KernelPlugin[] = [];
  private readonly specs = new Map<string, MethodImplSpec>();
  /** The same, by descriptor object (no string key to build per call). */
  private readonly byMethod = new Map<DescMethod, MethodImplSpec>();
  private readonly routes: RouteTable;
  private readonly clients: ClientRouter;
  private readonly ids: IdGenerator;
  private readonly lifetime = new AbortController();
  private readonly shutdownSignal = new AbortController();
  private readonly authenticator: Authenticator;
  private rpc: RequestHandler | undefined;
  /** gRPC health and reflection: served in every state, before `rpc` exists and while draining. */
  private readonly kernelRpc: RequestHandler;
  private readonly cors: CorsHandler;
  private readonly stateListeners = new Set<() => void>();

  readonly log: Logger;
  readonly metrics: RpcMetrics;
  readonly resolution: Resolution;
  readonly signer: ClusterSigner;

  private constructor(
    private readonly opts: BundleOptions,
    readonly db: SqlDb,
    resolution: Resolution,
    log: Logger,
  ) {
    const config = opts.config;
    this.log = log;
    this.resolution = resolution;
    this.metrics = new RpcMetrics({ processMetrics: opts.listen !== false });
    this.signer = config.clusterSecret ? new ClusterSigner(config.clusterSecret) : ClusterSigner.random();
    this.ids = new IdGenerator(config.nodeId);
    this.authenticator = new Authenticator(
      opts.tokenVerifier ?? (Object.keys(config.devTokens).length ? staticTokens(config.devTokens) : rejectAllTokens),
      this.signer,
    );
    this.routes = new RouteTable(log);
    for (const r of kernelRoutes(this)) this.routes.add(r, "kernel");
    this.cors = createCors(config.corsOrigins);
    this.kernelRpc = kernelServices({
      bundle: this,
      served: resolution.local.flatMap((s) => s.rpc.map((b) => b.service)),
      shutdownSignal: this.shutdownSignal.signal,
      next: (req, res) => (this.rpc ? this.rpc(req, res) : rpcError(req, res, "unavailable", "the bundle is starting")),
    });
    this.clients = new ClientRouter({
      registry: opts.registry,
      local: new Set(resolution.local.map((s) => s.name)),
      remote: resolution.remote,
      inProcess: createInProcessTransport({
        lookup: (m) => this.byMethod.get(m) ?? this.specs.get(methodKey(m)),
        shutdownSignal: this.shutdownSignal.signal,
        onInternalError: (err, m) =>
          log.error({ err, rpc: `/${methodKey(m)}` }, "in-process call: the response is not a valid message"),
      }),
      metrics: this.metrics,
      signer: this.signer,
      defaultTimeoutMs: config.rpcTimeoutMs,
      log,
    });
  }

  /** Starts a bundle; resolves once it is ready. Throws (after cleaning up) if any step fails. */
  static async start(opts: BundleOptions): Promise<Bundle> {
    const config = opts.config;
    const resolution = opts.registry.resolve(config.services, config.peers);
    const log = opts.log ?? createLogger({ level: config.logLevel });
    const storeUrl = config.mysql ?? `sqlite:${join(config.dataDir, "orbit.db")}`;
    const db = opts.db ?? openSqlStore(storeUrl);
    const bundle = new Bundle(opts, db, resolution, log);
    try {
      await bundle.boot(opts.db ? db.url : redact(storeUrl));
    } catch (err) {
      await bundle.stop().catch(() => undefined);
      throw err;
    }
    return bundle;
  }

  get state(): BundleState {
    return this.stateValue;
  }

  /** Calls `fn` whenever the state changes (gRPC health Watch); returns a function that stops it. */
  onStateChange(fn: () => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  private setState(state: BundleState): void {
    this.stateValue = state;
    for (const fn of [...this.stateListeners]) fn();
  }

  /** Base URL of the server (undefined when not listening). */
  get url(): string | undefined {
    return this.urlValue;
  }

  /** Names of the services running here, in start order. */
  get services(): readonly string[] {
    return this.resolution.local.map((s) => s.name);
  }

  /** Asks every started plugin's probes (each bounds and caches its own check). */
  async probe(): Promise<Record<string, HealthResult>> {
    const probes = this.startedPlugins.flatMap((p) => p.probes?.() ?? []);
    const results = await Promise.all(probes.map((p) => p.check()));
    return Object.fromEntries(probes.map((p, i) => [p.name, results[i]!]));
  }

  /** A typed client as seen from outside any service (tools, tests). */
  client<S extends DescService>(service: S): Client<S> {
    return this.clients.client(service);
  }

  /** Drains and stops; safe to call more than once. */
  stop(): Promise<StopResult> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async boot(store: string): Promise<void> {
    const { config, plugins = [] } = this.opts;
    const local = this.resolution.local;
    this.warnings();
    this.log.info(
      { services: local.map((s) => s.name), peers: Object.fromEntries(this.resolution.remote), store },
      "starting bundle",
    );

    if (this.opts.listen !== false) {
      this.server = new OrbitServer({
        handler: (req, res) => {
          if (this.cors(req, res)) return; // a CORS preflight, answered
          if (this.routes.handle(req, res)) return;
          this.kernelRpc(req, res); // gRPC health and reflection, else the services' RPCs
        },
        upgrade: (req, socket, head) => {
          if (this.stateValue !== "ready" || !this.routes.upgrade(req, socket, head)) {
            socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
          }
        },
        log: this.log,
      });
      const at = await this.server.listen(config.port, config.host);
      const host =
        config.host === "0.0.0.0" || config.host === "::"
          ? "localhost"
          : at.host.includes(":")
            ? `[${at.host}]`
            : at.host;
      this.urlValue = `http://${host}:${at.port}`;
      this.log.info({ url: this.urlValue }, `listening on ${this.urlValue} (not ready until migrated)`);
    }

    await this.migrate([...local.flatMap((s) => s.tables), ...plugins.flatMap((p) => p.tables ?? [])]);

    const host = { db: this.db, log: this.log, ids: this.ids, config, metrics: this.metrics, services: local };
    for (const p of plugins) {
      await p.setup?.(host);
      this.startedPlugins.push(p);
    }

    const deps = { log: this.log, metrics: this.metrics, authenticator: this.authenticator };
    const instrumented: ServiceImplSpec[] = [];
    for (const def of local) {
      const ctx = this.context(def, plugins);
      const built: Built = { def, ctx, started: false };
      this.built.push(built);
      if (def.tokenVerifier && !this.opts.tokenVerifier) this.authenticator.verifier = def.tokenVerifier(ctx);
      for (const b of def.rpc) {
        const spec = createServiceImplSpec(b.service, b.implement(ctx) as never);
        const inst = instrumentService(spec, deps);
        for (const m of Object.values(inst.methods)) {
          this.specs.set(methodKey(m.method), m);
          this.byMethod.set(m.method, m);
        }
        instrumented.push(inst);
      }
      for (const r of def.routes?.(ctx) ?? []) this.routes.add(r, def.name);
    }
    if (!this.opts.tokenVerifier && !Object.keys(config.devTokens).length && !local.some((d) => d.tokenVerifier)) {
      // The token check lives in a service on another bundle: ask it over the network.
      for (const name of this.resolution.remote.keys()) {
        const def = this.opts.registry.get(name);
        if (def?.kind === "service" && def.remoteTokenVerifier) {
          this.authenticator.verifier = def.remoteTokenVerifier((svc) => this.clients.client(svc));
          break;
        }
      }
    }
    if (this.server) {
      this.rpc = createRpcHandler({
        services: instrumented,
        state: () => this.stateValue,
        shutdownSignal: this.shutdownSignal.signal,
        trustProxy: config.trustProxy,
      });
    }

    for (const b of this.built) {
      await b.def.start?.(b.ctx);
      b.started = true;
    }
    for (const p of plugins) await p.start?.();

    this.setState("ready");
    this.log.info(
      { url: this.urlValue, services: local.map((s) => s.name) },
      this.urlValue ? `orbit is ready at ${this.urlValue}` : "orbit is ready (in-process only)",
    );
  }

  private async migrate(all: readonly TableSpec[]): Promise<void> {
    const tables = [...new Map(all.map((t) => [t.name, t])).values()];
    if (!this.opts.config.migrate) {
      this.log.warn({ tables: tables.length }, "not migrating (--no-migrate)");
      return;
    }
    const migrate = this.opts.migrate ?? runMigrations;
    const t0 = Date.now();
    const r = await migrate(this.db, tables, {
      allowDestructive: this.opts.config.allowDestructive,
      allowNewerSchema: this.opts.config.allowNewerSchema,
      // With --cassandra the wide tables live there (the wide store plugin migrates them).
      wideOnCassandra: this.opts.config.cassandra !== undefined,
      log: (line) => this.log.info({ migration: line }, line),
    });
    this.log.info(
      {
        tables: tables.length,
        applied: r.applied,
        upToDate: r.upToDate,
        lockWaitMs: r.lockWaitMs,
        ms: Date.now() - t0,
      },
      "migrations done",
    );
  }

  private context(def: ServiceDef, plugins: readonly KernelPlugin[]): ServiceContext {
    const base: BaseServiceContext = {
      service: def.name,
      // Writes for a call that already ended early (deadline, cancel, shutdown) never commit.
      db: guardCommits(this.db),
      log: this.log.child({ service: def.name }),
      ids: this.ids,
      config: this.opts.config,
      client: (service) => this.clients.client(service, def),
      signal: this.lifetime.signal,
    };
    const ctx: Record<string, unknown> = { ...base };
    for (const p of plugins) Object.assign(ctx, p.extendContext?.(def, base));
    return ctx as unknown as ServiceContext;
  }

  private warnings(): void {
    const { config } = this.opts;
    if (this.resolution.local.length === 0) this.log.warn("this bundle runs no services");
    if (Object.keys(config.devTokens).length && !this.opts.tokenVerifier) {
      this.log.warn("dev tokens are configured: bearer tokens are checked against a fixed list (never in production)");
    }
    if (this.resolution.remote.size && !config.clusterSecret) {
      this.log.warn(
        "peers are configured without a cluster secret (ORBIT_CLUSTER_SECRET): identity cannot be passed to them, " +
          "and calls that carry one will be refused",
      );
    }
    for (const p of this.resolution.unusedPeers) {
      const def = this.opts.registry.get(p);
      // A token verifier (the user service) is used by the kernel itself.
      if (def?.kind === "service" && def.remoteTokenVerifier) continue;
      this.log.warn({ peer: p }, `peer ${p} is given but no service here depends on it`);
    }
  }

  private async shutdown(): Promise<StopResult> {
    const timeoutMs = this.opts.config.shutdownTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    this.setState("draining");
    this.lifetime.abort(new ConnectError("the bundle is shutting down", Code.Unavailable));
    this.log.info({ inflight: this.server?.inflight ?? 0, timeoutMs }, "shutting down: draining");
    let failures = 0;
    const bounded = async (what: string, fn: () => unknown) => {
      const left = Math.max(deadline - Date.now(), 1_000);
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(fn),
          new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${left} ms`)), left))),
        ]);
      } catch (err) {
        failures++;
        this.log.error({ err }, `${what} failed`);
      } finally {
        clearTimeout(timer);
      }
    };

    // Handlers still running at the deadline see their signal abort with Unavailable.
    const abortTimer = setTimeout(
      () => this.shutdownSignal.abort(new ConnectError("the bundle is shutting down", Code.Unavailable)),
      timeoutMs,
    );
    const [drained] = await Promise.all([
      this.server?.shutdown(timeoutMs + 250) ?? Promise.resolve({ forced: 0 }),
      (async () => {
        for (const p of [...this.startedPlugins].reverse()) await bounded(`plugin ${p.name} drain`, () => p.drain?.());
      })(),
    ]);
    clearTimeout(abortTimer);
    this.shutdownSignal.abort(new ConnectError("the bundle is shutting down", Code.Unavailable));
    for (const p of [...this.startedPlugins].reverse()) await bounded(`plugin ${p.name} stop`, () => p.stop?.());
    for (const b of [...this.built].reverse()) {
      if (b.started && b.def.stop) await bounded(`stop hook of ${b.def.name}`, () => b.def.stop!(b.ctx));
    }
    if (!this.opts.db) await bounded("closing the store", () => this.db.close());
    this.setState("stopped");
    const result = { forced: drained.forced, failures };
    (result.forced || failures ? this.log.warn.bind(this.log) : this.log.info.bind(this.log))(result, "stopped");
    return result;
  }
}

function methodKey(m: DescMethod): string {
  return `${m.parent.typeName}/${m.name}`;
}
