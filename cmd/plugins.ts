/**
 * The kernel plugins every `orbit bundle` process runs (platform/kernel/plugin.ts).
 * The event bus plugin (platform/events) goes here when it is ready.
 */
import { eventBusPlugin } from "../platform/events/plugin.js";
import type { KernelPlugin } from "../platform/kernel/plugin.js";

export function bundlePlugins(): KernelPlugin[] {
  return [eventBusPlugin()];
}
