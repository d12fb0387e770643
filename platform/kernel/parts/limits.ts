/**
 * The abuse limits' platform part: every service's `ctx.limits`
 * (platform/limits). One store per bundle: Redis when `--redis` is given
 * (limits shared by every bundle, falling back to this bundle's memory while
 * Redis cannot answer), else memory. The throttled counter is on the
 * bundle's metrics registry.
 */
import { Limits, type LimitsView } from "../../limits/limits.js";
import { RedisLimitStore } from "../../limits/redis-store.js";
import { MemoryLimitStore } from "../../limits/store.js";
import type { ServiceDef } from "../service.js";
import type { PartHost, PlatformPart } from "./index.js";

export type { LimitsView } from "../../limits/limits.js";

export interface LimitsPart extends PlatformPart<LimitsView> {
  readonly limits: Limits;
}

export async function openLimitsPart(host: PartHost): Promise<LimitsPart> {
  const log = host.log.child({ component: "limits" });
  const redis = host.config.redis ? new RedisLimitStore({ url: host.config.redis, log }) : undefined;
  const store = redis ?? new MemoryLimitStore();
  const limits = new Limits(store, log, host.metrics.registry);
  return {
    limits,
    view: (def: ServiceDef) => limits.view(def.name),
    // Readiness waits for the first connection to Redis (a bundle that cannot reach it serves with local limits).
    start: () => redis?.start() ?? Promise.resolve(),
    stop: () => store.close(),
  };
}
