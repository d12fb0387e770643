/** Small helpers shared by the benchmark scenarios. */

export interface Rate {
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSec: number;
}

/**
 * Calls `op` (with up to `concurrency` calls in flight) for about `seconds`
 * after a short warm-up, and returns the rate.
 */
export async function rate(
  op: (i: number) => Promise<unknown> | unknown,
  seconds: number,
  concurrency = 1,
): Promise<Rate> {
  let i = 0;
  const warmEnd = performance.now() + Math.min(300, seconds * 200);
  while (performance.now() < warmEnd) await op(i++);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let ops = 0;
  // The clock is read once per 64 calls, as rateSync does, so both sides of
  // a comparison pay the same harness cost.
  const worker = async () => {
    while (performance.now() < end) {
      for (let k = 0; k < 64; k++) await op(i++);
      ops += 64;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const s = (performance.now() - t0) / 1000;
  return { ops, seconds: s, opsPerSec: Math.round(ops / s) };
}

/** Synchronous variant for raw synchronous drivers (better-sqlite3). */
export function rateSync(op: (i: number) => unknown, seconds: number): Rate {
  let i = 0;
  const warmEnd = performance.now() + Math.min(300, seconds * 200);
  while (performance.now() < warmEnd) op(i++);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let ops = 0;
  while (performance.now() < end) {
    for (let k = 0; k < 64; k++) op(i++);
    ops += 64;
  }
  const s = (performance.now() - t0) / 1000;
  return { ops, seconds: s, opsPerSec: Math.round(ops / s) };
}

export function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Measures `a` and `b` in alternating rounds (a, b, a, b, …) so that drift in
 * the machine's load affects both alike; returns the summed rates.
 */
export async function paired(
  a: () => Promise<Rate> | Rate,
  b: () => Promise<Rate> | Rate,
  rounds = 3,
): Promise<[Rate, Rate]> {
  const ra: Rate[] = [];
  const rb: Rate[] = [];
  for (let i = 0; i < rounds; i++) {
    ra.push(await a());
    rb.push(await b());
  }
  const sum = (rs: Rate[]): Rate => {
    const ops = rs.reduce((n, r) => n + r.ops, 0);
    const seconds = rs.reduce((n, r) => n + r.seconds, 0);
    return { ops, seconds, opsPerSec: Math.round(ops / seconds) };
  };
  return [sum(ra), sum(rb)];
}
