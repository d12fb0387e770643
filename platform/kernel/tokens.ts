/**
 * Which bearer-token check a bundle uses, chosen once before it serves (the
 * Authenticator is built with it and never changes). First that applies:
 *
 *   1. the one the bundle was given (BundleOptions.tokenVerifier: tests);
 *   2. the service that verifies tokens (`verifiesTokens`), if it runs here: its local check;
 *   3. `--dev-token token=userId` entries (development and tests only);
 *   4. that service's remote check, if it runs elsewhere (`--peer`);
 *   5. none: every bearer token is refused (calls without one are anonymous).
 *
 * A check that caches verifications (its verifier has `forgetSession`: the user service's local
 * session cache, and its remote check's) forgets an ended session promptly in every process: the
 * bundle consumes the service's `revocations` event in a group of its own node id,
 * `<group>.n<node id>`, from the latest event (`revocationConsumer`). Such groups stay bounded:
 * a bundle drops its own at boot (a node id leased again starts fresh, not from its last holder's
 * position) and, at boot and every minute, those of node ids whose lease has ended (a stopped or
 * dead bundle's), so no group of a gone node holds the log's retention back
 * (`sweepNodeGroups`). Ids never leased (`--node-id`) are dropped only by their own next boot.
 */
import { isMessage } from "@bufbuild/protobuf";
import type { EventBus } from "../events/bus.js";
import type { ConsumerOptions } from "../events/consumer-options.js";
import { expiredNodeIds } from "../node-lease.js";
import { rejectAllTokens, staticTokens, type TokenVerifier } from "../rpc/identity.js";
import type { SqlExecutor } from "../storage/driver.js";
import type { ServiceContext } from "./context.js";
import type { Registry } from "./registry.js";
import type { ClientOf, ServiceDef, TokenRevocations } from "./service.js";

export interface TokenChoice {
  readonly verifier: TokenVerifier;
  /** For the boot log: "given", "user (local)", "dev tokens", "user (remote)", "none". */
  readonly source: string;
  /** The event that ends sessions, when the verifier caches them (it has `forgetSession`). */
  readonly revocations?: TokenRevocations;
}

export function chooseTokenVerifier(opts: {
  readonly given: TokenVerifier | undefined;
  readonly registry: Registry;
  readonly local: ReadonlyMap<ServiceDef, ServiceContext>;
  readonly remote: ReadonlyMap<string, string>;
  readonly devTokens: Readonly<Record<string, string>>;
  readonly client: ClientOf;
  /** A service's resolved settings (for the provider's remote check, when it runs elsewhere). */
  readonly settingsOf?: (def: ServiceDef) => Readonly<Record<string, unknown>>;
}): TokenChoice {
  if (opts.given) return { verifier: opts.given, source: "given" };
  const provider = opts.registry.tokenProvider();
  if (provider) {
    const ctx = [...opts.local].find(([def]) => def === provider)?.[1];
    if (ctx) return withRevocations(provider, provider.verifiesTokens!.local(ctx), `${provider.name} (local)`);
  }
  if (Object.keys(opts.devTokens).length) return { verifier: staticTokens(opts.devTokens), source: "dev tokens" };
  if (provider && opts.remote.has(provider.name)) {
    const settings = opts.settingsOf?.(provider) ?? {};
    return withRevocations(
      provider,
      provider.verifiesTokens!.remote(opts.client, settings),
      `${provider.name} (remote)`,
    );
  }
  return { verifier: rejectAllTokens, source: "none" };
}

function withRevocations(provider: ServiceDef, verifier: TokenVerifier, source: string): TokenChoice {
  const revocations = verifier.forgetSession ? provider.verifiesTokens!.revocations : undefined;
  return revocations ? { verifier, source, revocations } : { verifier, source };
}

/** The consumer group of one node id's revocations. */
export function nodeGroup(prefix: string, nodeId: number): string {
  return `${prefix}.n${nodeId}`;
}

/** This node's consumer: each event that ends a session makes `verifier` forget it. */
export function revocationConsumer(r: TokenRevocations, verifier: TokenVerifier, nodeId: number): ConsumerOptions {
  return {
    group: nodeGroup(r.group, nodeId),
    events: r.events,
    // Nothing is written; forgetting twice is harmless.
    commit: "after",
    // A process that starts has cached nothing yet.
    startFrom: "latest",
    handle(event) {
      if (!r.events.some((schema) => isMessage(event.message, schema))) return;
      const sessionId = r.sessionOf(event.message);
      if (sessionId) verifier.forgetSession?.(sessionId);
    },
  };
}

/**
 * Drops the `<prefix>.n<id>` groups of node ids whose lease has ended, and `own` (this node's,
 * before its consumer starts, unless another live process holds its lease). Returns the names
 * dropped.
 */
export async function sweepNodeGroups(
  bus: EventBus,
  db: SqlExecutor,
  prefix: string,
  own: number | undefined,
): Promise<string[]> {
  const pattern = new RegExp(`^${prefix.replace(/[.]/g, "\\.")}\\.n(\\d+)$`);
  const byNode = new Map<number, string>();
  let ownHeld = false;
  for (const g of await bus.listGroups()) {
    const m = pattern.exec(g.name);
    if (!m) continue;
    byNode.set(Number(m[1]), g.name);
    // Our id's group still consumed by a live process (two bundles given one --node-id) stays.
    if (Number(m[1]) === own) ownHeld = g.owner !== null && g.leaseUntilMs > Date.now();
  }
  const gone = await expiredNodeIds(
    db,
    [...byNode.keys()].filter((id) => id !== own),
  );
  if (own !== undefined && byNode.has(own) && !ownHeld) gone.add(own);
  const dropped: string[] = [];
  for (const id of gone) {
    const name = byNode.get(id)!;
    try {
      await bus.dropGroup(name);
      dropped.push(name);
    } catch {
      // Consumed here, or dropped by another bundle's sweep meanwhile.
    }
  }
  return dropped;
}
