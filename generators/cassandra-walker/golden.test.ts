/**
 * Golden tests: the walker run on the repo's own proto module reproduces the
 * committed gen/**\/*_wide.ts and *.cql byte for byte, and the committed .cql
 * files match the reviewed expectations in testdata/ (set UPDATE_GOLDEN=1 to
 * rewrite those after reviewing a change).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compileProto } from "../../test/support/compile-proto.js";
import { plugin } from "./main.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const testdata = join(here, "testdata");

function walk(dir: string, keep: (p: string) => boolean): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, keep));
    else if (keep(p)) out.push(p);
  }
  return out.sort();
}

const isOurs = (p: string) => p.endsWith("_wide.ts") || p.endsWith(".cql");

/** `npm run gen` formats generated TypeScript with Biome (biome.json); do the same to compare. */
function formatted(name: string, content: string): string {
  if (!name.endsWith(".ts")) return content;
  return execFileSync(join(root, "node_modules", ".bin", "biome"), ["format", `--stdin-file-path=${name}`], {
    cwd: root,
    input: content,
    encoding: "utf8",
  });
}

describe("Cassandra walker golden files", () => {
  it("reproduces the committed gen/**/*_wide.ts and *.cql from proto/ (both modules)", () => {
    const sources = Object.fromEntries(
      ["api", "internal", "vendor"].flatMap((module) => {
        const protoDir = join(root, "proto", module);
        return walk(protoDir, (p) => p.endsWith(".proto")).map((p) => [relative(protoDir, p), readFileSync(p, "utf8")]);
      }),
    );
    const res = plugin.run(compileProto(sources).request);
    expect(res.error ?? "").toBe("");
    const generated = new Map(res.file.map((f) => [f.name, f.content]));
    const committed = walk(join(root, "gen"), isOurs).map((p) => relative(join(root, "gen"), p));
    expect([...generated.keys()].sort()).toEqual(committed);
    for (const name of committed) {
      expect(formatted(name, generated.get(name) ?? ""), `gen/${name} is stale: run npm run gen`).toBe(
        readFileSync(join(root, "gen", name), "utf8"),
      );
    }
  });

  it("matches the reviewed DDL in testdata/", () => {
    const files = walk(join(root, "gen"), (p) => p.endsWith(".cql"));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const name = relative(join(root, "gen"), file);
      const golden = join(testdata, name);
      const text = readFileSync(file, "utf8");
      if (process.env.UPDATE_GOLDEN === "1") {
        mkdirSync(dirname(golden), { recursive: true });
        writeFileSync(golden, text);
      }
      expect(existsSync(golden), `no golden file testdata/${name}`).toBe(true);
      expect(text, `gen/${name} differs from testdata/${name}`).toBe(readFileSync(golden, "utf8"));
    }
  });
});
