/**
 * The kernel's own HTTP routes:
 *
 *   GET /healthz   200 while the process is alive (liveness)
 *   GET /readyz    200 once migrations ran, services and plugins (consumers)
 *                  started and every store probe answers (the Cassandra
 *                  store, when configured); 503 while starting, while
 *                  draining, and while a probed store is down (readiness)
 *   GET /metrics   Prometheus text format
 *
 * The service port serves /healthz and /readyz (load balancers need them) and
 * /metrics only with `--metrics-token` (a scraper sends `authorization: Bearer
 * <token>`; anyone else gets 401). The admin listener (`--admin-port`, loopback
 * by default) serves all three without a token. docs/operations.md says why.
 */
import { timingSafeEqual } from "node:crypto";
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

/** Where the routes are served. */
export type KernelRoutesFor =
  /** The service port: /metrics only for a caller with the metrics token (none: not served). */
  | { readonly listener: "service"; readonly metricsToken?: string }
  /** The admin listener: everything, no token. */
  | { readonly listener: "admin" };

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/i.exec(header ?? "");
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function kernelRoutes(bundle: KernelRouteSource, where: KernelRoutesFor = { listener: "admin" }): HttpRoute[] {
  const token = where.listener === "service" ? where.metricsToken : undefined;
  const metrics: HttpRoute[] =
    where.listener === "service" && token === undefined
      ? []
      : [
          {
            path: "/metrics",
            handle: async (req, res) => {
              if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
                res.writeHead(401, { "www-authenticate": 'Bearer realm="metrics"', "content-length": "0" });
                res.end();
                return;
              }
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
    ...metrics,
  ];
}
