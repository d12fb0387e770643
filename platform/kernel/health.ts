/**
 * The gRPC health service (grpc.health.v1.Health), for Kubernetes gRPC
 * probes, grpc-health-probe and load balancers. A bundle is SERVING by the
 * rule of /readyz: it is ready (migrated, services and consumers started) and
 * every store probe answers; NOT_SERVING while it starts, while it drains and
 * while a probed store is down. The bundle
 * answers it in every state, before RPCs are accepted and after they are
 * refused.
 *
 * Service names: "" is the whole bundle; each Connect service it serves
 * ("orbit.user.v1.UserService") has the bundle's status. Check answers
 * NOT_FOUND for any other name; Watch answers SERVICE_UNKNOWN, then sends
 * the status again whenever it changes (the bundle's state at once, the
 * store probes within PROBE_EVERY_MS), and ends once the bundle drains (so
 * the stream does not hold the shutdown).
 */
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import type { HealthResult } from "../storage/health.js";

export type ServingState = "starting" | "ready" | "draining" | "stopped";

export interface HealthSource {
  readonly state: ServingState;
  /** Calls `fn` on every change of state; returns a function that stops it. */
  onStateChange(fn: () => void): () => void;
  /** The store probes' answers (each bounds and caches its own check), as /readyz asks them. */
  probe(): Promise<Record<string, HealthResult>>;
}

/** How often a Watch stream asks the store probes again while the bundle is ready. */
const PROBE_EVERY_MS = 2_000;

export function healthService(source: HealthSource, services: readonly string[]): ServiceImpl<typeof Health> {
  const known = new Set(["", ...services]);
  const status = async (): Promise<Status> => {
    if (source.state !== "ready") return Status.NOT_SERVING;
    const checks = await source.probe();
    return Object.values(checks).every((c) => c.ok) ? Status.SERVING : Status.NOT_SERVING;
  };

  return {
    async check(req) {
      if (!known.has(req.service)) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
      return { status: await status() };
    },

    async list() {
      const s = await status();
      return { statuses: Object.fromEntries([...known].map((name) => [name, { status: s }])) };
    },

    async *watch(req, ctx: HandlerContext) {
      if (!known.has(req.service)) {
        yield { status: Status.SERVICE_UNKNOWN };
        return; // services do not appear later in a running bundle
      }
      // A change while this generator waits for its consumer is seen through `version`.
      let version = 0;
      let wake: (() => void) | undefined;
      const stop = source.onStateChange(() => {
        version++;
        wake?.();
      });
      const onAbort = () => wake?.();
      ctx.signal.addEventListener("abort", onAbort);
      try {
        let last: Status | undefined;
        for (;;) {
          const seen = version;
          const now = await status();
          if (now !== last) {
            yield { status: now };
            last = now;
          }
          if (source.state === "draining" || source.state === "stopped" || ctx.signal.aborted) return;
          if (version === seen) {
            // Wait for a change of state, or (while ready) the next look at the store probes.
            let timer: NodeJS.Timeout | undefined;
            await new Promise<void>((resolve) => {
              wake = resolve;
              if (source.state === "ready") timer = setTimeout(resolve, PROBE_EVERY_MS);
            });
            clearTimeout(timer);
          }
          wake = undefined;
        }
      } finally {
        stop();
        ctx.signal.removeEventListener("abort", onAbort);
      }
    },
  };
}

export { Health };
