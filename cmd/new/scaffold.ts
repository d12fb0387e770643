/**
 * `orbit new service <name>`: writes the new service's proto files and
 * services/<name>/ (templates.ts), adds it to services/registry.ts and its
 * `all` group (registry-edit.ts), and formats what it wrote with Biome. It
 * refuses to overwrite anything. Then `npm run gen` generates its code and
 * the service runs: `orbit bundle --services=<name>`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { LAYOUT } from "./layout.js";
import { namesOf } from "./names.js";
import { addToRegistry, RegistryEditError } from "./registry-edit.js";
import { scaffoldFiles } from "./templates.js";

export interface ScaffoldResult {
  /** Files written, relative to the root. */
  readonly created: readonly string[];
  /** Files changed (the registry). */
  readonly changed: readonly string[];
}

export class ScaffoldError extends Error {
  override readonly name = "ScaffoldError";
}

export function scaffoldService(root: string, name: string): ScaffoldResult {
  let n;
  try {
    n = namesOf(name);
  } catch (err) {
    throw new ScaffoldError((err as Error).message);
  }
  const files = scaffoldFiles(n);
  const taken = [LAYOUT.service(n), ...files.map((f) => f.path)].filter((p) => existsSync(join(root, p)));
  if (taken.length) throw new ScaffoldError(`${taken[0]} already exists: is there a service ${name} already?`);
  const registryPath = join(root, LAYOUT.registry);
  let registry: string;
  try {
    registry = addToRegistry(readFileSync(registryPath, "utf8"), n, LAYOUT.registry);
  } catch (err) {
    if (err instanceof RegistryEditError) throw new ScaffoldError(err.message);
    throw new ScaffoldError(`cannot read ${LAYOUT.registry}: ${(err as Error).message}`);
  }
  for (const f of files) {
    mkdirSync(dirname(join(root, f.path)), { recursive: true });
    writeFileSync(join(root, f.path), f.text);
  }
  writeFileSync(registryPath, registry);
  const written = [...files.map((f) => f.path).filter((p) => p.endsWith(".ts")), LAYOUT.registry];
  format(root, written);
  return { created: files.map((f) => f.path), changed: [LAYOUT.registry] };
}

/** Biome (biome.json) on the TypeScript written, when the repository has it installed. */
function format(root: string, paths: readonly string[]): void {
  const biome = join(root, "node_modules", ".bin", "biome");
  if (!existsSync(biome)) return;
  spawnSync(biome, ["format", "--write", "--log-level=error", ...paths], { cwd: root, stdio: "ignore" });
}
