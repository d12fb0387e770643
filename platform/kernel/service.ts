/**
 * A service, declared as data (the dskit/Mimir module habit): its name, the
 * Connect services it implements, the services it depends on, the tables it
 * owns (migrated on boot), the event topics it publishes and consumes, its
 * HTTP/WebSocket routes, and start/stop hooks. Groups (`all`, `social`) are
 * modules with no body: only a name and the modules they stand for.
 *
 *   export const post = defineService({
 *     name: "post",
 *     deps: ["user"],
 *     rpc: [implement(PostService, (ctx) => new PostHandlers(ctx))],
 *     tables: [PostRowTable, LikeRowTable],
 *     publishes: ["orbit.post.v1.PostCreated"],
 *   });
 */
import type { DescService } from "@bufbuild/protobuf";
import type { Client, ServiceImpl } from "@connectrpc/connect";
import type { HttpRoute } from "../http/routes.js";
import type { TokenVerifier } from "../rpc/identity.js";
import type { TableSpec } from "../storage/schema.js";
import type { ServiceContext } from "./context.js";

/** One Connect service a module implements, and how to build its handlers. */
export interface RpcBinding {
  readonly service: DescService;
  readonly implement: (ctx: ServiceContext) => object;
}

/** Binds a Connect service descriptor (gen/**\/*_pb.ts) to its handlers. */
export function implement<S extends DescService>(
  service: S,
  handlers: (ctx: ServiceContext) => ServiceImpl<S>,
): RpcBinding {
  return { service, implement: handlers };
}

export interface ServiceDef {
  readonly kind: "service";
  readonly name: string;
  readonly description: string;
  /** Services this one calls or needs started first. */
  readonly deps: readonly string[];
  readonly rpc: readonly RpcBinding[];
  readonly tables: readonly TableSpec[];
  /** Event topics (fully-qualified event message names) it publishes. */
  readonly publishes: readonly string[];
  /** Event topics it consumes. */
  readonly consumes: readonly string[];
  readonly routes?: (ctx: ServiceContext) => readonly HttpRoute[];
  /** The user service provides the bearer-token check of the whole bundle here. */
  readonly tokenVerifier?: (ctx: ServiceContext) => TokenVerifier;
  /**
   * The token check a bundle uses when this service runs elsewhere (`--peer`):
   * built from a typed client of any service, usually its own RPC.
   */
  readonly remoteTokenVerifier?: (client: <S extends DescService>(service: S) => Client<S>) => TokenVerifier;
  /** Runs after the service's dependencies have started, before the bundle is ready. */
  readonly start?: (ctx: ServiceContext) => void | Promise<void>;
  /** Runs on shutdown, after in-flight calls have drained, in reverse dependency order. */
  readonly stop?: (ctx: ServiceContext) => void | Promise<void>;
}

export interface GroupDef {
  readonly kind: "group";
  readonly name: string;
  readonly description: string;
  /** Services and groups the group stands for. */
  readonly deps: readonly string[];
}

export type ModuleDef = ServiceDef | GroupDef;

export type ServiceInit = Omit<
  ServiceDef,
  "kind" | "description" | "deps" | "rpc" | "tables" | "publishes" | "consumes"
> &
  Partial<Pick<ServiceDef, "description" | "deps" | "rpc" | "tables" | "publishes" | "consumes">>;

export const MODULE_NAME = /^[a-z][a-z0-9-]*$/;

export function defineService(init: ServiceInit): ServiceDef {
  checkName(init.name);
  return {
    ...init,
    kind: "service",
    description: init.description ?? "",
    deps: init.deps ?? [],
    rpc: init.rpc ?? [],
    tables: init.tables ?? [],
    publishes: init.publishes ?? [],
    consumes: init.consumes ?? [],
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
