/**
 * Limits shared by every bundle through Redis (`--redis`): each operation of
 * LimitStore is one Lua script on one key, so bundles counting the same key
 * at once see one sequence. Keys: `orbit:limits:<key>`, each expiring with
 * what it holds (nothing is left behind).
 *
 * Redis is never allowed to take logins down: commands run without an
 * offline queue and under a short timeout, and while Redis cannot answer
 * every operation falls back to the bundle's own memory store (limits then
 * apply per bundle). The outage is logged once when it starts and once when
 * Redis answers again.
 */
import { Redis } from "ioredis";
import type { Logger } from "../log.js";
import { MemoryLimitStore, type BackoffRule, type BucketRule, type LimitStore } from "./store.js";

const PREFIX = "orbit:limits:";

// KEYS[1]; ARGV: capacity, periodMs, now → 0 or ms to wait
const TAKE = `
local cap = tonumber(ARGV[1]); local period = tonumber(ARGV[2]); local now = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = cap
if v[1] then tokens = math.min(cap, tonumber(v[1]) + (now - tonumber(v[2])) * cap / period) end
if tokens < 1 then return math.ceil((1 - tokens) * period / cap) end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((cap - tokens) * period / cap) + 1)
return 0`;

// KEYS[1]; ARGV: free, baseMs, maxMs, windowMs, now → 0 or ms the penalty lasts
const STRIKE = `
local free = tonumber(ARGV[1]); local now = tonumber(ARGV[5])
local v = redis.call('HMGET', KEYS[1], 'n', 'until')
local untilMs = tonumber(v[2] or '0')
if untilMs > now then return untilMs - now end
local n = tonumber(v[1] or '0') + 1
local nextMs = 0
if n > free then nextMs = now + math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) * 2 ^ math.min(n - free - 1, 40)) end
redis.call('HSET', KEYS[1], 'n', n, 'until', nextMs)
redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[4]), nextMs - now))
return 0`;

// KEYS[1]; ARGV: windowMs → {n, pttl}
const COUNT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`;

export interface RedisLimitStoreOptions {
  readonly url: string;
  readonly log: Logger;
  /** Bound of the fallback memory store. */
  readonly maxKeys?: number;
  /** How long a command may take before the local store answers instead (default 250 ms). */
  readonly commandTimeoutMs?: number;
}

type Scripted = Redis & {
  orbitTake(key: string, cap: number, periodMs: number, now: number): Promise<number>;
  orbitStrike(key: string, free: number, base: number, max: number, window: number, now: number): Promise<number>;
  orbitCount(key: string, windowMs: number): Promise<[number, number]>;
};

export class RedisLimitStore implements LimitStore {
  private readonly redis: Scripted;
  readonly local: MemoryLimitStore;
  private readonly log: Logger;
  private down: { since: number; ops: number } | undefined;
  private closed = false;

  constructor(opts: RedisLimitStoreOptions) {
    this.log = opts.log;
    this.local = new MemoryLimitStore(opts.maxKeys);
    this.redis = new Redis(opts.url, {
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.commandTimeoutMs ?? 250,
      connectionName: "orbit-limits",
      retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    }) as Scripted;
    this.redis.on("error", (err) => this.log.debug({ err }, "limits: redis error"));
    this.redis.defineCommand("orbitTake", { numberOfKeys: 1, lua: TAKE });
    this.redis.defineCommand("orbitStrike", { numberOfKeys: 1, lua: STRIKE });
    this.redis.defineCommand("orbitCount", { numberOfKeys: 1, lua: COUNT });
  }

  /**
   * Waits (up to `timeoutMs`) for the first connection. Never fails: a Redis
   * that cannot be reached at boot only means local limits until it can.
   */
  async start(timeoutMs = 5_000): Promise<void> {
    if (this.redis.status === "ready") return;
    let timer: NodeJS.Timeout | undefined;
    const ready = await Promise.race([
      new Promise<boolean>((resolve) => this.redis.once("ready", () => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!ready) void this.fail(new Error(`not reached in ${timeoutMs} ms`), async () => undefined);
  }

  /** True while limits are shared (Redis answers). */
  get shared(): boolean {
    return this.down === undefined && this.redis.status === "ready";
  }

  /** Runs `op` on Redis, or on the local store while Redis cannot answer. */
  private async run<T>(op: (r: Scripted) => Promise<T>, fallback: (l: MemoryLimitStore) => Promise<T>): Promise<T> {
    if (this.redis.status !== "ready") return this.fail(undefined, fallback);
    try {
      const out = await op(this.redis);
      if (this.down) {
        this.log.info(
          { ms: Date.now() - this.down.since, localOps: this.down.ops },
          "limits: redis answers again; limits are shared across bundles again",
        );
        this.down = undefined;
      }
      return out;
    } catch (err) {
      return this.fail(err, fallback);
    }
  }

  private fail<T>(err: unknown, fallback: (l: MemoryLimitStore) => Promise<T>): Promise<T> {
    if (this.closed) return fallback(this.local);
    if (!this.down) {
      this.down = { since: Date.now(), ops: 0 };
      this.log.warn(
        { err: err instanceof Error ? err.message : `redis ${this.redis.status}` },
        "limits: redis unavailable; each bundle applies its own limits until it is back (logged once)",
      );
    }
    this.down.ops++;
    return fallback(this.local);
  }

  take(key: string, rule: BucketRule, now: number): Promise<number> {
    return this.run(
      async (r) => Number(await r.orbitTake(PREFIX + key, rule.capacity, rule.periodMs, now)),
      (l) => l.take(key, rule, now),
    );
  }

  strike(key: string, rule: BackoffRule, now: number): Promise<number> {
    return this.run(
      async (r) => Number(await r.orbitStrike(PREFIX + key, rule.free, rule.baseMs, rule.maxMs, rule.windowMs, now)),
      (l) => l.strike(key, rule, now),
    );
  }

  penalty(key: string, now: number): Promise<number> {
    return this.run(
      async (r) => Math.max(0, Number((await r.hget(PREFIX + key, "until")) ?? 0) - now),
      (l) => l.penalty(key, now),
    );
  }

  forgive(key: string): Promise<void> {
    void this.local.forgive(key);
    return this.run(
      async (r) => void (await r.del(PREFIX + key)),
      (l) => l.forgive(key),
    );
  }

  count(key: string, windowMs: number, limit: number, now: number): Promise<{ n: number; resetMs: number }> {
    return this.run(
      async (r) => {
        const [n, pttl] = await r.orbitCount(PREFIX + key, windowMs);
        return { n: Number(n), resetMs: Math.max(0, Number(pttl)) };
      },
      (l) => l.count(key, windowMs, limit, now),
    );
  }

  peek(key: string, now: number): Promise<{ n: number; resetMs: number }> {
    return this.run(
      async (r) => {
        const [[, n], [, pttl]] = (await r
          .multi()
          .get(PREFIX + key)
          .pttl(PREFIX + key)
          .exec()) as [[unknown, string | null], [unknown, number]];
        return { n: Number(n ?? 0), resetMs: Math.max(0, Number(pttl)) };
      },
      (l) => l.peek(key, now),
    );
  }

  mark(key: string, ttlMs: number, now: number): Promise<void> {
    // Kept locally too: a known address stays known through a Redis outage.
    void this.local.mark(key, ttlMs, now);
    return this.run(
      async (r) => void (await r.set(PREFIX + key, "1", "PX", ttlMs)),
      async () => undefined,
    );
  }

  has(key: string, now: number): Promise<boolean> {
    return this.run(
      async (r) => (await r.exists(PREFIX + key)) === 1 || (await this.local.has(key, now)),
      (l) => l.has(key, now),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
