#!/usr/bin/env node
// Keeps package-lock.json installable with `npm ci` on this project's registry.
//
// The registry these machines reach lacks some platform-specific optional
// packages (e.g. @bufbuild/buf-darwin-arm64, several @rollup/rollup-* builds).
// `npm install` then leaves them out of the lock, and `npm ci` refuses the
// lock as "out of sync". This script adds a lock entry for every optional
// dependency that is missing one, with its os/cpu taken from the name, so that
// `npm ci` skips it on other platforms without fetching it. Run it after
// changing dependencies: `node tools/lock-platforms.mjs`.
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const pkgs = lock.packages;

const OS = ["darwin", "linux", "win32", "android", "freebsd", "openbsd", "openharmony", "netbsd", "sunos", "aix"];
const CPU = {
  x64: "x64",
  arm64: "arm64",
  aarch64: "arm64",
  armv7: "arm",
  arm: "arm",
  ia32: "ia32",
  loong64: "loong64",
  ppc64: "ppc64",
  riscv64: "riscv64",
  s390x: "s390x",
};

function platformOf(name) {
  const parts = name.split("/").pop().split("-");
  const os = parts.find((p) => OS.includes(p));
  const cpuPart =
    parts.find((p) => p in CPU) ??
    (parts.includes("gnueabihf") || parts.includes("musleabihf") || parts.includes("eabi") ? "arm" : undefined);
  const libc =
    parts.includes("musl") || parts.includes("musleabihf")
      ? "musl"
      : parts.includes("gnu") || parts.includes("gnueabihf")
        ? "glibc"
        : undefined;
  return { os, cpu: cpuPart ? (CPU[cpuPart] ?? cpuPart) : undefined, libc };
}

let added = 0;
for (const [where, meta] of Object.entries(pkgs)) {
  for (const [dep, spec] of Object.entries(meta.optionalDependencies ?? {})) {
    const base = where === "" ? "node_modules" : `${where}/node_modules`;
    if (pkgs[`${base}/${dep}`] || pkgs[`node_modules/${dep}`]) continue;
    const { os, cpu, libc } = platformOf(dep);
    if (!os) continue; // not a platform package: leave it to npm
    pkgs[`node_modules/${dep}`] = {
      version: spec,
      ...(meta.dev ? { dev: true } : {}),
      optional: true,
      os: [os],
      ...(cpu ? { cpu: [cpu] } : {}),
      ...(libc ? { libc: [libc] } : {}),
    };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(pkgs).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
writeFileSync(path, JSON.stringify(lock, null, 2) + "\n");
console.log(`lock-platforms: added ${added} platform entries`);
