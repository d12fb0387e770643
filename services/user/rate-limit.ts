/**
 * Failed-login limits per handle and per client address (when it is known): a sliding window of
 * attempt times kept in memory (per process; behind several processes, each
 * applies its own limit). Exceeding either answers ResourceExhausted until
 * the oldest failure leaves the window.
 *
 * An attempt counts as failed from the moment it starts (`begin`) until it
 * succeeds: checking only after the slow password hash would let a burst of
 * concurrent guesses through before the first of them is recorded.
 */
import { Code, ConnectError } from "@connectrpc/connect";

export interface LoginLimits {
  readonly windowMs: number;
  readonly perHandle: number;
  readonly perAddress: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { windowMs: 15 * 60_000, perHandle: 10, perAddress: 50 };

const MAX_TRACKED = 100_000;

/** A login attempt in progress: it stays counted as a failure unless `succeeded` is called. */
export interface LoginAttempt {
  succeeded(): void;
}

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  constructor(
    private readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  private recent(key: string): number[] {
    const list = this.failures.get(key);
    if (!list) return [];
    const cutoff = this.now() - this.limits.windowMs;
    while (list.length && list[0]! <= cutoff) list.shift();
    if (list.length === 0) this.failures.delete(key);
    return list;
  }

  /**
   * Starts an attempt: throws ResourceExhausted if the handle or the address
   * has too many recent failures, else counts this attempt as one until it
   * succeeds.
   */
  begin(handleKey: string, address: string | undefined): LoginAttempt {
    const hk = `h:${handleKey}`;
    const ak = address === undefined ? undefined : `a:${address}`;
    const h = this.recent(hk);
    const a = ak === undefined ? [] : this.recent(ak);
    const full = [h.length >= this.limits.perHandle ? h : [], a.length >= this.limits.perAddress ? a : []].filter(
      (l) => l.length,
    );
    if (full.length) {
      // A slot frees when the oldest failure of each full list leaves the window.
      const frees = Math.max(...full.map((l) => l[0]!)) + this.limits.windowMs;
      const retry = Math.max(1, Math.ceil((frees - this.now()) / 1000));
      throw new ConnectError(`too many failed logins; try again in ${retry} s`, Code.ResourceExhausted);
    }
    if (this.failures.size > MAX_TRACKED) this.failures.clear(); // bounded memory under a flood
    const at = this.now();
    for (const key of ak === undefined ? [hk] : [hk, ak]) {
      const list = this.failures.get(key) ?? [];
      list.push(at);
      this.failures.set(key, list);
    }
    return {
      succeeded: () => {
        // The handle's failures are forgotten; the address keeps its others.
        this.failures.delete(hk);
        if (ak === undefined) return;
        const list = this.failures.get(ak);
        const i = list?.indexOf(at) ?? -1;
        if (i >= 0) list!.splice(i, 1);
        if (list?.length === 0) this.failures.delete(ak);
      },
    };
  }
}
