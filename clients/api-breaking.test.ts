/**
 * `buf breaking` guards the public API (proto/api) against the last release
 * (clients/api-baseline.binpb, made by `npm run api:baseline`): the current
 * API passes, and a wire-incompatible change to a copy of it fails.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..");
const BUF = join(ROOT, "node_modules", ".bin", "buf");
const BASELINE = join(ROOT, "clients", "api-baseline.binpb");

/** Runs `buf breaking proto/api --against <baseline>` in `cwd`: its exit code and output. */
async function breaking(cwd: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(BUF, ["breaking", "proto/api", "--against", BASELINE], { cwd });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

/** A copy of the workspace (buf.yaml and proto/) whose post.proto has gone through `edit`. */
function editedCopy(edit: (postProto: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), "orbit-breaking-"));
  dirs.push(dir);
  cpSync(join(ROOT, "buf.yaml"), join(dir, "buf.yaml"));
  cpSync(join(ROOT, "proto"), join(dir, "proto"), { recursive: true });
  const file = join(dir, "proto", "api", "orbit", "post", "v1", "post.proto");
  const before = readFileSync(file, "utf8");
  const after = edit(before);
  expect(after).not.toBe(before);
  writeFileSync(file, after);
  return dir;
}

/** CreatePostRequest.text's declaration up to its options (the first field of that name in post.proto). */
const TEXT_FIELD = "string text = 1 [";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("buf breaking against the released API", () => {
  it("passes for the API as it is", async () => {
    expect(await breaking(ROOT)).toEqual({ code: 0, out: "" });
  });

  it("fails when a field changes its number", async () => {
    const dir = editedCopy((s) => s.replace(TEXT_FIELD, "string text = 9 ["));
    const r = await breaking(dir);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('Previously present field "1" with name "text" on message "CreatePostRequest" was deleted');
  });

  it("fails when a field changes its type; passes when a field is added", async () => {
    const retyped = await breaking(editedCopy((s) => s.replace(TEXT_FIELD, "bytes text = 1 [")));
    expect(retyped.code).not.toBe(0);
    expect(retyped.out).toMatch(/type/i);
    const added = await breaking(
      editedCopy((s) =>
        s.replace("message CreatePostRequest {\n", "message CreatePostRequest {\n  string language = 99;\n"),
      ),
    );
    expect(added).toEqual({ code: 0, out: "" });
  });
});
