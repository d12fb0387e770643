/** Small helpers shared by the benchmark scenarios. */

export interface Rate {
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  /** CPU time of this process (user + system) per op during the measured window, µs: the client side's cost, which moves less with other load than ops/s. */
  cpuUsPerOp?: number;
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
  const c0 = process.cpuUsage();
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
  return { ops, seconds: s, opsPerSec: Math.round(ops / s), cpuUsPerOp: cpuPerOp(c0, ops) };
}

/** Synchronous variant for raw synchronous drivers (better-sqlite3). */
export function rateSync(op: (i: number) => unknown, seconds: number): Rate {
  let i = 0;
  const warmEnd = performance.now() + Math.min(300, seconds * 200);
  while (performance.now() < warmEnd) op(i++);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let ops = 0;
  while (performance.now() < end) {
    for (let k = 0; k < 64; k++) op(i++);
    ops += 64;
  }
  const s = (performance.now() - t0) / 1000;
  return { ops, seconds: s, opsPerSec: Math.round(ops / s), cpuUsPerOp: cpuPerOp(c0, ops) };
}

function cpuPerOp(since: NodeJS.CpuUsage, ops: number): number {
  const c = process.cpuUsage(since);
  return Math.round(((c.user + c.system) / Math.max(1, ops)) * 100) / 100;
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
    const cpu = rs.reduce((n, r) => n + (r.cpuUsPerOp ?? 0) * r.ops, 0);
    return {
      ops,
      seconds,
      opsPerSec: Math.round(ops / seconds),
      cpuUsPerOp: Math.round((cpu / Math.max(1, ops)) * 100) / 100,
    };
  };
  return [sum(ra), sum(rb)];
}

/** Calls per second and latency of a closed loop: `op` with `inflight` in flight for `seconds`. */
export interface Driven {
  readonly perSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly sent: number;
}

/** Runs `op(i)` with `inflight` calls in flight for `seconds`; the latency of each call. */
export async function drive(op: (i: number) => Promise<unknown>, seconds: number, inflight: number): Promise<Driven> {
  const lat: number[] = [];
  let i = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        await op(i++);
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return {
    perSec: Math.round(lat.length / secs),
    p50Ms: +percentile(lat, 50).toFixed(2),
    p99Ms: +percentile(lat, 99).toFixed(2),
    sent: lat.length,
  };
}
