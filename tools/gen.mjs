#!/usr/bin/env node
// `npm run gen`: lint the protos, then `buf generate` (protoc-gen-es and our
// walkers in generators/), writing gen/ from scratch. Prints each step.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const buf = join(root, "node_modules", ".bin", "buf");
const biome = join(root, "node_modules", ".bin", "biome");

function step(label, args, cmd = buf) {
  const t0 = Date.now();
  process.stdout.write(`gen: ${label} … `);
  const r = spawnSync(cmd, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) {
    process.stdout.write(`failed (exit ${r.status})\n`);
    process.exit(r.status ?? 1);
  }
  process.stdout.write(`done in ${Date.now() - t0} ms\n`);
}

function countFiles(dir) {
  let n = 0;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    n += statSync(p).isDirectory() ? countFiles(p) : 1;
  }
  return n;
}

step("buf lint", ["lint"]);
step("buf generate (protoc-gen-es, db walker, Cassandra walker)", ["generate"]);
// The UTS #39 confusable mapping (third_party/unicode/confusables.txt) for platform/text.ts.
step("unicode confusables", [join(root, "tools", "unicode", "confusables.mjs")], process.execPath);
// Generated code is formatted like the rest (biome.json), so `npm run gen` reproduces it byte for byte.
step("biome format gen/", ["format", "--write", "--log-level=error", "--no-errors-on-unmatched", "gen"], biome);
console.log(`gen: ${countFiles(join(root, "gen"))} files in gen/`);
