/**
 * Health probes of stores, which /readyz asks (platform/kernel/readiness.ts):
 * a cheap query with its own short timeout, its answer cached briefly so a
 * busy load balancer does not turn probes into load. `cachedProbe` wraps the
 * check a store provides (see cassandraProbe in cassandra/health.ts).
 */
export interface HealthResult {
  readonly ok: boolean;
  /** One line: what answered, or why not. */
  readonly detail: string;
}

export interface HealthProbe {
  /** What is probed ("cassandra"). */
  readonly name: string;
  check(): Promise<HealthResult>;
}

export interface CachedProbeOptions {
  /** Give up on one check after this long (default 1000 ms). */
  readonly timeoutMs?: number;
  /** Reuse an answer this long (default 1000 ms). */
  readonly cacheMs?: number;
  /** Told when the answer changes from ok to not ok or back (for logs). */
  readonly onChange?: (result: HealthResult) => void;
  readonly now?: () => number;
}

/**
 * A probe around `check` (which resolves with a detail line when healthy and
 * throws when not): bounded by timeoutMs, cached for cacheMs, one check in
 * flight at a time.
 */
export function cachedProbe(name: string, check: () => Promise<string>, opts: CachedProbeOptions = {}): HealthProbe {
  const timeoutMs = opts.timeoutMs ?? 1_000;
  const cacheMs = opts.cacheMs ?? 1_000;
  const now = opts.now ?? Date.now;
  let last: { result: HealthResult; at: number } | undefined;
  let inflight: Promise<HealthResult> | undefined;
  const once = async (): Promise<HealthResult> => {
    let timer: NodeJS.Timeout | undefined;
    let result: HealthResult;
    try {
      const detail = await Promise.race([
        check(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      result = { ok: true, detail };
    } catch (err) {
      result = { ok: false, detail: `${name}: ${(err as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
    if (last && last.result.ok !== result.ok) opts.onChange?.(result);
    else if (!last && !result.ok) opts.onChange?.(result);
    last = { result, at: now() };
    return result;
  };
  return {
    name,
    check() {
      if (last && now() - last.at < cacheMs) return Promise.resolve(last.result);
      inflight ??= once().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
  };
}
