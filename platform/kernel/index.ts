/**
 * The service kernel: services declared as data with one build function,
 * resolved into a bundle that serves them on one port, connects them with
 * typed clients and gives them the platform parts.
 */
export type { ServiceContext, PlatformViews } from "./context.js";
export type {
  BuiltService,
  ClientOf,
  GroupDef,
  Handlers,
  ModuleDef,
  ServiceDef,
  ServiceInit,
  TokenCapability,
} from "./service.js";
export { defineService, defineGroup } from "./service.js";
export type { Job } from "./jobs.js";
export type { Route, RouteCall } from "./routes.js";
export { CLOSE, type SocketConnection, type SocketEndpoint } from "./sockets.js";
export type { EdgeAuth } from "./edge.js";
export { setting, type Setting, type SettingsSpec, type SettingValues } from "../config/settings.js";
export { Registry, RegistryError, UnknownServiceError, type Resolution } from "./registry.js";
export { Bundle, type BundleOptions, type BundleState, type ServiceSummary, type StopResult } from "./bundle.js";
export type { PartHost, PlatformPart, OpenParts } from "./parts/index.js";
export { runMigrations, type MigrateFn, type MigrateOptions, type MigrateResult } from "./migrate.js";
export { callScope, currentCall, detached, requireService, requireUser, type CallScope } from "../rpc/call-scope.js";
export type { Identity, TokenVerifier } from "../rpc/identity.js";
export type { ServiceEvents } from "../events/service-events.js";
