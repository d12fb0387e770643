/**
 * A service is one unit: what it is, as data (name, deps, settings, tables,
 * the Connect services it serves, the events it publishes), and one `build`
 * function that wires it up and returns what runs (handlers, consumers, HTTP
 * routes, WebSocket endpoints, background jobs, a stop hook). State shared by
 * handlers and consumers lives in the build closure. Groups (`all`, `social`)
 * are modules with no body: a name and the modules they stand for (the
 * dskit/Mimir module habit).
 *
 *   export const feed = defineService({
 *     name: "feed",
 *     deps: ["graph", "post"],
 *     api: [FeedService],
 *     settings: { cap: setting.integer({ default: 400, min: 1, max: 100_000, help: "items kept per feed" }) },
 *     tables: [HomeFeedRowTable],
 *     build(ctx) {
 *       const writer = new FeedWriter(ctx, ctx.settings.cap);
 *       return { rpc: [{ getHomeFeed: … }], consumers: [fanoutConsumer(writer)] };
 *     },
 *   });
 *
 * The kernel derives what a service consumes from the consumers `build`
 * returns, builds services in dependency order, starts their consumers and
 * jobs, and stops everything in reverse (see bundle.ts).
 */
import type { DescMessage, DescService, Message } from "@bufbuild/protobuf";
import type { Client, ServiceImpl } from "@connectrpc/connect";
import type { SettingsSpec } from "../config/settings.js";
import { SETTING_NAME } from "../config/settings.js";
import type { ConsumerOptions } from "../events/consumer-options.js";
import type { TokenVerifier } from "../rpc/identity.js";
import type { TableSpec } from "../storage/schema.js";
import type { ServiceContext } from "./context.js";
import type { Job } from "./jobs.js";
import type { Route } from "./routes.js";
import type { SocketEndpoint } from "./sockets.js";

/** The handlers of each Connect service of `api`, in the same order. */
export type Handlers<Api extends readonly DescService[]> = {
  readonly [K in keyof Api]: Api[K] extends DescService ? ServiceImpl<Api[K]> : never;
};

/** What `build` returns: the running parts of a service. Everything is optional but `rpc` for an `api`. */
export type BuiltService<Api extends readonly DescService[] = readonly DescService[]> = (Api extends readonly []
  ? { readonly rpc?: readonly [] }
  : {
      /** The handlers of the services in `api`, same order; a missing method is a compile error. */
      readonly rpc: Handlers<Api>;
    }) & {
  /** Event consumers (consumer groups); the kernel starts them once every service is built. */
  readonly consumers?: readonly ConsumerOptions[];
  /** HTTP routes on the bundle's port (uploads, downloads, pages). */
  readonly routes?: readonly Route[];
  /** WebSocket endpoints (or raw HTTP/1.1 upgrades) on the bundle's port. */
  readonly sockets?: readonly SocketEndpoint[];
  /** Background loops, run until the bundle stops. */
  readonly jobs?: readonly Job[];
  /** Runs on shutdown, after in-flight requests, consumers and jobs are done, in reverse dependency order. */
  readonly stop?: () => void | Promise<void>;
};

/** A typed client of any service, for a token check that asks a peer. */
export type ClientOf = <S extends DescService>(service: S) => Client<S>;

/**
 * Bearer-token verification, the capability one service of the registry
 * provides (the user service): how to verify tokens when it runs in this
 * bundle, and when it runs in another (`--peer`).
 */
export interface TokenCapability {
  /** The service runs here: verify with its context (its store). */
  readonly local: (ctx: ServiceContext) => TokenVerifier;
  /**
   * The service runs elsewhere: ask it over the network. `settings` are the service's own, resolved
   * in this bundle as if it ran here (flags, ORBIT_* variables, the config file), e.g. its cache's TTL.
   */
  readonly remote: (client: ClientOf, settings: Readonly<Record<string, unknown>>) => TokenVerifier;
  /**
   * The event that ends a session, published in the transaction that ends it. Every bundle
   * (every worker) whose token check caches verifications consumes it in a group of its own,
   * `<group>.n<node id>` from the latest event, and calls the verifier's `forgetSession`
   * (platform/kernel/tokens.ts); the cache's TTL stays the bound when the bus is late.
   */
  readonly revocations?: TokenRevocations;
}

export interface TokenRevocations {
  /** Prefix of the per-node consumer groups (`<group>.n<node id>`). */
  readonly group: string;
  readonly events: readonly DescMessage[];
  /** The session (decimal id) an event ends, or undefined when it ends none. */
  readonly sessionOf: (message: Message) => string | undefined;
}

export interface ServiceInit<Api extends readonly DescService[], S extends SettingsSpec> {
  /** Lowercase letters, digits and "-"; the name `--services` and `--peer` use. */
  readonly name: string;
  readonly description?: string;
  /** Services this one calls (ctx.client) or needs started first. */
  readonly deps?: readonly string[];
  /** The Connect services it serves (gen/**\/*_pb.ts); `build` returns their handlers as `rpc`, same order. */
  readonly api?: Api;
  /** Its own settings (platform/config/settings.ts); `ctx.settings` is typed from them. */
  readonly settings?: S;
  /** Tables it owns (gen/**\/*_db.ts, *_wide.ts), migrated before it is built. */
  readonly tables?: readonly TableSpec[];
  /** Event types (gen/**\/events_pb.ts schemas) it publishes; publishing any other is refused. */
  readonly publishes?: readonly DescMessage[];
  /** This service checks the bundle's bearer tokens (at most one service of a registry). */
  readonly verifiesTokens?: TokenCapability;
  /**
   * Wires the service up; runs once per bundle, after the services it depends
   * on are built. It should not do I/O that outlives it: start work in
   * consumers and jobs. A service with nothing to run (only tables) has none.
   */
  build?(ctx: ServiceContext<S>): BuiltService<Api> | Promise<BuiltService<Api>>;
}

/** A service as the kernel holds it (`any` defaults: a registry holds services of every api and settings type). */
export interface ServiceDef<Api extends readonly DescService[] = any, S extends SettingsSpec = any> {
  readonly kind: "service";
  readonly name: string;
  readonly description: string;
  readonly deps: readonly string[];
  readonly api: Api;
  readonly settings: S;
  readonly tables: readonly TableSpec[];
  readonly publishes: readonly DescMessage[];
  readonly verifiesTokens: TokenCapability | undefined;
  build(ctx: ServiceContext<S>): BuiltService<Api> | Promise<BuiltService<Api>>;
}

export interface GroupDef {
  readonly kind: "group";
  readonly name: string;
  readonly description: string;
  /** Services and groups the group stands for. */
  readonly deps: readonly string[];
}

export type ModuleDef = ServiceDef | GroupDef;

export const MODULE_NAME = /^[a-z][a-z0-9-]*$/;

export function defineService<
  const Api extends readonly DescService[] = readonly [],
  S extends SettingsSpec = Record<never, never>,
>(init: ServiceInit<Api, S>): ServiceDef<Api, S> {
  checkName(init.name);
  for (const name of Object.keys(init.settings ?? {})) {
    if (!SETTING_NAME.test(name)) {
      throw new Error(`service ${init.name}: setting name ${JSON.stringify(name)} must be camelCase`);
    }
  }
  return {
    kind: "service",
    name: init.name,
    description: init.description ?? "",
    deps: init.deps ?? [],
    api: init.api ?? ([] as unknown as Api),
    settings: init.settings ?? ({} as S),
    tables: init.tables ?? [],
    publishes: init.publishes ?? [],
    verifiesTokens: init.verifiesTokens,
    build: (ctx) => init.build?.(ctx) ?? ({} as BuiltService<Api>),
  };
}

export function defineGroup(name: string, description: string, deps: readonly string[]): GroupDef {
  checkName(name);
  return { kind: "group", name, description, deps };
}

function checkName(name: string): void {
  if (!MODULE_NAME.test(name)) {
    throw new Error(`module name ${JSON.stringify(name)} must be lowercase letters, digits and "-"`);
  }
}
