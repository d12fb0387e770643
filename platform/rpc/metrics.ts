/**
 * Prometheus metrics of the RPC layer, on a registry per bundle (served at
 * /metrics):
 *
 *   orbit_rpc_server_handled_total{service,method,protocol,code}   calls served
 *   orbit_rpc_server_handling_seconds{service,method}               their latency
 *   orbit_rpc_client_handled_total{service,method,target,code}     calls made to other services
 *   orbit_rpc_client_handling_seconds{service,method,target}       their latency
 *   orbit_rpc_peer_circuit_open{peer}                               1 while a peer's breaker is open
 *
 * `code` is "ok" or a Connect code name ("unavailable"); `protocol` is
 * connect, grpc, grpc-web or in-process; `target` is in-process or remote.
 * Label children are cached, so counting a call costs two map lookups.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Inc = { inc(): void };
type Observe = { observe(v: number): void };

export class RpcMetrics {
  readonly registry: Registry;
  private readonly serverHandled: Counter<"service" | "method" | "protocol" | "code">;
  private readonly serverSeconds: Histogram<"service" | "method">;
  private readonly clientHandled: Counter<"service" | "method" | "target" | "code">;
  private readonly clientSeconds: Histogram<"service" | "method" | "target">;
  private readonly circuitOpen: Gauge<"peer">;
  private readonly counters = new Map<string, Inc>();
  private readonly histograms = new Map<string, Observe>();

  constructor(opts: { registry?: Registry; processMetrics?: boolean } = {}) {
    this.registry = opts.registry ?? new Registry();
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.serverHandled = new Counter({
      name: "orbit_rpc_server_handled_total",
      help: "RPCs served, by method, protocol and result code.",
      labelNames: ["service", "method", "protocol", "code"],
      registers,
    });
    this.serverSeconds = new Histogram({
      name: "orbit_rpc_server_handling_seconds",
      help: "Time to serve an RPC (streams: until the stream ends).",
      labelNames: ["service", "method"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.clientHandled = new Counter({
      name: "orbit_rpc_client_handled_total",
      help: "RPCs made to other services, by method, target and result code.",
      labelNames: ["service", "method", "target", "code"],
      registers,
    });
    this.clientSeconds = new Histogram({
      name: "orbit_rpc_client_handling_seconds",
      help: "Time an RPC to another service took, as the caller saw it.",
      labelNames: ["service", "method", "target"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.circuitOpen = new Gauge({
      name: "orbit_rpc_peer_circuit_open",
      help: "1 while the circuit breaker of a peer is open (calls fail fast).",
      labelNames: ["peer"],
      registers,
    });
  }

  served(service: string, method: string, protocol: string, code: string, seconds: number): void {
    this.count(`s|${service}|${method}|${protocol}|${code}`, () =>
      this.serverHandled.labels({ service, method, protocol, code }),
    ).inc();
    this.observe(`s|${service}|${method}`, () => this.serverSeconds.labels({ service, method })).observe(seconds);
  }

  called(service: string, method: string, target: string, code: string, seconds: number): void {
    this.count(`c|${service}|${method}|${target}|${code}`, () =>
      this.clientHandled.labels({ service, method, target, code }),
    ).inc();
    this.observe(`c|${service}|${method}|${target}`, () =>
      this.clientSeconds.labels({ service, method, target }),
    ).observe(seconds);
  }

  circuit(peer: string, open: boolean): void {
    this.circuitOpen.set({ peer }, open ? 1 : 0);
  }

  private count(key: string, make: () => Inc): Inc {
    let c = this.counters.get(key);
    if (!c) this.counters.set(key, (c = make()));
    return c;
  }

  private observe(key: string, make: () => Observe): Observe {
    let h = this.histograms.get(key);
    if (!h) this.histograms.set(key, (h = make()));
    return h;
  }
}
