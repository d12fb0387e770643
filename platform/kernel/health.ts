/**
 * The gRPC health service (grpc.health.v1.Health), for Kubernetes gRPC
 * probes, grpc-health-probe and load balancers. A bundle is SERVING once it
 * is ready (migrated, services and consumers started: the same moment as
 * /readyz) and NOT_SERVING while it starts and while it drains. The bundle
 * answers it in every state, before RPCs are accepted and after they are
 * refused.
 *
 * Service names: "" is the whole bundle; each Connect service it serves
 * ("orbit.user.v1.UserService") has the bundle's status. Check answers
 * NOT_FOUND for any other name; Watch answers SERVICE_UNKNOWN, then sends
 * the status again whenever it changes, and ends once the bundle drains (so
 * the stream does not hold the shutdown).
 */
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";

export type ServingState = "starting" | "ready" | "draining" | "stopped";

export interface HealthSource {
  readonly state: ServingState;
  /** Calls `fn` on every change of state; returns a function that stops it. */
  onStateChange(fn: () => void): () => void;
}

export function healthService(source: HealthSource, services: readonly string[]): ServiceImpl<typeof Health> {
  const known = new Set(["", ...services]);
  const status = () => (source.state === "ready" ? Status.SERVING : Status.NOT_SERVING);

  return {
    check(req) {
      if (!known.has(req.service)) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
      return { status: status() };
    },

    list() {
      const s = status();
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
          const now = status();
          if (now !== last) {
            yield { status: now };
            last = now;
          }
          if (source.state === "draining" || source.state === "stopped" || ctx.signal.aborted) return;
          if (version === seen) await new Promise<void>((resolve) => (wake = resolve));
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
