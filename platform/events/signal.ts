/**
 * Wake-ups and sleeps for background loops.
 *
 * `Signal.wait(ms)` resolves after `ms` or at the next `notify()`, whichever
 * is first; a notify with nobody waiting is remembered, so a loop never
 * sleeps through work that arrived while it was busy. `Stopper.sleep(ms)`
 * only ends early when the owner stops (backoff must not be cut short by new
 * events).
 */
export class Signal {
  private pending = false;
  private waiter: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;

  notify(): void {
    if (this.waiter) this.fire();
    else this.pending = true;
  }

  wait(ms: number): Promise<void> {
    if (this.pending || ms <= 0) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.waiter = resolve;
      if (Number.isFinite(ms)) this.timer = setTimeout(() => this.fire(), ms);
    });
  }

  private fire(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const w = this.waiter;
    this.waiter = null;
    this.pending = false;
    w?.();
  }
}

export class Stopper {
  stopped = false;
  private readonly sleepers = new Set<() => void>();

  /** Sleeps `ms`; resolves at once when stop() is called. */
  sleep(ms: number): Promise<void> {
    if (this.stopped || ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.sleepers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  stop(): void {
    this.stopped = true;
    for (const s of [...this.sleepers]) s();
  }
}
