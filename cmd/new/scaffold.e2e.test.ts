/**
 * `orbit new service` end to end, in a copy of the repository: scaffold,
 * `npm run gen`, type-check what was written, run the test it wrote (the
 * service boots in a bundle from the registry and answers), and run
 * `orbit bundle --services=<name>` and call its first RPC over HTTP. The
 * scaffolder touches only the service's proto folder, its services/<name>/
 * folder and the registry.
 */
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../test/support/bundle-process.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const COPY = [
  "proto",
  "gen",
  "platform",
  "services",
  "generators",
  "migrations",
  "cmd",
  "test",
  "tools",
  "third_party",
];
const ROOT_FILES = [
  "package.json",
  "buf.yaml",
  "buf.gen.yaml",
  "tsconfig.json",
  "biome.json",
  ".gitignore",
  "vitest.config.ts",
];

/** Runs a command to its end (asynchronously: a blocked worker would miss vitest's heartbeats). */
function run(cmd: string, args: string[], cwd: string): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, NODE_OPTIONS: "", NO_COLOR: "1", FORCE_COLOR: "0" } });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, out }));
  });
}

function files(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? files(p, base) : [relative(base, p)];
  });
}

describe("orbit new service", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "orbit-scaffold-"));
    for (const d of COPY) cpSync(join(ROOT, d), join(dir, d), { recursive: true });
    for (const f of ROOT_FILES) cpSync(join(ROOT, f), join(dir, f));
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("scaffolds a service that, after npm run gen, boots in a bundle and answers its first RPC", async () => {
    const before = new Map(
      files(join(dir))
        .filter((f) => !f.startsWith("node_modules"))
        .map((f) => [f, readFileSync(join(dir, f), "utf8")]),
    );

    const made = await run(process.execPath, ["cmd/orbit.mjs", "new", "service", "chat-room"], dir);
    expect(made.out).toContain("created  services/chat-room/service.ts");
    expect(made.status).toBe(0);
    // Only its proto folder, its service folder and one registry line.
    const after = files(dir).filter((f) => !f.startsWith("node_modules"));
    const touched = after.filter((f) => before.get(f) !== readFileSync(join(dir, f), "utf8"));
    expect(touched.sort()).toEqual([
      "proto/api/orbit/chat_room/v1/chat_room.proto",
      "proto/internal/orbit/chat_room/v1/events.proto",
      "proto/internal/orbit/chat_room/v1/tables.proto",
      "services/chat-room/handlers.test.ts",
      "services/chat-room/handlers.ts",
      "services/chat-room/service.ts",
      "services/chat-room/settings.ts",
      "services/registry.ts",
    ]);
    expect((await run(process.execPath, ["cmd/orbit.mjs", "new", "service", "chat-room"], dir)).status).toBe(2);

    const gen = await run(process.execPath, ["tools/gen.mjs"], dir);
    expect(gen.out).toContain("gen: buf generate");
    expect(gen.status, gen.out).toBe(0);

    // The files it wrote type-check against what gen made.
    writeFileSync(
      join(dir, "tsconfig.scaffold.json"),
      JSON.stringify({ extends: "./tsconfig.json", include: [], files: ["services/chat-room/handlers.test.ts"] }),
    );
    const tsc = await run(
      process.execPath,
      [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.scaffold.json"],
      dir,
    );
    expect(tsc.status, tsc.out).toBe(0);

    // The test it wrote passes: the service boots from the registry and answers.
    const test = await run(
      process.execPath,
      [join(ROOT, "node_modules/vitest/vitest.mjs"), "run", "services/chat-room"],
      dir,
    );
    expect(test.status, test.out).toBe(0);
    expect(test.out).toMatch(/Tests\s+2 passed/);

    // And `orbit bundle` runs it (the registry line, the CLI, boot migrations).
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        "cmd/orbit.mjs",
        "bundle",
        "--services=chat-room",
        "--host=127.0.0.1",
        `--port=${port}`,
        `--data-dir=${join(dir, "data")}`,
        "--dev-token",
        "tok=7",
      ],
      { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      let out = "";
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("orbit is ready")) resolve();
        });
        child.once("exit", (code) => reject(new Error(`orbit bundle exited ${code}: ${out}`)));
      });
      const res = await fetch(`http://127.0.0.1:${port}/orbit.chat_room.v1.ChatRoomService/AddNote`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer tok" },
        body: JSON.stringify({ text: "first" }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ note: { authorId: "7", text: "first" } });
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
  }, 480_000);
});
