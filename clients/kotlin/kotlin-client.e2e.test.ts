/**
 * The Kotlin client (connect-kotlin + OkHttp, Java lite messages generated
 * from proto/api) runs the social scenario against a real bundle over the
 * network, over the Connect protocol, gRPC and gRPC-Web.
 *
 * It needs Java and Maven: the jar is built with `mvn package` when it is
 * missing or older than its sources (the first build downloads protoc, the
 * plugin and the libraries into ~/.m2 and takes minutes; later ones reuse
 * them). In CI (CI set) a missing Java or Maven fails the test; on a
 * developer machine without them it is skipped with one line saying so.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBundle, type BundleProcess } from "../../test/support/bundle-process.js";

const ROOT = join(import.meta.dirname, "..", "..");
const DIR = join(ROOT, "clients", "kotlin");
const JAR = join(DIR, "target", "orbit-client.jar");

const STEPS = [
  "sign-up",
  "log-in",
  "follow",
  "post",
  "like twice",
  "comment",
  "home feed",
  "non-owner delete",
  "no token",
  "bad input",
  "short deadline",
  "block",
];

function has(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
}

const toolchain = has("java", ["-version"]) && has("mvn", ["-v"]);
const inCi = Boolean(process.env.CI);
if (!toolchain && !inCi) {
  console.log("kotlin client e2e: skipped (no Java or Maven on this machine; CI runs it)");
}

/** Newest modification time of the files the jar is built from. */
function newestSource(): number {
  let newest = 0;
  const visit = (p: string) => {
    const s = statSync(p);
    if (s.isDirectory()) for (const e of readdirSync(p)) visit(join(p, e));
    else newest = Math.max(newest, s.mtimeMs);
  };
  for (const p of [join(DIR, "pom.xml"), join(DIR, "protoc.sh"), join(DIR, "src"), join(ROOT, "proto", "api")])
    visit(p);
  return newest;
}

function jarIsFresh(): boolean {
  try {
    return statSync(JAR).mtimeMs >= newestSource();
  } catch {
    return false;
  }
}

/** `mvn package`, its output passed through line by line (the first build takes minutes). */
function build(): Promise<void> {
  const t0 = Date.now();
  console.log("kotlin client: building with Maven (a first build downloads protoc and the libraries: minutes)…");
  return new Promise((resolve, reject) => {
    const mvn = spawn("mvn", ["-B", "--no-transfer-progress", "package"], {
      cwd: DIR,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const tail: string[] = [];
    const onLine = (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        if (/^\[INFO\] --- |protoc\.sh:|BUILD|ERROR/.test(line)) console.log(`kotlin client: ${line}`);
      }
    };
    mvn.stdout.on("data", onLine);
    mvn.stderr.on("data", onLine);
    mvn.on("error", reject);
    mvn.on("exit", (code) => {
      if (code === 0) {
        console.log(`kotlin client: built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        resolve();
      } else reject(new Error(`mvn package failed (exit ${code}):\n${tail.join("\n")}`));
    });
  });
}

describe.skipIf(!toolchain && !inCi)("Kotlin client (connect-kotlin + OkHttp) against a bundle", () => {
  let bundle: BundleProcess;

  beforeAll(async () => {
    if (!toolchain) {
      throw new Error(
        "Java and Maven are required in CI for the Kotlin client test (apt-get install maven default-jdk)",
      );
    }
    if (!jarIsFresh()) await build();
    else console.log("kotlin client: target/orbit-client.jar is up to date");
    // scrypt at 2^13: a LogIn takes several ms on the server, so the client's "short deadline"
    // step (1 ms) always expires first; at 2^10 a LogIn could finish inside 1 ms (seen in CI once
    // the test bundles started faster) and the step failed on a race, not on a fault.
    bundle = await startBundle(["--services", "social", "--scrypt-log-n", "13"]);
  }, 900_000);

  afterAll(async () => {
    await bundle?.stop();
  });

  it.each(["connect", "grpc", "grpc-web"])(
    "runs the social scenario over %s",
    (protocol) => {
      let out: string;
      try {
        out = execFileSync("java", ["-jar", JAR, bundle.url, protocol], { encoding: "utf8", timeout: 120_000 });
      } catch (err) {
        const e = err as { status: number; stdout: string; stderr: string };
        throw new Error(`the Kotlin client failed (exit ${e.status}):\n${e.stdout}\n${e.stderr}`);
      }
      console.log(out.trimEnd());
      const lines = out.trim().split("\n");
      expect(lines.filter((l) => l.startsWith("ok ")).map((l) => l.slice(3, l.indexOf(":")))).toEqual(STEPS);
      expect(lines.at(-1)).toMatch(new RegExp(`^scenario passed: ${STEPS.length} steps over ${protocol} in \\d+ ms$`));
      expect(out).toContain("ok like twice: like_count 1 after two likes");
      expect(out).toContain("ok home feed: 3 pages (2,2,1), newest first, to the end");
      expect(out).toMatch(/ok bad input: invalid_argument: .*text/);
    },
    120_000,
  );
});
