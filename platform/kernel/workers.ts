/**
 * `orbit bundle --workers N`: N worker processes (node:cluster) serving one
 * port. The primary runs no services: it forks the workers, restarts one that
 * dies (with backoff), forwards SIGTERM/SIGINT as a drain request and relays
 * push messages between them (platform/push/ipc-broker.ts). Each worker is an
 * ordinary bundle with its own leased node id; consumer groups are shared
 * through their leases, exactly as between bundles on different hosts.
 *
 * Boot: worker 1 starts alone and migrates; the others start once it is
 * ready (so they find the tables migrated). A worker that exits during its
 * first boot with 2 or 3 (bad configuration, refused migrations) stops the
 * whole bundle with that code; later deaths are restarted.
 */
import cluster, { type Worker } from "node:cluster";
import { WORKER_SLOT_ENV } from "../config/load.js";
import type { Logger } from "../log.js";
import { IPC_BROKER_KIND } from "../push/ipc-broker.js";

/** The environment variable a worker reads its slot from ("<index>/<count>", 1-based). */
export const WORKER_ENV = WORKER_SLOT_ENV;
/** The response header that says which worker answered. */
export const WORKER_HEADER = "orbit-worker";

/** Which worker this process is: { index: 1, count: 1 } when it runs alone. */
export interface WorkerSlot {
  readonly index: number;
  readonly count: number;
}

export const SINGLE: WorkerSlot = { index: 1, count: 1 };

/** The slot of this process: set by the primary in a worker, SINGLE otherwise. */
export function workerSlot(): WorkerSlot {
  if (!cluster.isWorker) return SINGLE;
  const [index, count] = (process.env[WORKER_ENV] ?? "1/1").split("/").map(Number);
  return { index: index!, count: count! };
}

/** Messages between the primary and its workers (process.send). */
export type WorkerMessage =
  | { readonly kind: "orbit.ready"; readonly url?: string; readonly adminUrl?: string }
  | { readonly kind: "orbit.stop" }
  | { readonly kind: typeof IPC_BROKER_KIND; readonly data: string };

/** A worker: tells the primary it is ready; runs `stop` when asked or when the primary is gone. */
export function joinPrimary(stop: () => void): { ready(url?: string, adminUrl?: string): void } {
  process.on("message", (m: WorkerMessage) => {
    if (m?.kind === "orbit.stop") stop();
  });
  // The primary died (kill -9): nobody restarts or stops us, so drain and exit.
  process.on("disconnect", stop);
  return {
    ready: (url, adminUrl) => process.send?.({ kind: "orbit.ready", url, adminUrl } satisfies WorkerMessage),
  };
}

export interface SupervisorOptions {
  readonly count: number;
  readonly log: Logger;
  /** How long a worker may take to drain before it is killed. */
  readonly shutdownTimeoutMs: number;
  /** First restart delay; it doubles for a worker that dies again soon, up to maxBackoffMs. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** A worker that ran at least this long before dying is restarted after the first delay again. */
const STABLE_MS = 30_000;

/**
 * The primary: forks and keeps `count` workers until SIGTERM/SIGINT, then
 * drains them. Resolves with the exit code for the primary.
 */
export function supervise(opts: SupervisorOptions): Promise<number> {
  const { count, log } = opts;
  const backoff0 = opts.backoffMs ?? 500;
  const maxBackoff = opts.maxBackoffMs ?? 30_000;
  const bySlot = new Map<number, Worker>();
  const delay = new Map<number, number>();
  const everReady = new Set<number>();
  let stopping = false;
  let failed = false;
  let announced = false;
  let resolveExit!: (code: number) => void;
  const exit = new Promise<number>((r) => (resolveExit = r));

  const relay = (from: Worker, m: WorkerMessage) => {
    for (const w of bySlot.values()) if (w !== from && w.isConnected()) w.send(m);
  };

  const fork = (index: number) => {
    const started = Date.now();
    const w = cluster.fork({ [WORKER_ENV]: `${index}/${count}` });
    bySlot.set(index, w);
    w.on("message", (m: WorkerMessage) => {
      if (m?.kind === IPC_BROKER_KIND) return relay(w, m);
      if (m?.kind !== "orbit.ready") return;
      const first = !everReady.has(index);
      everReady.add(index);
      log.info(
        { worker: index, workerPid: w.process.pid },
        first ? `worker ${index} is ready` : `worker ${index} restarted`,
      );
      if (index === 1 && first) for (let i = 2; i <= count; i++) fork(i);
      if (!announced && everReady.size === count) {
        announced = true;
        const where = m.url ? ` at ${m.url}` : "";
        log.info({ url: m.url, adminUrl: m.adminUrl, workers: count }, `orbit is ready${where} (${count} workers)`);
      }
    });
    w.on("exit", (code, signal) => {
      if (bySlot.get(index) === w) bySlot.delete(index);
      if (stopping) {
        if (code !== 0) failed = true;
        if (bySlot.size === 0) resolveExit(failed ? 1 : 0);
        return;
      }
      if (!everReady.has(index) && (code === 2 || code === 3)) {
        // Bad configuration or refused migrations: every restart would fail the same way.
        log.fatal({ worker: index, code }, `worker ${index} could not start (exit ${code}): stopping`);
        failed = true;
        void stopAll().then(() => resolveExit(code));
        return;
      }
      const ranMs = Date.now() - started;
      const wait = ranMs >= STABLE_MS ? backoff0 : Math.min(maxBackoff, delay.get(index) ?? backoff0);
      delay.set(index, Math.min(maxBackoff, wait * 2));
      log.error({ worker: index, code, signal, restartInMs: wait }, `worker ${index} died: restarting in ${wait} ms`);
      setTimeout(() => {
        if (!stopping) fork(index);
      }, wait).unref();
    });
  };

  const stopAll = async () => {
    stopping = true;
    const live = [...bySlot.values()];
    if (live.length === 0) return resolveExit(failed ? 1 : 0);
    for (const w of live) if (w.isConnected()) w.send({ kind: "orbit.stop" } satisfies WorkerMessage);
    // A worker that does not finish draining in time is killed.
    setTimeout(() => {
      for (const w of bySlot.values()) {
        log.error({ workerPid: w.process.pid }, "a worker did not stop in time: killing it");
        w.process.kill("SIGKILL");
      }
    }, opts.shutdownTimeoutMs + 5_000).unref();
  };

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      log.warn({ signal }, "second signal: killing the workers");
      for (const w of bySlot.values()) w.process.kill("SIGKILL");
      process.exit(1);
    }
    log.info({ signal, workers: bySlot.size }, `received ${signal}: draining every worker`);
    void stopAll();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  log.info({ workers: count }, `starting ${count} workers (worker 1 first: it migrates)`);
  fork(1);
  return exit;
}
