/**
 * The kernel plugins every `orbit bundle` process runs (platform/kernel/plugin.ts):
 * the wide-table store (`ctx.wide`: Cassandra or the SQL store) and the event
 * bus (platform/events), which gives every service `ctx.events`.
 */
import { eventBusPlugin } from "../platform/events/plugin.js";
import { wideStorePlugin } from "../platform/storage/wide/plugin.js";
import type { KernelPlugin } from "../platform/kernel/plugin.js";

export function bundlePlugins(): KernelPlugin[] {
  return [wideStorePlugin(), eventBusPlugin()];
}
