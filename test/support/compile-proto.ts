/**
 * Compiles inline .proto sources with the real `buf build` (shipped by
 * @bufbuild/buf) against Orbit's own options.proto, for generator and
 * migrator tests that need descriptors or TableSpecs of made-up tables.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { create, createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import type { DescFile, FileRegistry } from "@bufbuild/protobuf";
import { CodeGeneratorRequestSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import type { CodeGeneratorRequest } from "@bufbuild/protobuf/wkt";
import { OrbitOptions } from "../../generators/common/options.js";
import { collectTables } from "../../generators/common/table-spec.js";
import type { TableSpec } from "../../platform/storage/schema.js";
import { BUF } from "./buf.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface Compiled {
  readonly registry: FileRegistry;
  /** The files given (not their imports), in the order given. */
  readonly files: DescFile[];
  /** A protoc plugin request to generate the files given (imports included). */
  readonly request: CodeGeneratorRequest;
}

/**
 * Compiles `sources` (path → text, e.g. {"demo/v1/t.proto": "…"}). The files
 * may import "orbit/options/v1/options.proto". Throws with buf's message if
 * they do not compile.
 */
export function compileProto(sources: Record<string, string>): Compiled {
  const dir = mkdtempSync(join(tmpdir(), "orbit-proto-"));
  try {
    cpSync(join(root, "proto", "api", "orbit", "options"), join(dir, "orbit", "options"), { recursive: true });
    for (const [path, text] of Object.entries(sources)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    writeFileSync(join(dir, "buf.yaml"), "version: v2\n");
    const out = join(dir, "image.binpb");
    try {
      execFileSync(BUF, ["build", "-o", out], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
      const e = err as { stderr?: Buffer };
      throw new Error(`buf build failed:\n${e.stderr?.toString() ?? String(err)}`);
    }
    const set = fromBinary(FileDescriptorSetSchema, readFileSync(out));
    const registry = createFileRegistry(set);
    const files = Object.keys(sources).map((p) => {
      const f = registry.getFile(p);
      if (!f) throw new Error(`compiled image has no file ${p}`);
      return f;
    });
    const request = create(CodeGeneratorRequestSchema, {
      fileToGenerate: Object.keys(sources),
      protoFile: set.file,
      parameter: "target=ts,import_extension=js",
    });
    return { registry, files, request };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The TableSpecs declared in `sources`, as the generators would emit them. */
export function tablesFromProto(sources: Record<string, string>): TableSpec[] {
  const { registry, files } = compileProto(sources);
  const options = OrbitOptions.find([...registry.files]);
  if (!options) throw new Error("options.proto not found in the compiled image");
  return collectTables(files, options).map((t) => t.spec);
}
