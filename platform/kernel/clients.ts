/**
 * Hands out typed clients. For a Connect service it finds the module that
 * implements it (services/registry.ts), then the transport: in-process if
 * that module runs in this bundle, else the remote transport of its peer
 * (one per peer URL, with its own circuit breaker). Every client goes
 * through the client transport that propagates the current call.
 */
import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import type { Logger } from "../log.js";
import { CircuitBreaker } from "../rpc/circuit-breaker.js";
import { createClientTransport } from "../rpc/client-transport.js";
import type { ClusterSigner } from "../rpc/cluster-signer.js";
import type { RpcMetrics } from "../rpc/metrics.js";
import type { InProcessTransport } from "../rpc/inprocess-transport.js";
import { createRemoteTransport } from "../rpc/remote-transport.js";
import type { RetryPolicy } from "../rpc/retry.js";
import type { Registry } from "./registry.js";
import type { ServiceDef } from "./service.js";

export interface ClientRouterOptions {
  readonly registry: Registry;
  /** Names of the services in this bundle. */
  readonly local: ReadonlySet<string>;
  /** Services elsewhere: name → base URL. */
  readonly remote: ReadonlyMap<string, string>;
  readonly inProcess: InProcessTransport;
  readonly metrics: RpcMetrics;
  readonly signer: ClusterSigner;
  readonly defaultTimeoutMs: number;
  readonly log: Logger;
  readonly retry?: RetryPolicy;
  readonly breaker?: { failureThreshold?: number; openMs?: number; maxOpenMs?: number };
}

export class ClientRouter {
  private inProcess: Transport | undefined;
  private readonly remotes = new Map<string, Transport>();
  private readonly clients = new Map<string, Client<DescService>>();

  constructor(private readonly opts: ClientRouterOptions) {}

  /**
   * A client of `service` for `caller` (undefined: code outside any service,
   * such as tests and tools, which may call any service).
   */
  client<S extends DescService>(service: S, caller?: ServiceDef): Client<S> {
    const owner = this.opts.registry.ownerOf(service);
    if (!owner) throw new Error(`no service in the registry implements ${service.typeName}`);
    if (caller && caller.name !== owner.name && !caller.deps.includes(owner.name)) {
      throw new Error(
        `service ${caller.name} asks for a client of ${service.typeName}, which ${owner.name} serves, ` +
          `but does not list "${owner.name}" in its deps`,
      );
    }
    const key = service.typeName;
    let c = this.clients.get(key);
    if (!c) {
      c = createClient(service, this.transportFor(owner.name, service.typeName));
      this.clients.set(key, c);
    }
    return c as Client<S>;
  }

  private transportFor(owner: string, typeName: string): Transport {
    const o = this.opts;
    if (o.local.has(owner)) {
      return (this.inProcess ??= createClientTransport({
        target: "in-process",
        transport: o.inProcess,
        metrics: o.metrics,
        signer: o.signer,
        defaultTimeoutMs: o.defaultTimeoutMs,
      }));
    }
    const url = o.remote.get(owner);
    if (url === undefined) {
      throw new Error(`${typeName} is served by ${owner}, which neither runs in this bundle nor is given with --peer`);
    }
    let t = this.remotes.get(url);
    if (!t) {
      const breaker = new CircuitBreaker({
        name: url,
        ...o.breaker,
        onStateChange: (state) => {
          o.metrics.circuit(url, state === "open");
          const level = state === "closed" ? "info" : "warn";
          o.log[level]({ peer: url, circuit: state }, `circuit to ${url} is ${state}`);
        },
      });
      t = createClientTransport({
        target: "remote",
        transport: createRemoteTransport({ baseUrl: url, breaker, retry: o.retry }),
        metrics: o.metrics,
        signer: o.signer,
        defaultTimeoutMs: o.defaultTimeoutMs,
      });
      this.remotes.set(url, t);
    }
    return t;
  }
}
