/**
 * Failed-login limits per handle and per client address: a sliding window of
 * failure times kept in memory (per process; behind several processes, each
 * applies its own limit). Exceeding either answers ResourceExhausted until
 * the oldest failure leaves the window.
 */
import { Code, ConnectError } from "@connectrpc/connect";

export interface LoginLimits {
  readonly windowMs: number;
  readonly perHandle: number;
  readonly perAddress: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { windowMs: 15 * 60_000, perHandle: 10, perAddress: 50 };

const MAX_TRACKED = 100_000;

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

  /** Throws ResourceExhausted if either key has too many recent failures. */
  check(handleKey: string, address: string): void {
    const h = this.recent(`h:${handleKey}`);
    const a = this.recent(`a:${address}`);
    if (h.length >= this.limits.perHandle || a.length >= this.limits.perAddress) {
      const oldest = Math.min(h[0] ?? Infinity, a[0] ?? Infinity);
      const retry = Math.max(1, Math.ceil((oldest + this.limits.windowMs - this.now()) / 1000));
      throw new ConnectError(`too many failed logins; try again in ${retry} s`, Code.ResourceExhausted);
    }
  }

  fail(handleKey: string, address: string): void {
    if (this.failures.size > MAX_TRACKED) this.failures.clear(); // bounded memory under a flood
    for (const key of [`h:${handleKey}`, `a:${address}`]) {
      const list = this.failures.get(key) ?? [];
      list.push(this.now());
      this.failures.set(key, list);
    }
  }

  succeed(handleKey: string): void {
    this.failures.delete(`h:${handleKey}`);
  }
}
