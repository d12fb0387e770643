/**
 * One coarse timer for many deadlines: a store registers what it waits for
 * (a pooled connection, a statement) with the time it must give up, and a
 * single interval, running only while something is registered, fires the
 * ones that are due. A statement then costs a Set insert and delete instead
 * of a timer of its own (setTimeout + clearTimeout, and a Promise.race).
 *
 * Deadlines fire up to TICK_MS late; what waits is bounded by the number of
 * statements in flight (the pool size) plus the callers waiting for a
 * connection, so a sweep over them is cheap.
 */

/** How often due entries are looked for, ms: the lateness a deadline may have. */
export const TICK_MS = 5;

/** Something to give up on at `at` (epoch ms; may be moved later while registered). */
export interface Watch {
  at: number;
  /** Called once, when `at` has passed and the entry is still registered (it is removed first). */
  fire(): void;
}

export class Watchdog {
  private readonly entries = new Set<Watch>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly tickMs = TICK_MS) {}

  add(w: Watch): void {
    this.entries.add(w);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.tickMs);
      this.timer.unref();
    }
  }

  /** Unregisters `w`: true if it was still registered (it had not fired). */
  delete(w: Watch): boolean {
    return this.entries.delete(w);
  }

  /** Entries registered now. */
  get size(): number {
    return this.entries.size;
  }

  private sweep(): void {
    if (this.entries.size === 0) {
      // Stopped lazily, one tick after the last entry left, so a steady trickle of
      // statements does not create and clear an interval each.
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const now = Date.now();
    for (const w of this.entries) {
      if (w.at <= now) {
        this.entries.delete(w);
        w.fire();
      }
    }
  }

  /** Stops the interval (entries stay registered and never fire). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
