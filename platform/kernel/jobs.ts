/**
 * Background jobs of a service: loops that run while the bundle runs (a
 * sweeper, a poller, a queue worker). The kernel starts them once every
 * service is built and its consumers have started, aborts their signal when
 * the bundle begins to shut down and waits for them to return. A job that
 * throws is logged and run again after a backoff (1 s, doubling up to 60 s);
 * one that returns is done.
 */
import type { Logger } from "../log.js";

export interface Job {
  /** Names the job in logs ("media.transcode"). */
  readonly name: string;
  /** Runs until `signal` aborts (the bundle is stopping); return promptly then. */
  run(signal: AbortSignal): Promise<void>;
}

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 60_000;

/** Runs `job` (restarting it after failures) until `signal` aborts; resolves once it has returned. */
export async function runJob(job: Job, signal: AbortSignal, log: Logger): Promise<void> {
  let delay = FIRST_RETRY_MS;
  while (!signal.aborted) {
    const t0 = Date.now();
    try {
      await job.run(signal);
      return;
    } catch (err) {
      if (signal.aborted) return;
      // A job that ran a good while before failing starts its backoff over.
      if (Date.now() - t0 > MAX_RETRY_MS) delay = FIRST_RETRY_MS;
      log.error({ err, job: job.name, retryInMs: delay }, `job ${job.name} failed; running it again`);
      await pause(delay, signal);
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    }
  }
}

/**
 * A job's wait between rounds: resolves after `ms`, or as soon as `signal`
 * aborts — at once when it already has (a stop that came during the round
 * must not wait out the period: the bundle's drain would time out).
 */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
