/**
 * A background TTL sweeper for wide tables on the SQL store. Expired rows are
 * already invisible to reads; the sweeper reclaims their space in small
 * batches. Tables with a default TTL have an index on the expiry column;
 * tables that only get per-write TTLs are swept by a scan.
 */
import type { WideTableSpec } from "../schema.js";
import type { SqlWideStore } from "./sql-store.js";

export interface WideSweeperOptions {
  /** Pause between sweeps, in ms. Default 60 000. */
  readonly intervalMs?: number;
  /** Rows per DELETE. Default 500. */
  readonly batchSize?: number;
  /** Called when a sweep fails (the sweeper keeps going). Default: console.error. */
  readonly onError?: (err: unknown, table: string) => void;
}

export interface WideSweeper {
  /** Sweeps every table now; resolves to the number of rows deleted. */
  sweepNow(): Promise<number>;
  /** Stops the timer and waits for a running sweep to finish. */
  stop(): Promise<void>;
}

export function startWideSweeper(
  store: SqlWideStore,
  specs: readonly WideTableSpec[],
  opts: WideSweeperOptions = {},
): WideSweeper {
  const interval = opts.intervalMs ?? 60_000;
  const onError = opts.onError ?? ((err, table) => console.error(`wide sweeper: ${table}:`, err));
  const tables = specs.filter((s) => !s.columns.some((c) => c.counter));
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let stopped = false;

  const sweepAll = async (): Promise<number> => {
    let total = 0;
    for (const spec of tables) {
      try {
        total += await store.sweepExpired(spec, { batchSize: opts.batchSize });
      } catch (err) {
        onError(err, spec.name);
      }
    }
    return total;
  };
  const sweepNow = (): Promise<number> => {
    running ??= sweepAll().finally(() => {
      running = undefined;
    });
    return running;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void sweepNow().finally(schedule);
    }, interval);
    timer.unref();
  };
  schedule();
  return {
    sweepNow,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
