/**
 * A local Apache Cassandra node, run from the jars Maven fetches for
 * tools/cassandra/pom.xml: `startNode` writes a minimal config into the node's
 * own directory, runs CassandraDaemon on Java 17 in the background and waits
 * until CQL answers; `stopNode` ends that process (and only that one: the pid
 * file's process must be a CassandraDaemon of this directory). Both are
 * idempotent: a running node is reused, a stopped one is left alone; `fresh`
 * wipes the directory first. The CLI is tools/cassandra/cli.ts
 * (`npm run cassandra:start` / `cassandra:stop`); tests use these functions
 * for a node of their own (another port and directory).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, closeSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cassandraYaml, files, javaArgs, logbackXml, type NodeLayout } from "./config.js";

export type { NodeLayout } from "./config.js";

const POM = join(dirname(fileURLToPath(import.meta.url)), "pom.xml");
/** Default CQL port; the inter-node port is derived from it (9042 → 7000). */
export const DEFAULT_NATIVE_PORT = 9042;
export const MAX_HEAP_MB = 1024;

export interface NodeOptions {
  readonly host?: string;
  readonly nativePort?: number;
  /** Default: $ORBIT_CASSANDRA_DIR, else ~/.local/share/orbit/cassandra/<host>-<port>. */
  readonly dir?: string;
  readonly heapMb?: number;
}

export interface StartOptions extends NodeOptions {
  /** Stop the node if it runs and wipe its directory first. */
  readonly fresh?: boolean;
  /** Give up waiting for CQL after this long (default 240 s). */
  readonly timeoutMs?: number;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

export interface StartedNode {
  readonly layout: NodeLayout;
  /** The CassandraDaemon's pid; undefined when another process's node already answered on the port. */
  readonly pid: number | undefined;
  /** True when a node was already running (nothing was started). */
  readonly reused: boolean;
  /** How long the start took (0 when reused). */
  readonly ms: number;
  /** host:port for CASSANDRA_CONTACT_POINTS. */
  readonly contactPoint: string;
}

export function nodeLayout(opts: NodeOptions = {}): NodeLayout {
  const host = opts.host ?? "127.0.0.1";
  const nativePort = opts.nativePort ?? DEFAULT_NATIVE_PORT;
  const heapMb = opts.heapMb ?? MAX_HEAP_MB;
  if (heapMb > MAX_HEAP_MB || heapMb < 256) throw new Error(`heap ${heapMb} MiB: use 256..${MAX_HEAP_MB}`);
  const dir =
    opts.dir ??
    (process.env.ORBIT_CASSANDRA_DIR && nativePort === DEFAULT_NATIVE_PORT
      ? process.env.ORBIT_CASSANDRA_DIR
      : join(homedir(), ".local", "share", "orbit", "cassandra", `${host}-${nativePort}`));
  return { dir, host, nativePort, storagePort: nativePort - 2042, heapMb };
}

/** True when a CQL server answers OPTIONS with SUPPORTED on host:port (what "ready" means). */
export function cqlAnswers(host: string, port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let got = Buffer.alloc(0);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    // Frame header, protocol v4: version, flags, stream (2 bytes), opcode OPTIONS (5), body length 0.
    socket.on("connect", () => socket.write(Buffer.from([0x04, 0, 0, 0, 0x05, 0, 0, 0, 0])));
    socket.on("data", (chunk) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 9) done(got[0] === 0x84 && got[4] === 0x06); // response v4, SUPPORTED
    });
    socket.on("error", () => done(false));
    socket.on("close", () => done(false));
  });
}

/** The pid in the node's pid file if that process is a CassandraDaemon of this directory. */
export function runningPid(layout: NodeLayout): number | undefined {
  const f = files(layout.dir).pid;
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return undefined; // gone
  }
  const args = cmdline.split("\0");
  const ours =
    args.includes("org.apache.cassandra.service.CassandraDaemon") &&
    args.includes(`-Dcassandra.storagedir=${layout.dir}`);
  return ours ? pid : undefined;
}

/** Resident memory of a process in MiB (Linux), or undefined. */
export function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function lastLine(file: string): string {
  try {
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    return lines.at(-1)?.slice(0, 160) ?? "";
  } catch {
    return "";
  }
}

function tail(file: string, n: number): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-n).join("\n");
  } catch {
    return `(no ${file})`;
  }
}

/**
 * The classpath of cassandra-all (from ~/.m2), resolved by Maven once per
 * version of pom.xml and cached; Maven's downloads are shown as they come.
 */
export async function cassandraClasspath(log: (line: string) => void = () => {}): Promise<string> {
  const pom = readFileSync(POM);
  const hash = createHash("sha256").update(pom).digest("hex").slice(0, 12);
  const cacheDir = join(homedir(), ".cache", "orbit", "cassandra");
  const cache = join(cacheDir, `classpath-${hash}.txt`);
  if (existsSync(cache)) {
    const cp = readFileSync(cache, "utf8").trim();
    if (cp && cp.split(":").every((j) => existsSync(j))) return cp;
  }
  mkdirSync(cacheDir, { recursive: true });
  log(`maven: resolving cassandra-all and its dependencies (${POM})`);
  const t0 = Date.now();
  const args = [
    "-B",
    "-f",
    POM,
    "dependency:build-classpath",
    `-Dmdep.outputFile=${cache}`,
    "-Dmdep.includeScope=runtime",
  ];
  const output: string[] = [];
  let downloads = 0;
  let lastReport = 0;
  const code = await new Promise<number>((resolve, reject) => {
    const mvn = spawn("mvn", args, { stdio: ["ignore", "pipe", "pipe"] });
    const onLine = (line: string) => {
      output.push(line);
      if (/^Downloaded from /.test(line)) {
        downloads++;
        if (Date.now() - lastReport > 3_000) {
          lastReport = Date.now();
          log(`maven: ${downloads} files downloaded (${Math.round((Date.now() - t0) / 1000)} s)…`);
        }
      }
    };
    let buf = "";
    const feed = (chunk: Buffer) => {
      buf += chunk.toString();
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const l of lines) onLine(l.replace(/\x1b\[[0-9;]*m/g, ""));
    };
    mvn.stdout.on("data", feed);
    mvn.stderr.on("data", feed);
    mvn.on("error", (err) => reject(new Error(`cannot run mvn (is Maven installed?): ${err.message}`)));
    mvn.on("close", (c) => resolve(c ?? 1));
  });
  if (code !== 0 || !existsSync(cache)) {
    throw new Error(`mvn ${args.join(" ")} failed (exit ${code}):\n${output.slice(-30).join("\n")}`);
  }
  log(`maven: classpath ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${downloads} files downloaded)`);
  return readFileSync(cache, "utf8").trim();
}

function writeConfig(layout: NodeLayout): void {
  const f = files(layout.dir);
  mkdirSync(dirname(f.yaml), { recursive: true });
  mkdirSync(dirname(f.log), { recursive: true });
  writeFileSync(f.yaml, cassandraYaml(layout));
  writeFileSync(f.logback, logbackXml(layout.dir));
}

/** Starts the node (or finds it running) and resolves once CQL answers. */
export async function startNode(opts: StartOptions = {}): Promise<StartedNode> {
  const layout = nodeLayout(opts);
  const log = opts.log ?? (() => {});
  const where = `${layout.host}:${layout.nativePort}`;
  const t0 = Date.now();
  if (opts.fresh) {
    if (!runningPid(layout) && (await cqlAnswers(layout.host, layout.nativePort))) {
      throw new Error(`a Cassandra node not started from ${layout.dir} answers on ${where}: cannot wipe it (--fresh)`);
    }
    await stopNode(opts);
    rmSync(layout.dir, { recursive: true, force: true });
    log(`wiped ${layout.dir}`);
  }
  let pid = runningPid(layout);
  if (await cqlAnswers(layout.host, layout.nativePort)) {
    log(`Cassandra already answers on ${where}${pid ? ` (pid ${pid}, ${layout.dir})` : " (started elsewhere)"}`);
    return { layout, pid, reused: true, ms: 0, contactPoint: where };
  }
  const f = files(layout.dir);
  if (!pid) {
    const classpath = await cassandraClasspath(log);
    const jamm = classpath.split(":").find((j) => /\/jamm-[^/]*\.jar$/.test(j));
    if (!jamm) throw new Error("the jamm agent is not on cassandra-all's classpath");
    writeConfig(layout);
    const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, "bin", "java") : "java";
    const out = openSync(f.out, "a");
    const child = spawn(java, javaArgs(layout, classpath, jamm), {
      cwd: layout.dir,
      detached: true,
      stdio: ["ignore", out, out],
    });
    closeSync(out);
    pid = await new Promise<number>((resolve, reject) => {
      child.once("spawn", () => resolve(child.pid!));
      child.once("error", (err) => reject(new Error(`cannot run ${java}: ${err.message}`)));
    });
    child.unref();
    writeFileSync(f.pid, `${pid}\n`);
    log(`started CassandraDaemon (pid ${pid}, heap ${layout.heapMb} MiB) in ${layout.dir}; logs in ${dirname(f.log)}`);
  } else {
    log(`CassandraDaemon (pid ${pid}) is starting; waiting for it`);
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 240_000);
  let lastReport = Date.now();
  for (;;) {
    if (await cqlAnswers(layout.host, layout.nativePort, 1_000)) break;
    if (!runningPid(layout)) {
      throw new Error(
        `Cassandra (pid ${pid}) exited before CQL answered on ${where}.\n` +
          `--- ${f.out}\n${tail(f.out, 15)}\n--- ${f.log}\n${tail(f.log, 15)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Cassandra (pid ${pid}) did not answer CQL on ${where} within ${opts.timeoutMs ?? 240_000} ms; ` +
          `it is still running (stop it with npm run cassandra:stop). Last log line: ${lastLine(f.log)}`,
      );
    }
    if (Date.now() - lastReport >= 5_000) {
      lastReport = Date.now();
      log(
        `waiting for CQL on ${where}… ${Math.round((Date.now() - t0) / 1000)} s (${lastLine(f.log).replace(/^\S+\s+\[[^\]]*\]\s+\S+\s+\S+\s+/, "")})`,
      );
    }
    await sleep(500);
  }
  const ms = Date.now() - t0;
  log(`Cassandra answers CQL on ${where} after ${(ms / 1000).toFixed(1)} s (pid ${pid}, RSS ${rssMb(pid) ?? "?"} MiB)`);
  return { layout, pid, reused: false, ms, contactPoint: where };
}

/**
 * Stops the node started from this directory: SIGTERM, then SIGKILL after
 * `graceMs`. Resolves false when it was not running. Never touches a process
 * that is not this directory's CassandraDaemon.
 */
export async function stopNode(
  opts: NodeOptions & { readonly graceMs?: number; readonly log?: (line: string) => void } = {},
): Promise<boolean> {
  const layout = nodeLayout(opts);
  const log = opts.log ?? (() => {});
  const f = files(layout.dir);
  const pid = runningPid(layout);
  if (!pid) {
    if (existsSync(f.pid)) rmSync(f.pid);
    log(`no Cassandra node of ${layout.dir} is running`);
    return false;
  }
  const t0 = Date.now();
  process.kill(pid, "SIGTERM");
  const deadline = t0 + (opts.graceMs ?? 60_000);
  while (runningPid(layout) === pid && Date.now() < deadline) await sleep(200);
  if (runningPid(layout) === pid) {
    log(`pid ${pid} still running after ${opts.graceMs ?? 60_000} ms: SIGKILL`);
    process.kill(pid, "SIGKILL");
    while (runningPid(layout) === pid) await sleep(100);
  }
  rmSync(f.pid, { force: true });
  log(`stopped Cassandra (pid ${pid}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return true;
}

/** When the node's data directory was last started, for `status`. */
export function startedAt(layout: NodeLayout): Date | undefined {
  const f = files(layout.dir).pid;
  return existsSync(f) ? statSync(f).mtime : undefined;
}
