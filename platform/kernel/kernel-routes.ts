/**
 * The kernel's own HTTP routes:
 *
 *   GET /healthz   200 while the process is alive (liveness)
 *   GET /readyz    200 once migrations ran, services and plugins (consumers)
 *                  started; 503 while starting and while draining (readiness)
 *   GET /metrics   Prometheus text format
 */
import { sendJson } from "../http/json.js";
import type { HttpRoute } from "../http/routes.js";
import type { RpcMetrics } from "../rpc/metrics.js";

export interface KernelRouteSource {
  readonly state: string;
  readonly services: readonly string[];
  readonly metrics: RpcMetrics;
}

export function kernelRoutes(bundle: KernelRouteSource): HttpRoute[] {
  return [
    {
      path: "/healthz",
      handle: (_req, res) => sendJson(res, 200, { status: "ok" }),
    },
    {
      path: "/readyz",
      handle: (_req, res) => {
        const ready = bundle.state === "ready";
        sendJson(res, ready ? 200 : 503, { status: bundle.state, services: bundle.services });
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
