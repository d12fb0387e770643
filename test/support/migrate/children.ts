/**
 * Starts migrate-child.ts processes and talks to them (race and kill tests).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TableSpec } from "../../../platform/storage/schema.js";
import { currentTestCli } from "../cli/current.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const source = join(root, "test", "support", "migrate", "migrate-child.ts");

export interface Child {
  readonly proc: ChildProcess;
  /** Resolves with the first stdout line that starts with `prefix`. */
  waitFor(prefix: string): Promise<string>;
  /** Resolves with the exit code (or signal name) and all output. */
  readonly exited: Promise<{ code: number | string; stdout: string; stderr: string }>;
  go(): void;
}

export function writeTables(tables: readonly TableSpec[]): string {
  const path = join(mkdtempSync(join(tmpdir(), "orbit-tables-")), "tables.json");
  writeFileSync(path, JSON.stringify(tables));
  return path;
}

export function startChild(url: string, tablesPath: string, pauseAt?: string): Child {
  // The run's prebuilt child (test/support/cli/build.ts), or the source through tsx.
  const built = currentTestCli()?.migrateChild;
  const script = built ? [built] : ["--import", "tsx", source];
  const proc = spawn(process.execPath, [...script, url, tablesPath, ...(pauseAt ? [pauseAt] : [])], {
    cwd: root,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const waiters: { prefix: string; resolve: (l: string) => void }[] = [];
  proc.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const line of chunk.split("\n")) {
      for (const w of [...waiters]) {
        if (line.startsWith(w.prefix)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | string; stdout: string; stderr: string }>((res) =>
    proc.on("exit", (code, signal) => res({ code: code ?? signal ?? -1, stdout, stderr })),
  );
  return {
    proc,
    exited,
    go: () => proc.stdin!.write("GO\n"),
    waitFor: (prefix) =>
      new Promise<string>((res, rej) => {
        const seen = stdout.split("\n").find((l) => l.startsWith(prefix));
        if (seen) return res(seen);
        waiters.push({ prefix, resolve: res });
        void exited.then((e) =>
          rej(new Error(`child exited (${e.code}) before printing ${prefix}:\n${e.stdout}\n${e.stderr}`)),
        );
      }),
  };
}
