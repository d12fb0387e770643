/**
 * Prometheus metrics of the services' HTTP routes and WebSocket endpoints,
 * on the bundle's registry (served at /metrics beside the RPC metrics):
 *
 *   orbit_http_requests_total{route,method,status}        requests served by a service route
 *   orbit_http_request_seconds{route}                     their latency (until the response ends)
 *   orbit_websocket_connections{endpoint}                 connections open now
 *   orbit_websocket_connections_total{endpoint,result}    upgrades: accepted, unauthenticated, auth_timeout, failed
 *   orbit_websocket_messages_received_total{endpoint}     messages received on accepted connections
 *   orbit_connections_cut_total{reason}                   connections or requests cut by a limit
 *                                                         (headers/body/idle/settings timeout, per-address cap)
 *
 * `route` and `endpoint` are the declared paths ("/media/*"), never the
 * requested ones, so the series stay few.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export type SocketResult = "accepted" | "unauthenticated" | "auth_timeout" | "failed";

export class HttpMetrics {
  private readonly requests: Counter<"route" | "method" | "status">;
  private readonly seconds: Histogram<"route">;
  private readonly open: Gauge<"endpoint">;
  private readonly upgrades: Counter<"endpoint" | "result">;
  private readonly received: Counter<"endpoint">;
  private readonly cuts: Counter<"reason">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: "orbit_http_requests_total",
      help: "Requests served by services' HTTP routes, by route, method and status.",
      labelNames: ["route", "method", "status"],
      registers,
    });
    this.seconds = new Histogram({
      name: "orbit_http_request_seconds",
      help: "Time to serve a request of a service's HTTP route (until the response ended).",
      labelNames: ["route"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.open = new Gauge({
      name: "orbit_websocket_connections",
      help: "WebSocket connections open now, by endpoint.",
      labelNames: ["endpoint"],
      registers,
    });
    this.upgrades = new Counter({
      name: "orbit_websocket_connections_total",
      help: "WebSocket upgrades by endpoint and result (accepted, unauthenticated, auth_timeout, failed).",
      labelNames: ["endpoint", "result"],
      registers,
    });
    this.cuts = new Counter({
      name: "orbit_connections_cut_total",
      help: "Connections or requests cut by a connection limit, by reason.",
      labelNames: ["reason"],
      registers,
    });
    this.received = new Counter({
      name: "orbit_websocket_messages_received_total",
      help: "Messages received on accepted WebSocket connections, by endpoint.",
      labelNames: ["endpoint"],
      registers,
    });
  }

  request(route: string, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, status: String(status) });
    this.seconds.observe({ route }, seconds);
  }

  socket(endpoint: string, result: SocketResult): void {
    this.upgrades.inc({ endpoint, result });
    if (result === "accepted") this.open.inc({ endpoint });
  }

  socketClosed(endpoint: string): void {
    this.open.dec({ endpoint });
  }

  /** Counts one received message of `endpoint` (bound once per connection: no label lookup per message). */
  messageCounter(endpoint: string): () => void {
    const child = this.received.labels({ endpoint });
    return () => child.inc();
  }

  connectionCut(reason: string): void {
    this.cuts.inc({ reason });
  }
}
