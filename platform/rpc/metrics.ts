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
 * connect, grpc, grpc-web or in-process; `target` is remote (calls to a
 * co-located service are counted once, on the server side, with protocol
 * in-process).
 * The per-call series live in series.ts (cheap to update); the registry
 * also carries the standard process metrics when asked.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import { Gauge, Registry, collectDefaultMetrics, type Metric } from "prom-client";
import { LabeledCounter, LabeledHistogram, type CounterSeries, type HistogramSeries } from "./series.js";

const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Where one method's calls are counted, from one side (server or client). */
export class MethodMetrics {
  private readonly counts = new Map<string, CounterSeries>();
  private readonly latency: HistogramSeries;
  private lastVia = "";
  private lastCode = "";
  private last: CounterSeries | undefined;

  constructor(
    private readonly counter: LabeledCounter,
    histogram: LabeledHistogram,
    private readonly labels: Record<string, string>,
    private readonly kind: string,
  ) {
    const key = Object.values(labels).join("|");
    this.latency = histogram.at(key, () => ({ ...labels }));
  }

  /** Records one call: `via` is the protocol (server side) or target (client side). */
  record(via: string, code: string, seconds: number): void {
    this.latency.observe(seconds);
    if (this.last && via === this.lastVia && code === this.lastCode) {
      this.last.value++;
      return;
    }
    const key = `${via}|${code}`;
    let c = this.counts.get(key);
    if (!c) {
      c = this.counter.at(`${Object.values(this.labels).join("|")}|${key}`, () => ({
        ...this.labels,
        [this.kind]: via,
        code,
      }));
      this.counts.set(key, c);
    }
    c.value++;
    this.last = c;
    this.lastVia = via;
    this.lastCode = code;
  }
}

export class RpcMetrics {
  readonly registry: Registry;
  private readonly serverHandled = new LabeledCounter(
    "orbit_rpc_server_handled_total",
    "RPCs served, by method, protocol and result code.",
  );
  private readonly serverSeconds = new LabeledHistogram(
    "orbit_rpc_server_handling_seconds",
    "Time to serve an RPC (streams: until the stream ends).",
    LATENCY_BUCKETS,
  );
  private readonly clientHandled = new LabeledCounter(
    "orbit_rpc_client_handled_total",
    "RPCs made to services in other processes, by method, target and result code.",
  );
  private readonly clientSeconds = new LabeledHistogram(
    "orbit_rpc_client_handling_seconds",
    "Time an RPC to another service took, as the caller saw it.",
    LATENCY_BUCKETS,
  );
  private readonly circuitOpen: Gauge<"peer">;
  private readonly servers = new Map<DescMethod, MethodMetrics>();
  private readonly clients = new Map<DescMethod, MethodMetrics>();

  constructor(opts: { registry?: Registry; processMetrics?: boolean } = {}) {
    this.registry = opts.registry ?? new Registry();
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
    for (const m of [this.serverHandled, this.serverSeconds, this.clientHandled, this.clientSeconds]) {
      this.registry.registerMetric(m as unknown as Metric);
    }
    this.circuitOpen = new Gauge({
      name: "orbit_rpc_peer_circuit_open",
      help: "1 while the circuit breaker of a peer is open (calls fail fast).",
      labelNames: ["peer"],
      registers: [this.registry],
    });
  }

  /** The server-side metrics of a method (record with the protocol). */
  server(method: DescMethod): MethodMetrics {
    return this.method(this.servers, method, this.serverHandled, this.serverSeconds, "protocol");
  }

  /** The client-side metrics of a method (record with the target). */
  client(method: DescMethod): MethodMetrics {
    return this.method(this.clients, method, this.clientHandled, this.clientSeconds, "target");
  }

  circuit(peer: string, open: boolean): void {
    this.circuitOpen.set({ peer }, open ? 1 : 0);
  }

  private method(
    cache: Map<DescMethod, MethodMetrics>,
    method: DescMethod,
    counter: LabeledCounter,
    histogram: LabeledHistogram,
    kind: string,
  ): MethodMetrics {
    let m = cache.get(method);
    if (!m) {
      m = new MethodMetrics(counter, histogram, { service: method.parent.typeName, method: method.name }, kind);
      cache.set(method, m);
    }
    return m;
  }
}
