/**
 * The prebuilt CLI that tests run as child processes (test/support/bundle-process.ts and
 * test/support/migrate/children.ts). `cmd/orbit.mjs` registers tsx, whose loader thread costs
 * every spawn seconds of CPU on Node 20 (about 3.3 s to boot a bundle of every service, 1.5 s
 * prebuilt); the suite starts hundreds of them. vitest's global setup
 * (test/support/global-setup.ts) builds this once per run with esbuild, from the sources as
 * they are, into a fresh directory under `.test-cli/` (git-ignored; removed after the run).
 *
 * What stays as it was: node_modules are not bundled (`packages: "external"`: native modules and
 * package files load as usual); commands are still loaded only when asked for (`splitting`: one
 * chunk per dynamic import); every `import.meta.url` in the sources is the source file's own URL,
 * so what is read beside a module (package.json, gen/, migrations/data/, the watch page, the
 * community series) is read from the checkout; and what is imported by path at run time (data
 * migrations, generated messages) comes from this build (test/support/cli/import-any.ts).
 *
 * `cmd/orbit.mjs` itself (what `npm start` and `npx orbit` run) stays covered: the scaffold test
 * (cmd/new/scaffold.e2e.test.ts) and the `source` runs of cmd/lifecycle.test.ts use it.
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdir, mkdtemp } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build, type Plugin } from "esbuild";
import { pidAlive } from "../../../platform/pid.js";
import { testCliIn, type TestCli } from "./current.js";

export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
/** Where builds go (git-ignored); each run has its own subdirectory. */
export const BUILD_DIR = join(ROOT, ".test-cli");

const IMPORT_ANY = fileURLToPath(new URL("./import-any.ts", import.meta.url));

/** Source files (relative to the root) built as entry points. */
function entryPoints(): string[] {
  const ts = (dir: string, keep: (f: string) => boolean) =>
    (readdirSync(join(ROOT, dir), { recursive: true }) as string[])
      .filter(keep)
      .map((f) => join(dir, f))
      .sort();
  return [
    "cmd/main.ts",
    "test/support/migrate/migrate-child.ts",
    // Imported by path at run time (see import-any.ts).
    ...ts("migrations/data", (f) => /\.ts$/.test(f) && !/\.(test|spec|d)\.ts$/.test(f)),
    ...ts("gen", (f) => f.endsWith("_pb.ts")),
  ];
}

/**
 * In the checkout's own .ts files: `import.meta.url` (and `.dirname`, `.filename`) are the
 * source file's, and a dynamic import of a computed specifier goes through importAny. A literal
 * `import("x")` is left to esbuild (bundled, or external for a package).
 */
const sourceShape: Plugin = {
  name: "orbit-test-cli-sources",
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes("/node_modules/") || args.path === IMPORT_ANY) return undefined;
      const text = readFileSync(args.path, "utf8");
      let out = text
        .replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href))
        .replaceAll("import.meta.dirname", JSON.stringify(dirname(args.path)))
        .replaceAll("import.meta.filename", JSON.stringify(args.path));
      const computed = /\bimport\((?!\s*["'`])/g;
      if (computed.test(out)) {
        out = `import { importAny as __orbitImportAny } from ${JSON.stringify(IMPORT_ANY)};\n${out.replace(computed, "__orbitImportAny(")}`;
      }
      return out === text ? undefined : { contents: out, loader: "ts" };
    });
  },
};

/** Removes the builds of runs that ended without removing theirs (their process is gone). */
export function removeStaleBuilds(): void {
  let names: string[];
  try {
    names = readdirSync(BUILD_DIR);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (!pid || pidAlive(pid)) continue;
    rmSync(join(BUILD_DIR, name), { recursive: true, force: true });
  }
}

/** Builds the CLI into a new directory under BUILD_DIR (about a second). */
export async function buildTestCli(): Promise<TestCli> {
  await mkdir(BUILD_DIR, { recursive: true });
  const dir = await mkdtemp(join(BUILD_DIR, `${process.pid}-`));
  try {
    await build({
      absWorkingDir: ROOT,
      entryPoints: entryPoints(),
      outbase: ROOT,
      outdir: dir,
      outExtension: { ".js": ".mjs" },
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      target: "node20",
      packages: "external",
      // Class and function names as in the sources (error types in logs): bundling may rename a
      // name two modules share.
      keepNames: true,
      logLevel: "warning",
      define: { __ORBIT_TEST_CLI__: JSON.stringify({ root: ROOT, out: dir }) },
      plugins: [sourceShape],
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return testCliIn(dir);
}
