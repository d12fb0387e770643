/**
 * The kernel's own HTTP routes:
 *
 *   GET /healthz   200 while the process is alive (liveness)
 *   GET /readyz    200 once migrations ran, services and plugins (consumers)
 *                  started and every store probe answers (the Cassandra
 *                  store, when configured); 503 while starting, while
 *                  draining, and while a probed store is down (readiness)
 *   GET /metrics   Prometheus text format
 */
import { sendJson } from "../http/json.js";
import type { HttpRoute } from "../http/routes.js";
import type { RpcMetrics } from "../rpc/metrics.js";
import type { HealthResult } from "../storage/health.js";

export interface KernelRouteSource {
  readonly state: string;
  readonly services: readonly string[];
  readonly metrics: RpcMetrics;
  /** The answers of the store probes (only asked once the bundle is ready). */
  probe(): Promise<Record<string, HealthResult>>;
}

export function kernelRoutes(bundle: KernelRouteSource): HttpRoute[] {
  return [
    {
      path: "/healthz",
      handle: (_req, res) => sendJson(res, 200, { status: "ok" }),
    },
    {
      path: "/readyz",
      handle: async (_req, res) => {
        const state = bundle.state;
        const checks = state === "ready" ? await bundle.probe() : {};
        const ready = state === "ready" && Object.values(checks).every((c) => c.ok);
        sendJson(res, ready ? 200 : 503, {
          status: state === "ready" && !ready ? "not_ready" : state,
          services: bundle.services,
          ...(Object.keys(checks).length ? { checks } : {}),
        });
      },
    },
    {
      path: "/metrics",
      handle: async (_req, res) => {
        const text = await bundle.metrics.registry.metrics();
        res.writeHead(200, {
          "content-type": bundle.metrics.registry.contentType,
          "content-length": String(Buffer.byteLength(text)),
          "cache-control": "no-store",
        });
        res.end(text);
      },
    },
  ];
}
