/**
 * Store outages logged once per episode, not once per call: the first call
 * that fails because a store is unavailable logs a warning (which store, why);
 * the calls after it are counted and logged at debug; the first call that
 * succeeds afterwards logs one line saying the store is back, with how many
 * calls failed meanwhile and for how long. A database that is down for a
 * minute under load is two log lines, not thousands of stacks.
 */
import type { Logger } from "../log.js";

interface Episode {
  readonly since: number;
  failed: number;
}

export class StoreEpisodes {
  private readonly open = new Map<string, Episode>();

  constructor(private readonly log: Logger) {}

  /** A call failed because `store` is unavailable. */
  unavailable(store: string, cause: string, fields: Record<string, unknown>): void {
    const episode = this.open.get(store);
    if (episode) {
      episode.failed++;
      if (this.log.isLevelEnabled("debug")) this.log.debug({ ...fields, store, cause }, "rpc: store unavailable");
      return;
    }
    this.open.set(store, { since: Date.now(), failed: 1 });
    this.log.warn(
      { ...fields, store, cause },
      `store ${store} is unavailable: calls that need it answer unavailable until it is back (logged once)`,
    );
  }

  /** A call succeeded: any open episode is over. */
  ok(): void {
    if (this.open.size === 0) return;
    for (const [store, e] of this.open) {
      this.log.info({ store, failedCalls: e.failed, ms: Date.now() - e.since }, `store ${store} is available again`);
    }
    this.open.clear();
  }

  /** Stores in an open episode. */
  get down(): readonly string[] {
    return [...this.open.keys()];
  }
}

/** The store named by a StoreUnavailableError in `err`'s cause chain. */
export function unavailableStore(err: unknown): string {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e.name === "StoreUnavailableError") return String((e as { store?: unknown }).store ?? "store");
  }
  return "store";
}
