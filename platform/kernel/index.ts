/**
 * The service kernel: services declared as data, resolved into a bundle that
 * serves them on one port and connects them with typed clients.
 */
export type { ServiceContext, BaseServiceContext, ContextExtensions } from "./context.js";
export type { ServiceDef, GroupDef, ModuleDef, RpcBinding, ServiceInit } from "./service.js";
export { defineService, defineGroup, implement } from "./service.js";
export { Registry, RegistryError, UnknownServiceError, type Resolution } from "./registry.js";
export { Bundle, type BundleOptions, type BundleState, type StopResult } from "./bundle.js";
export type { KernelPlugin, PluginHost } from "./plugin.js";
export { runMigrations, type MigrateFn, type MigrateOptions, type MigrateResult } from "./migrate.js";
export type { HttpRoute } from "../http/routes.js";
export { callScope, currentCall, detached, requireService, requireUser, type CallScope } from "../rpc/call-scope.js";
export type { Identity, TokenVerifier } from "../rpc/identity.js";
