/**
 * A long-running ffmpeg process (a live remux, a test publisher): spawned
 * with an argument array (no shell), its stderr read line by line, stopped
 * gracefully (SIGINT: ffmpeg writes its trailer, e.g. the playlist's
 * ENDLIST) and killed (SIGKILL) when it does not exit within a grace period.
 *
 * Every process started here is tracked until it exits, so a bundle can stop
 * them all on shutdown (`stopAllFfmpeg`) and none outlives this Node process
 * on a normal exit or an uncaught exception (a synchronous SIGKILL in an
 * `exit` hook). If Node itself is SIGKILLed, the hook cannot run: live
 * remuxes read their input from this process's own RTMP server, so they see
 * EOF and exit by themselves (their `-rw_timeout` bounds a stalled read).
 *
 * `runFfmpeg` (./run.ts) is the run-to-completion use of it (media's jobs:
 * a CPU-time limit, an abort signal, a clear reason on failure).
 */
import { type ChildProcess, spawn } from "node:child_process";

export interface FfmpegExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface FfmpegProcessOptions {
  /** Arguments after the binary name. `-hide_banner -nostdin` are added. */
  readonly args: readonly string[];
  readonly binary?: "ffmpeg" | "ffprobe";
  /** Called with each complete stderr line. */
  readonly onStderrLine?: (line: string) => void;
  /** Called with stdout chunks (e.g. `-progress pipe:1`); stdout is ignored without it. */
  readonly onStdout?: (chunk: string) => void;
  /** How many characters of stderr to keep for error messages. Default 4096. */
  readonly stderrKeep?: number;
  /**
   * CPU seconds the process may use (RLIMIT_CPU, set by util-linux's
   * `prlimit` around it): past it the kernel sends SIGXCPU, then SIGKILL.
   */
  readonly cpuSeconds?: number;
}

const running = new Set<FfmpegProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const p of running) p.killNow();
  });
}

export class FfmpegProcess {
  readonly pid: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<FfmpegExit>;
  private readonly child: ChildProcess;
  private tail = "";
  private exit: FfmpegExit | undefined;

  constructor(opts: FfmpegProcessOptions) {
    const binary = opts.binary ?? "ffmpeg";
    const args = binary === "ffmpeg" ? ["-hide_banner", "-nostdin", ...opts.args] : [...opts.args];
    const keep = opts.stderrKeep ?? 4096;
    const stdio: ["ignore", "pipe" | "ignore", "pipe"] = ["ignore", opts.onStdout ? "pipe" : "ignore", "pipe"];
    this.child = opts.cpuSeconds
      ? spawn("prlimit", [`--cpu=${Math.max(1, Math.ceil(opts.cpuSeconds))}`, "--", binary, ...args], { stdio })
      : spawn(binary, args, { stdio });
    let spawnError: Error | undefined;
    this.exited = new Promise<FfmpegExit>((resolve) => {
      this.child.once("error", (err) => {
        spawnError = err;
        // "close" follows only if the process was spawned; resolve here for a failed spawn.
        if (this.child.pid === undefined) {
          this.exit = { code: -1, signal: null };
          running.delete(this);
          resolve(this.exit);
        }
      });
      this.child.once("close", (code, signal) => {
        this.exit = { code, signal };
        running.delete(this);
        resolve(this.exit);
      });
    });
    if (this.child.pid === undefined) {
      // spawn failed synchronously (ENOENT is reported on the next tick as "error").
      this.pid = -1;
    } else {
      this.pid = this.child.pid;
      running.add(this);
      installExitHook();
    }
    let pending = "";
    this.child.stderr?.setEncoding("utf8");
    this.child.stderr?.on("data", (s: string) => {
      this.tail = (this.tail + s).slice(-keep);
      if (!opts.onStderrLine) return;
      pending += s;
      let at: number;
      while ((at = pending.search(/[\r\n]/)) >= 0) {
        const line = pending.slice(0, at).trim();
        pending = pending.slice(at + 1);
        if (line) opts.onStderrLine(line);
      }
    });
    if (opts.onStdout) {
      this.child.stdout?.setEncoding("utf8");
      this.child.stdout?.on("data", opts.onStdout);
    }
    void this.exited.then(() => {
      if (spawnError && this.pid === -1) this.tail = `cannot run ${binary}: ${spawnError.message}`;
    });
  }

  /** True until the process has exited. */
  get running(): boolean {
    return this.exit === undefined && this.pid !== -1;
  }

  /** The exit, once it happened. */
  get exitStatus(): FfmpegExit | undefined {
    return this.exit;
  }

  /** The last lines of stderr (for error messages). */
  stderrTail(): string {
    return this.tail;
  }

  /** Sends a signal (SIGSTOP/SIGCONT in tests); false if the process is gone. */
  signal(sig: NodeJS.Signals): boolean {
    return this.running && this.child.kill(sig);
  }

  /**
   * Asks ffmpeg to finish (SIGINT: it flushes and writes its trailer), then
   * SIGKILLs it after `graceMs`. Resolves once it has exited.
   */
  async stop(graceMs = 2000): Promise<FfmpegExit> {
    if (!this.running) return this.exited;
    this.child.kill("SIGCONT"); // a stopped process cannot handle SIGINT
    this.child.kill("SIGINT");
    const timer = setTimeout(() => this.killNow(), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** SIGKILL, synchronously (safe in an exit hook). */
  killNow(): void {
    if (this.running) this.child.kill("SIGKILL");
  }
}

/** PIDs of ffmpeg processes started by this module that have not exited yet. */
export function runningFfmpegPids(): number[] {
  return [...running].map((p) => p.pid);
}

/** Stops every ffmpeg started here (bundle shutdown). */
export async function stopAllFfmpeg(graceMs = 2000): Promise<void> {
  await Promise.all([...running].map((p) => p.stop(graceMs)));
}

/** Whether a process with this PID exists (signal 0); used by tests to prove cleanup. */
export { pidAlive } from "../pid.js";
