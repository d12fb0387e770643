/**
 * The `buf` executable for tests that run it many times (compile-proto.ts runs one
 * `buf build` per compiled case). node_modules/.bin/buf is a Node script that starts the
 * platform's native binary (@bufbuild/buf-<os>-<arch>): a Node start-up (~0.1 s of CPU) per
 * call. This is that same binary, found as that script finds it; the script when it is not
 * there.
 */
import { arch, endianness } from "node:os";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

const NATIVE: Readonly<Record<string, string>> = {
  "darwin arm64 LE": "@bufbuild/buf-darwin-arm64",
  "darwin x64 LE": "@bufbuild/buf-darwin-x64",
  "linux arm64 LE": "@bufbuild/buf-linux-aarch64",
  "linux armv7 LE": "@bufbuild/buf-linux-armv7",
  "linux x64 LE": "@bufbuild/buf-linux-x64",
};

function nativeBuf(): string | undefined {
  const pkg = NATIVE[`${process.platform} ${arch()} ${endianness()}`];
  if (!pkg) return undefined;
  try {
    return createRequire(join(root, "package.json")).resolve(`${pkg}/bin/buf`);
  } catch {
    return undefined;
  }
}

/** The native buf binary, or node_modules/.bin/buf. */
export const BUF = nativeBuf() ?? join(root, "node_modules", ".bin", "buf");
