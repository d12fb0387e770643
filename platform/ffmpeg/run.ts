/**
 * ffmpeg (or ffprobe) run to completion: the typed wrapper that media's jobs
 * use instead of fluent-ffmpeg (archived, deprecated): an argument array (no
 * shell), a CPU-time limit, an abort signal (SIGKILL at once), and an error
 * with the reason and the end of stderr when it does not exit 0.
 */
import { FfmpegProcess } from "./process.js";

export class FfmpegFailed extends Error {
  override readonly name = "FfmpegFailed";
  constructor(
    message: string,
    /** "cpu": over the CPU-time limit; "aborted": the signal fired; "exit": ffmpeg failed. */
    readonly why: "cpu" | "aborted" | "exit",
  ) {
    super(message);
  }
}

export interface RunOptions {
  readonly binary?: "ffmpeg" | "ffprobe";
  readonly cpuSeconds?: number;
  readonly signal?: AbortSignal;
}

/** Runs to the end; resolves with stdout (ffprobe's JSON), rejects with FfmpegFailed. */
export async function runFfmpeg(args: readonly string[], opts: RunOptions = {}): Promise<string> {
  opts.signal?.throwIfAborted();
  let out = "";
  const p = new FfmpegProcess({
    args,
    binary: opts.binary,
    cpuSeconds: opts.cpuSeconds,
    onStdout: (s) => {
      out += s;
    },
  });
  const onAbort = () => p.killNow();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const exit = await p.exited;
  opts.signal?.removeEventListener("abort", onAbort);
  if (exit.code === 0) return out;
  if (opts.signal?.aborted) throw new FfmpegFailed("ffmpeg was stopped (shutdown)", "aborted");
  if (exit.signal === "SIGXCPU" || (exit.signal === "SIGKILL" && opts.cpuSeconds)) {
    throw new FfmpegFailed(`ffmpeg used more than its CPU-time limit of ${opts.cpuSeconds} s`, "cpu");
  }
  const tail = p.stderrTail().trim().split("\n").slice(-3).join(" | ");
  throw new FfmpegFailed(
    `${opts.binary ?? "ffmpeg"} exited with ${exit.code ?? exit.signal}${tail ? `: ${tail}` : ""}`,
    "exit",
  );
}
