/**
 * Server-side load for the benches: h2load (nghttp2's HTTP/2 load generator,
 * a C program; `apt-get install nghttp2-client`) run as a separate process,
 * so the client neither runs in the bench's own Node process nor hides how
 * much of a core it takes. The server's CPU per call is read from
 * /proc/<pid>/stat (Linux) before and after the run.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface H2loadFigures {
  /** Completed requests per second (h2load's "finished in … req/s"). */
  readonly rps: number;
  /** Mean time per request (h2load reports no percentiles in timing-based runs). */
  readonly meanMs: number;
  readonly calls: number;
  /** Requests that did not get a 2xx answer, failed or errored. */
  readonly errors: number;
  /** The server process's CPU time (user + system) per call, if /proc could be read. */
  readonly cpuUsPerCall: number | null;
}

export interface H2loadRun {
  readonly url: string;
  /** The request body (POST). */
  readonly bodyFile: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly seconds: number;
  readonly warmUpSeconds: number;
  /** Connections (-c) and streams in flight on each (-m). */
  readonly connections: number;
  readonly streams: number;
  /** The server's process id, for its CPU time. */
  readonly serverPid?: number;
}

/** The h2load on PATH ("nghttp2/1.52.0"), or undefined if there is none. */
export function h2loadVersion(): string | undefined {
  const r = spawnSync("h2load", ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return undefined;
  return /nghttp2\/[\d.]+/.exec(r.stdout)?.[0] ?? r.stdout.trim();
}

/** CPU time (user + system) of a process in µs, from /proc/<pid>/stat; undefined off Linux. */
export function processCpuMicros(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1e6) / clockTicks();
  } catch {
    return undefined;
  }
}

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
    const n = Number(r.stdout?.trim());
    ticks = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return ticks;
}

/** Parses h2load's summary. */
export function parseH2load(out: string): Omit<H2loadFigures, "cpuUsPerCall"> {
  const rps = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out);
  const requests =
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
  const codes = /status codes: (\d+) 2xx/.exec(out);
  const mean = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(out);
  if (!rps || !requests || !codes) throw new Error(`h2load's output is not as expected:\n${out}`);
  const done = Number(requests[3]);
  const ok2xx = Number(codes[1]);
  return {
    rps: Math.round(Number(rps[1])),
    meanMs: mean ? toMs(mean[1]!) : Number.NaN,
    calls: done,
    // Not "succeeded" (failed or errored) or not 2xx, whichever counts more (h2load counts 4xx/5xx as failed).
    errors: Math.max(done - Number(requests[4]), done - ok2xx),
  };
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v);
  if (!m) return Number.NaN;
  const n = Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1);
  return Math.round(n * 1000) / 1000;
}

/** Runs h2load for a warm-up, then measured; returns its figures and the server's CPU per call. */
export async function runH2load(run: H2loadRun): Promise<H2loadFigures> {
  const args = (seconds: number) => [
    "-c",
    String(run.connections),
    "-m",
    String(run.streams),
    "-D",
    `${Math.round(seconds * 1000)}ms`,
    "-d",
    run.bodyFile,
    ...Object.entries(run.headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
    run.url,
  ];
  if (run.warmUpSeconds > 0) await h2load(args(run.warmUpSeconds));
  const cpu0 = run.serverPid !== undefined ? processCpuMicros(run.serverPid) : undefined;
  const out = await h2load(args(run.seconds));
  const cpu1 = run.serverPid !== undefined ? processCpuMicros(run.serverPid) : undefined;
  const f = parseH2load(out);
  const cpuUsPerCall =
    cpu0 !== undefined && cpu1 !== undefined && f.calls > 0 ? Math.round((cpu1 - cpu0) / f.calls) : null;
  return { ...f, cpuUsPerCall };
}

function h2load(args: string[]): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = spawn("h2load", args, { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (d: Buffer) => (text += d.toString()));
    child.stderr.on("data", (d: Buffer) => (text += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(text) : reject(new Error(`h2load exited with ${code}:\n${text}`)),
    );
  });
}
