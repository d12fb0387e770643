/**
 * Part of the prebuilt test CLI only (test/support/cli/build.ts): every `import(<computed>)` in
 * the sources is compiled to `importAny(<computed>)`. The CLI imports TypeScript files by path at
 * run time — data migrations (migrations/data/*.ts) and the generated messages (gen/**\/*_pb.ts,
 * `orbit events inspect`) — which `cmd/orbit.mjs` loads through tsx. The prebuilt CLI has them
 * built too, beside the rest (same chunks, so the same module instances as its static imports):
 * a source file of the checkout is imported from its built copy, another TypeScript file through
 * tsx (loaded only then), anything else as it is.
 */
import { existsSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Set by the build (esbuild `define`): the checkout's root and the build's output directory. */
declare const __ORBIT_TEST_CLI__: { readonly root: string; readonly out: string };

const TS = /\.[cm]?tsx?$/;

export async function importAny(specifier: string): Promise<unknown> {
  if (!specifier.startsWith("file:") && !isAbsolute(specifier)) return import(specifier);
  const path = specifier.startsWith("file:") ? fileURLToPath(specifier) : specifier;
  if (!TS.test(path)) return import(specifier);
  const rel = relative(__ORBIT_TEST_CLI__.root, path);
  const built = join(__ORBIT_TEST_CLI__.out, rel.replace(TS, ".mjs"));
  if (!rel.startsWith("..") && !isAbsolute(rel) && existsSync(built)) return import(pathToFileURL(built).href);
  const { tsImport } = await import("tsx/esm/api");
  return tsImport(pathToFileURL(path).href, import.meta.url);
}
