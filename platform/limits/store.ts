/**
 * Where limit state lives: the operations every store gives (in memory here,
 * shared through Redis in redis-store.ts), each atomic on one key.
 *
 *   take      a token bucket: `capacity` tokens, refilled continuously over `periodMs`
 *   strike    exponential backoff: the first `free` strikes cost nothing, each later one
 *             imposes a penalty of base·2^k (capped) during which strike refuses
 *   count     a fixed window counter (the window starts at the first count)
 *   mark/has  a flag that lasts `ttlMs` (addresses a handle logged in from)
 *
 * The memory store is bounded (`maxKeys`): when full it evicts what has
 * expired first, then the least recently used key that holds nothing
 * active; a key with a running penalty, a tripped window or a mark is only
 * evicted when every key scanned is one. It never clears its table: a flood
 * of new keys cannot wipe the throttles already in force.
 */

export interface BucketRule {
  /** Tokens when full (the burst). */
  readonly capacity: number;
  /** Time to refill from empty to full. */
  readonly periodMs: number;
}

export interface BackoffRule {
  /** Strikes that cost nothing. */
  readonly free: number;
  /** The first penalty; each strike after it doubles it. */
  readonly baseMs: number;
  readonly maxMs: number;
  /** Strikes are forgotten this long after the last one. */
  readonly windowMs: number;
}

export interface LimitStore {
  /** Takes a token: 0 if taken, else the ms until one is available (nothing taken). */
  take(key: string, rule: BucketRule, now: number): Promise<number>;
  /** 0 and a strike counted, or the ms the key's running penalty still lasts (nothing counted). */
  strike(key: string, rule: BackoffRule, now: number): Promise<number>;
  /** The ms the key's penalty still lasts (0 when none). */
  penalty(key: string, now: number): Promise<number>;
  /** Forgets the key's strikes and penalty. */
  forgive(key: string): Promise<void>;
  /**
   * Counts one in the key's window (`windowMs` from the first count); `limit`
   * is what the caller refuses at, so a tripped window is kept under eviction.
   */
  count(key: string, windowMs: number, limit: number, now: number): Promise<{ n: number; resetMs: number }>;
  /** The key's count without counting (0 when none). */
  peek(key: string, now: number): Promise<{ n: number; resetMs: number }>;
  mark(key: string, ttlMs: number, now: number): Promise<void>;
  has(key: string, now: number): Promise<boolean>;
  close(): Promise<void>;
}

interface Entry {
  /** bucket: [tokens, at]; strike: [strikes, until]; count: [n]; mark: [] */
  v: number[];
  /** The key is gone from this time. */
  expires: number;
  /** Kept under eviction until this time (a penalty, a tripped window, a mark). */
  hold: number;
}

/** Entries looked at from the least recently used end when the table is full. */
const EVICTION_SCAN = 64;

export const DEFAULT_MAX_KEYS = 100_000;

export class MemoryLimitStore implements LimitStore {
  private readonly entries = new Map<string, Entry>();
  /** Keys evicted while still holding something (a sign the bound is too low). */
  evictedActive = 0;

  constructor(readonly maxKeys = DEFAULT_MAX_KEYS) {
    if (maxKeys < 1) throw new Error("maxKeys must be at least 1");
  }

  get size(): number {
    return this.entries.size;
  }

  /** The live entry of `key`, moved to the recently used end. */
  private get(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (e.expires <= now) return undefined;
    this.entries.set(key, e);
    return e;
  }

  private put(key: string, e: Entry, now: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxKeys) this.evict(now);
    this.entries.set(key, e);
  }

  private evict(now: number): void {
    let victim: string | undefined;
    let oldest: string | undefined;
    let scanned = 0;
    let freed = false;
    for (const [k, e] of this.entries) {
      if (scanned++ >= EVICTION_SCAN) break;
      oldest ??= k;
      if (e.expires <= now) {
        this.entries.delete(k);
        freed = true;
        continue;
      }
      if (victim === undefined && e.hold <= now) victim = k;
    }
    if (freed) return;
    if (victim === undefined) {
      victim = oldest!;
      this.evictedActive++;
    }
    this.entries.delete(victim);
  }

  async take(key: string, rule: BucketRule, now: number): Promise<number> {
    const e = this.get(key, now);
    const refill = (elapsed: number) => (elapsed * rule.capacity) / rule.periodMs;
    const tokens = e ? Math.min(rule.capacity, e.v[0]! + refill(now - e.v[1]!)) : rule.capacity;
    if (tokens < 1) {
      e!.v = [tokens, now];
      return Math.ceil(((1 - tokens) * rule.periodMs) / rule.capacity);
    }
    const left = tokens - 1;
    const full = Math.ceil(((rule.capacity - left) * rule.periodMs) / rule.capacity);
    this.put(key, { v: [left, now], expires: now + full, hold: 0 }, now);
    return 0;
  }

  async strike(key: string, rule: BackoffRule, now: number): Promise<number> {
    const e = this.get(key, now);
    const until = e?.v[1] ?? 0;
    if (until > now) return until - now;
    const n = (e?.v[0] ?? 0) + 1;
    const penalty = n > rule.free ? Math.min(rule.maxMs, rule.baseMs * 2 ** Math.min(n - rule.free - 1, 40)) : 0;
    const next = penalty ? now + penalty : 0;
    this.put(key, { v: [n, next], expires: Math.max(now + rule.windowMs, next), hold: next }, now);
    return 0;
  }

  async penalty(key: string, now: number): Promise<number> {
    const until = this.entries.get(key)?.v[1] ?? 0;
    return until > now ? until - now : 0;
  }

  async forgive(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async count(key: string, windowMs: number, limit: number, now: number): Promise<{ n: number; resetMs: number }> {
    const e = this.get(key, now);
    if (e) {
      e.v[0]!++;
      if (e.v[0]! >= limit) e.hold = e.expires;
      return { n: e.v[0]!, resetMs: e.expires - now };
    }
    const expires = now + windowMs;
    this.put(key, { v: [1], expires, hold: 1 >= limit ? expires : 0 }, now);
    return { n: 1, resetMs: windowMs };
  }

  async peek(key: string, now: number): Promise<{ n: number; resetMs: number }> {
    const e = this.entries.get(key);
    if (!e || e.expires <= now) return { n: 0, resetMs: 0 };
    return { n: e.v[0] ?? 0, resetMs: e.expires - now };
  }

  async mark(key: string, ttlMs: number, now: number): Promise<void> {
    this.put(key, { v: [], expires: now + ttlMs, hold: now + ttlMs }, now);
  }

  async has(key: string, now: number): Promise<boolean> {
    return this.get(key, now) !== undefined;
  }

  async close(): Promise<void> {}
}
