/**
 * A bundle: the services chosen with `--services`, in one process, on one
 * port. `Bundle.start` resolves the services, opens the store, listens
 * (health only), migrates the services' tables, opens the platform parts,
 * builds each service in dependency order, starts consumers, parts and jobs,
 * and then reports ready; `stop` drains and tears down in the reverse order.
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
import { ConfigError, DEFAULT_CONFIG } from "../config/config.js";
import type { SettingsSpec } from "../config/settings.js";
import { createCors, type CorsHandler } from "../http/cors.js";
import { HttpMetrics } from "../http/metrics.js";
import { RouteTable, type HttpRoute } from "../http/routes.js";
import { OrbitServer, type RequestHandler } from "../http/server.js";
import { IdGenerator } from "../ids.js";
import { NodeLease, nodeLeaseHolder } from "../node-lease.js";
import { createLogger, silentLogger, type Logger } from "../log.js";
import { Authenticator } from "../rpc/authenticator.js";
import { ClusterSigner } from "../rpc/cluster-signer.js";
import { guardCommits } from "../rpc/commit-guard.js";
import type { TokenVerifier } from "../rpc/identity.js";
import { createInProcessTransport } from "../rpc/inprocess-transport.js";
import { instrumentService } from "../rpc/instrument.js";
import { RpcMetrics } from "../rpc/metrics.js";
import type { SqlDb } from "../storage/driver.js";
import { cachedProbe, type HealthProbe, type HealthResult } from "../storage/health.js";
import type { RequestLimitDefaults } from "../rpc/limits.js";
import { StoreEpisodes } from "../rpc/store-episodes.js";
import { openSqlStore, redact } from "../storage/open.js";
import type { TableSpec } from "../storage/schema.js";
import { ClientRouter } from "./clients.js";
import type { ServiceContext } from "./context.js";
import { pause, runJob } from "./jobs.js";
import { AdminListener } from "./admin.js";
import { kernelRoutes } from "./kernel-routes.js";
import { kernelServices } from "./kernel-services.js";
import { runMigrations, type MigrateFn } from "./migrate.js";
import { openParts, PART_TABLES, partsInStopOrder, viewsFor, type OpenParts } from "./parts/index.js";
import type { Registry, Resolution } from "./registry.js";
import { createRpcHandler, rpcError } from "./rpc-handler.js";
import { serveRoute } from "./routes.js";
import type { BuiltService, ServiceDef } from "./service.js";
import { resolveSettings } from "./settings.js";
import { SocketHub } from "./sockets.js";
import { SINGLE, WORKER_HEADER, type WorkerSlot } from "./workers.js";
import { chooseTokenVerifier, revocationConsumer, sweepNodeGroups, type TokenChoice } from "./tokens.js";

export type BundleState = "starting" | "ready" | "draining" | "stopped";

export interface BundleOptions {
  readonly registry: Registry;
  readonly config: OrbitConfig;
  /** Default: JSON logs on stdout at config.logLevel. */
  readonly log?: Logger;
  /** Use this store instead of opening one from the config; the bundle does not close it. */
  readonly db?: SqlDb;
  /** Serve on config.host:config.port. Default true; false gives an in-process-only bundle. */
  readonly listen?: boolean;
  /** Overrides the token verifier a service or `devTokens` would provide. */
  readonly tokenVerifier?: TokenVerifier;
  /** Boot migrations. Default: platform/migrate/index.ts. */
  readonly migrate?: MigrateFn;
  /** Build the services and stop there: no consumers, jobs or readiness (Bundle.describe). */
  readonly buildOnly?: boolean;
  /**
   * Told when the bundle can no longer serve safely and has begun to stop on its own (its
   * leased node id was taken by another process); `orbit bundle` exits non-zero.
   */
  readonly onFatal?: (err: Error) => void;
  /** TTL of the node id lease (no config.nodeId); default platform/node-lease.ts. Tests shorten it. */
  readonly nodeLeaseTtlMs?: number;
  /** Which worker of `orbit bundle --workers N` this is (platform/kernel/workers.ts); default the only one. */
  readonly worker?: WorkerSlot;
}

export interface StopResult {
  /** Requests cut off because they outlived the shutdown deadline. */
  readonly forced: number;
  /** Stop hooks, jobs or platform parts that failed or timed out. */
  readonly failures: number;
}

/** What a running service is made of, as `orbit services --json` and tests see it. */
export interface ServiceSummary {
  readonly name: string;
  /** Event types its consumers read (derived from the consumers `build` returned). */
  readonly consumes: readonly string[];
  readonly consumerGroups: readonly string[];
  readonly routes: readonly string[];
  readonly sockets: readonly string[];
  readonly jobs: readonly string[];
}

interface Running {
  readonly def: ServiceDef;
  readonly ctx: ServiceContext;
  built: AnyBuilt | undefined;
}

type AnyBuilt = BuiltService<any>; // what any service's build returns

/** Paths of the kernel's routes on either listener: no service may mount them. */
const ADMIN_PATHS = ["/healthz", "/readyz", "/metrics"];

/** How long shutdown waits for WebSocket clients to answer the close frame. */
const SOCKET_CLOSE_MS = 5_000;
/** How often a bundle drops the per-node token groups of ended node ids (platform/kernel/tokens.ts). */
const NODE_GROUP_SWEEP_MS = 60_000;

export class Bundle {
  private stateValue: BundleState = "starting";
  private urlValue: string | undefined;
  private adminUrlValue: string | undefined;
  private admin: AdminListener | undefined;
  private server: OrbitServer | undefined;
  private stopping: Promise<StopResult> | undefined;
  private partsValue: OpenParts | undefined;
  private readonly running: Running[] = [];
  private readonly jobs: Promise<void>[] = [];
  private readonly specs = new Map<string, MethodImplSpec>();
  /** The same, by descriptor object (no string key to build per call). */
  private readonly byMethod = new Map<DescMethod, MethodImplSpec>();
  private readonly kernelTable: RouteTable;
  private readonly serviceTable: RouteTable;
  private readonly clients: ClientRouter;
  /** The id generator: on config.nodeId, or on the node id leased at boot. */
  private ids: IdGenerator | undefined;
  private nodeLease: NodeLease | undefined;
  private readonly lifetime = new AbortController();
  private readonly shutdownSignal = new AbortController();
  private readonly httpMetrics: HttpMetrics;
  private sockets: SocketHub | undefined;
  private rpc: RequestHandler | undefined;
  /** gRPC health and reflection: served in every state, before `rpc` exists and while draining. */
  private readonly kernelRpc: RequestHandler;
  private readonly cors: CorsHandler;
  private readonly stateListeners = new Set<() => void>();

  readonly log: Logger;
  readonly metrics: RpcMetrics;
  /** Store outages, logged once per episode by every service's calls. */
  private readonly episodes: StoreEpisodes;
  /** The SQL store's probe for /readyz: its own connection, 1 s timeout, cached 500 ms. */
  private readonly sqlProbe: HealthProbe;
  private readonly limits: RequestLimitDefaults;
  readonly resolution: Resolution;
  readonly signer: ClusterSigner;
  readonly worker: WorkerSlot;

  private constructor(
    private readonly opts: BundleOptions,
    readonly db: SqlDb,
    resolution: Resolution,
    log: Logger,
  ) {
    const config = opts.config;
    this.log = log;
    this.resolution = resolution;
    this.worker = opts.worker ?? SINGLE;
    this.episodes = new StoreEpisodes(log);
    this.limits = {
      maxRequestBytes: config.maxRequestBytes,
      maxJsonBytes: config.maxJsonBytes,
      maxJsonDepth: config.maxJsonDepth,
      maxCallTimeoutMs: config.maxCallTimeoutMs,
    };
    this.sqlProbe = cachedProbe(
      db.dialect,
      async () => {
        const ping = (db as { ping?: (ms: number) => Promise<string> }).ping;
        if (ping) return ping.call(db, 1_000);
        await db.get("SELECT 1");
        return `${db.dialect} answers`;
      },
      {
        timeoutMs: 1_000,
        cacheMs: 500,
        onChange: (r) =>
          r.ok
            ? log.info({ store: db.dialect }, "SQL store probe: ok again")
            : log.warn({ detail: r.detail }, "SQL store probe failed: not ready"),
      },
    );
    this.metrics = new RpcMetrics({ processMetrics: opts.listen !== false });
    this.httpMetrics = new HttpMetrics(this.metrics.registry);
    this.signer = config.clusterSecret ? new ClusterSigner(config.clusterSecret) : ClusterSigner.random();
    if (config.nodeId !== undefined) this.ids = new IdGenerator(config.nodeId);
    this.kernelTable = new RouteTable(log);
    for (const r of kernelRoutes(this, { listener: "service", metricsToken: config.metricsToken })) {
      this.kernelTable.add(r, "kernel");
    }
    this.serviceTable = new RouteTable(log);
    this.cors = createCors(config.corsOrigins);
    this.kernelRpc = kernelServices({
      bundle: this,
      served: resolution.local.flatMap((s) => s.api as readonly DescService[]),
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
    for (const name of Object.keys(config.settings)) {
      if (opts.registry.get(name)?.kind !== "service") {
        throw new ConfigError(`settings are given for ${JSON.stringify(name)}, which is not a service`);
      }
    }
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

  /**
   * Builds every service of `registry` on a throwaway in-memory store,
   * without starting consumers or jobs, and reports what each is made of
   * (`orbit services`: what a service consumes is known once it is built).
   */
  static async describe(registry: Registry): Promise<ServiceSummary[]> {
    const db = openSqlStore("sqlite::memory:");
    try {
      const config = { ...DEFAULT_CONFIG, nodeId: 0, services: registry.services().map((s) => s.name) };
      const bundle = new Bundle(
        { registry, config, db, listen: false, buildOnly: true },
        db,
        registry.resolve(config.services),
        silentLogger(),
      );
      try {
        await bundle.boot(db.url);
        return bundle.summary();
      } finally {
        await bundle.stop();
      }
    } finally {
      await db.close();
    }
  }

  get state(): BundleState {
    return this.stateValue;
  }

  /** Base URL of the server (undefined when not listening). */
  /** The admin listener's base URL (`--admin-port`), once listening. */
  get adminUrl(): string | undefined {
    return this.adminUrlValue;
  }

  get url(): string | undefined {
    return this.urlValue;
  }

  /** Names of the services running here, in start order. */
  get services(): readonly string[] {
    return this.resolution.local.map((s) => s.name);
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

  /** Asks every platform part's probes (each bounds and caches its own check). */
  async probe(): Promise<Record<string, HealthResult>> {
    const parts = this.partsValue ? partsInStopOrder(this.partsValue) : [];
    const probes = [this.sqlProbe, ...parts.flatMap(([, p]) => p.probes?.() ?? [])];
    const results = await Promise.all(probes.map((p) => p.check()));
    return Object.fromEntries(probes.map((p, i) => [p.name, results[i]!]));
  }

  /** The platform parts (the event bus: `parts.events.bus`), once open. */
  get parts(): OpenParts {
    if (!this.partsValue) throw new Error("the bundle's platform parts are not open");
    return this.partsValue;
  }

  /** What each running service is made of (consumers, routes, sockets, jobs). */
  summary(): ServiceSummary[] {
    return this.running.map(({ def, built }) => ({
      name: def.name,
      consumes: [
        ...new Set(
          (built?.consumers ?? []).flatMap((c) => c.events.map((e) => (typeof e === "string" ? e : e.typeName))),
        ),
      ],
      consumerGroups: (built?.consumers ?? []).map((c) => c.group),
      routes: (built?.routes ?? []).map((r) => r.path),
      sockets: (built?.sockets ?? []).map((s) => s.path),
      jobs: (built?.jobs ?? []).map((j) => j.name),
    }));
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
    const { config } = this.opts;
    const local = this.resolution.local;
    this.warnings();
    this.log.info(
      { services: local.map((s) => s.name), peers: Object.fromEntries(this.resolution.remote), store },
      "starting bundle",
    );
    if (this.opts.listen !== false) await this.listen();

    await this.migrate([...local.flatMap((s) => s.tables), ...PART_TABLES]);
    const ids = await this.nodeIds();
    this.partsValue = await openParts({
      db: this.db,
      log: this.log,
      ids,
      config,
      metrics: this.metrics,
      services: local,
      worker: this.worker,
    });

    const contexts = new Map(local.map((def) => [def, this.context(def, this.partsValue!)] as const));
    const tokens = chooseTokenVerifier({
      given: this.opts.tokenVerifier,
      registry: this.opts.registry,
      local: contexts,
      remote: this.resolution.remote,
      devTokens: config.devTokens,
      client: (svc) => this.clients.client(svc),
      settingsOf: (def) =>
        resolveSettings(def.name, def.settings as SettingsSpec, config.settings[def.name]) as Record<string, unknown>,
    });
    this.log.info({ tokens: tokens.source }, `bearer tokens: ${tokens.source}`);
    const authenticator = new Authenticator(tokens.verifier, this.signer);
    const edge = { authenticator, log: this.log, trustProxy: config.trustProxy };
    const sockets = (this.sockets = new SocketHub({ ...edge, metrics: this.httpMetrics }));

    const instrumented: ServiceImplSpec[] = [];
    for (const [def, ctx] of contexts) {
      const run: Running = { def, ctx, built: undefined };
      this.running.push(run);
      const built = (run.built = await def.build(ctx));
      for (const spec of this.implementations(def, built)) {
        const inst = instrumentService(spec, {
          log: this.log,
          metrics: this.metrics,
          authenticator,
          limits: this.limits,
          episodes: this.episodes,
        });
        for (const m of Object.values(inst.methods)) {
          this.specs.set(methodKey(m.method), m);
          this.byMethod.set(m.method, m);
        }
        instrumented.push(inst);
      }
      const routeDeps = { ...edge, metrics: this.httpMetrics, shutdownSignal: this.shutdownSignal.signal };
      const mount = (route: HttpRoute) => {
        if (this.kernelTable.match(route.path) || ADMIN_PATHS.includes(route.path)) {
          throw new Error(`${def.name}: ${route.path} is the kernel's own route`);
        }
        this.serviceTable.add(route, def.name);
      };
      for (const r of built.routes ?? []) mount(serveRoute(r, def.name, routeDeps));
      for (const s of built.sockets ?? []) mount(sockets.route(s, def.name));
    }
    if (this.server) {
      this.rpc = createRpcHandler({
        services: instrumented,
        state: () => this.stateValue,
        shutdownSignal: this.shutdownSignal.signal,
        trustProxy: config.trustProxy,
        limits: this.limits,
      });
    }

    if (this.opts.buildOnly) return;
    const parts = this.partsValue;
    for (const { def, built } of this.running) parts.events.consume(def, built?.consumers ?? []);
    if (tokens.revocations) await this.consumeRevocations(tokens, ids.nodeId);
    for (const [, part] of partsInStopOrder(parts).reverse()) await part.start?.();
    for (const { ctx, built } of this.running) {
      for (const job of built?.jobs ?? []) this.jobs.push(runJob(job, this.lifetime.signal, ctx.log));
    }

    this.setState("ready");
    // With --workers the primary says "orbit is ready" once every worker is.
    const who = this.worker.count > 1 ? `worker ${this.worker.index}` : "orbit";
    this.log.info(
      { url: this.urlValue, services: local.map((s) => s.name) },
      this.urlValue ? `${who} is ready at ${this.urlValue}` : `${who} is ready (in-process only)`,
    );
  }

  /**
   * Sessions ended in any process are forgotten by this one's token cache: a consumer of its own
   * node id, after dropping the per-node groups of ended node ids (and then every minute).
   */
  private async consumeRevocations(tokens: TokenChoice, nodeId: number): Promise<void> {
    const r = tokens.revocations!;
    const bus = this.partsValue!.events.bus;
    const sweep = async (own: number | undefined) => {
      const dropped = await sweepNodeGroups(bus, this.db, r.group, own);
      if (dropped.length) this.log.info({ groups: dropped }, "consumer groups of ended node ids dropped");
    };
    const failed = (err: unknown) => this.log.warn({ err }, "sweeping per-node token groups failed");
    await sweep(nodeId).catch(failed);
    bus.consume(revocationConsumer(r, tokens.verifier, nodeId));
    const job = {
      name: "tokens.node-groups",
      async run(signal: AbortSignal) {
        while (!signal.aborted) {
          await pause(NODE_GROUP_SWEEP_MS, signal);
          if (!signal.aborted) await sweep(undefined).catch(failed);
        }
      },
    };
    this.jobs.push(runJob(job, this.lifetime.signal, this.log));
  }

  private async listen(): Promise<void> {
    const { config } = this.opts;
    const workerId = this.worker.count > 1 ? String(this.worker.index) : undefined;
    this.server = new OrbitServer({
      handler: (req, res) => {
        if (workerId) res.setHeader(WORKER_HEADER, workerId);
        if (this.cors(req, res)) return; // a CORS preflight, answered
        if (this.kernelTable.handle(req, res)) return;
        if (this.stateValue === "ready") {
          if (this.serviceTable.handle(req, res)) return;
        } else if (this.serviceTable.match((req.url ?? "/").split("?")[0]!)) {
          // A service's route, before the bundle is ready or while it drains.
          rpcError(
            req,
            res,
            "unavailable",
            this.stateValue === "starting" ? "the bundle is starting" : "the bundle is shutting down",
          );
          return;
        }
        this.kernelRpc(req, res); // gRPC health and reflection, else the services' RPCs (Unavailable unless ready)
      },
      upgrade: (req, socket, head) => {
        if (this.stateValue !== "ready") {
          socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        } else if (!this.serviceTable.upgrade(req, socket, head)) {
          socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        }
      },
      log: this.log,
      headersTimeoutMs: config.headersTimeoutMs,
      bodyTimeoutMs: config.bodyTimeoutMs,
      idleTimeoutMs: config.idleTimeoutMs,
      maxConnectionsPerAddress: config.maxConnectionsPerAddress,
      onCut: (reason, address) => {
        this.httpMetrics.connectionCut(reason);
        this.log.debug({ reason, address }, "connection cut");
      },
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
    if (config.adminPort !== undefined) {
      const table = new RouteTable(this.log);
      for (const r of kernelRoutes(this, { listener: "admin" })) table.add(r, "kernel");
      this.admin = new AdminListener(table, this.log, config);
      const a = await this.admin.listen(config.adminPort, config.adminHost);
      this.adminUrlValue = `http://${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
      this.log.info(
        { adminUrl: this.adminUrlValue },
        `admin endpoints (/metrics, /healthz, /readyz) at ${this.adminUrlValue}`,
      );
    } else if (config.metricsToken === undefined) {
      this.log.info("/metrics is not served: give --admin-port (or --metrics-token for the service port)");
    }
  }

  /** The Connect implementations of a built service, checked against its `api`. */
  private implementations(def: ServiceDef, built: AnyBuilt): ServiceImplSpec[] {
    const api = def.api as readonly DescService[];
    const rpc = (built.rpc ?? []) as readonly object[];
    if (rpc.length !== api.length) {
      throw new Error(
        `service ${def.name}: build returned ${rpc.length} rpc implementation(s) for its ${api.length} api service(s) ` +
          `(${api.map((s) => s.typeName).join(", ") || "none"})`,
      );
    }
    return api.map((service, i) => createServiceImplSpec(service, rpc[i] as never));
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
      // With --cassandra the wide tables live there (the wide part migrates them).
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

  private context(def: ServiceDef, parts: OpenParts): ServiceContext {
    return {
      service: def.name,
      // Writes for a call that already ended early (deadline, cancel, shutdown) never commit.
      db: guardCommits(this.db),
      log: this.log.child({ service: def.name }),
      ids: this.ids!,
      settings: resolveSettings(def.name, def.settings as SettingsSpec, this.opts.config.settings[def.name]),
      client: (service) => this.clients.client(service, def),
      signal: this.lifetime.signal,
      worker: this.worker,
      ...viewsFor(parts, def),
    };
  }

  /** The id generator: on --node-id if given, else on a node id leased from the SQL store. */
  private async nodeIds(): Promise<IdGenerator> {
    if (this.ids) {
      const nodeId = this.ids.nodeId;
      // Held as a lease too when nobody else holds it: other nodes then see when this one is gone.
      const held = await NodeLease.claimExact(this.db, nodeId, {
        log: this.log,
        ...(this.opts.nodeLeaseTtlMs !== undefined ? { ttlMs: this.opts.nodeLeaseTtlMs } : {}),
        onLost: (err) =>
          this.log.warn(
            { err, nodeId },
            `node id ${nodeId} (--node-id): another process claimed its lease after it expired; ids may collide`,
          ),
      });
      if (held) {
        this.nodeLease = held;
        held.start();
        this.ids = held.ids;
        this.log.info({ nodeId }, `node id ${nodeId} (--node-id; held as a lease so other nodes see when it stops)`);
        return held.ids;
      }
      const holder = await nodeLeaseHolder(this.db, nodeId);
      this.log.warn(
        { nodeId, holder },
        `node id ${nodeId} is also leased by ${holder ?? "another process"}, which shares this store: ids may collide; ` +
          "give every bundle of a store its own --node-id, or none (docs/operations.md#node-ids)",
      );
      return this.ids;
    }
    const lease = (this.nodeLease = await NodeLease.claim(this.db, {
      log: this.log,
      ...(this.opts.nodeLeaseTtlMs !== undefined ? { ttlMs: this.opts.nodeLeaseTtlMs } : {}),
      onLost: (err) => {
        // No id is made from here on (the generator refuses); stop before a call sees it as a bug.
        this.log.fatal({ err, nodeId: lease.nodeId }, `${err.message}: stopping the bundle`);
        void this.stop();
        this.opts.onFatal?.(err);
      },
    }));
    lease.start();
    this.log.info(
      { nodeId: lease.nodeId, owner: lease.owner, store: this.db.dialect },
      `node id ${lease.nodeId} (leased from the SQL store; no --node-id)`,
    );
    this.ids = lease.ids;
    return lease.ids;
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
      // The token verifier (the user service) is used by the kernel itself.
      if (this.opts.registry.tokenProvider()?.name === p) continue;
      this.log.warn({ peer: p }, `peer ${p} is given but no service here depends on it`);
    }
  }

  private async shutdown(): Promise<StopResult> {
    const timeoutMs = this.opts.config.shutdownTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    this.setState("draining");
    this.lifetime.abort(new ConnectError("the bundle is shutting down", Code.Unavailable));
    this.log.info(
      { inflight: this.server?.inflight ?? 0, sockets: this.sockets?.size ?? 0, timeoutMs },
      "shutting down: draining",
    );
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
    const parts = this.partsValue ? partsInStopOrder(this.partsValue) : [];

    // Handlers still running at the deadline see their signal abort with Unavailable.
    const abortTimer = setTimeout(
      () => this.shutdownSignal.abort(new ConnectError("the bundle is shutting down", Code.Unavailable)),
      timeoutMs,
    );
    // In-flight requests drain while sockets close, jobs return and consumers stop.
    const [drained] = await Promise.all([
      this.server?.shutdown(timeoutMs + 250) ?? Promise.resolve({ forced: 0 }),
      this.sockets?.closeAll(Math.min(timeoutMs, SOCKET_CLOSE_MS)),
      bounded("background jobs", () => Promise.all(this.jobs)),
      (async () => {
        for (const [name, p] of parts) await bounded(`platform part ${name} drain`, () => p.drain?.());
      })(),
    ]);
    clearTimeout(abortTimer);
    this.shutdownSignal.abort(new ConnectError("the bundle is shutting down", Code.Unavailable));
    for (const r of [...this.running].reverse()) {
      const stop = r.built?.stop;
      if (stop) await bounded(`stop hook of ${r.def.name}`, stop);
    }
    for (const [name, p] of parts) await bounded(`platform part ${name} stop`, () => p.stop?.());
    // The admin listener answers /readyz 503 while draining; it closes last, with the store.
    // The node id is free for the next claimer, whose ids start after the last one made here.
    if (this.nodeLease) await bounded("releasing the node id lease", () => this.nodeLease!.release());
    if (this.admin) await bounded("closing the admin listener", () => this.admin!.close());
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
