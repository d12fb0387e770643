/**
 * Layering rules, checked in CI by `npm run check:layers` (dependency-cruiser).
 *
 *   gen/ ← platform/ ← services/<name>/ ← services/registry.ts ← cmd/
 *   platform/storage never reaches up into platform/kernel; the generators
 *   (protoc plugins) use platform's storage types, never services or the CLI.
 *
 * Type-only imports count (tsPreCompilationDeps). Tests may cross layers to
 * boot real services (platform/kernel tests run the echo fixtures through the
 * registry), so the layer rules look at shipped code only; shipped code never
 * imports test helpers.
 */
const TEST = "(\\.test\\.ts$|^test/)";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "platform-not-to-app",
      comment:
        "platform/ is the runtime every service shares: it never imports services/, cmd/, tools/ or the " +
        "top-level migrations/ (data migrations are read by path; the engine is platform/migrate).",
      severity: "error",
      from: { path: "^platform/", pathNot: TEST },
      to: { path: "^(services|cmd|tools|migrations)/" },
    },
    {
      name: "storage-not-to-kernel",
      comment: "Storage is below the kernel: the kernel's parts open stores, stores never import the kernel.",
      severity: "error",
      from: { path: "^platform/storage/", pathNot: TEST },
      to: { path: "^platform/(kernel|rpc|http)/" },
    },
    {
      name: "generators-not-to-app",
      comment: "The protoc plugins use platform's storage types and parsers, never services, the CLI or tools.",
      severity: "error",
      from: { path: "^generators/", pathNot: TEST },
      to: { path: "^(services|cmd|tools|migrations)/" },
    },
    {
      name: "service-not-to-other-services",
      comment:
        "A service uses gen/ and platform/ only; it reaches another service through its generated client " +
        "(ctx.clients) or its events, never by importing that service's folder.",
      severity: "error",
      from: { path: "^services/([^/]+)/", pathNot: TEST },
      to: { path: "^services/", pathNot: "^services/$1/" },
    },
    {
      name: "service-not-to-cmd",
      comment: "Services are composed by cmd/ through services/registry.ts, never the other way round.",
      severity: "error",
      from: { path: "^services/", pathNot: TEST },
      to: { path: "^(cmd|tools|migrations)/" },
    },
    {
      name: "shipped-not-to-tests",
      comment: "Code that ships in a bundle never imports test helpers or tests.",
      severity: "error",
      from: { path: "^(platform|services|cmd|generators|gen)/", pathNot: TEST },
      to: { path: TEST },
    },
    {
      name: "no-circular",
      comment:
        "Import cycles make module order matter at boot; break them with a smaller module. A cycle closed only " +
        "by a type-only import (erased at compile time) is allowed.",
      severity: "error",
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } },
    },
    {
      name: "not-to-unresolvable",
      comment: "An import that resolves to nothing (a moved file, a typo).",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    includeOnly: "^(platform|services|cmd|generators|migrations|tools|test|gen|clients/(web|kotlin)/[^/]+\\.ts$)",
    exclude: { path: "(^|/)(node_modules|data|testdata|target)/" },
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".mts", ".js", ".mjs", ".cjs", ".json"],
    },
    moduleSystems: ["es6", "cjs"],
  },
};
