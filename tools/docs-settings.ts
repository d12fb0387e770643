/**
 * `npm run docs:settings`: writes the settings table of docs/architecture.md
 * from the config fields, the platform's (platform/config/fields.ts) and
 * every service's own (derived from their `settings`). A test
 * (docs-settings.test.ts) fails while the docs are stale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { withSettingsTable } from "../platform/config/settings-table.js";
import { registry } from "../services/registry.js";

export const ARCHITECTURE_DOC = fileURLToPath(new URL("../docs/architecture.md", import.meta.url));

/** docs/architecture.md as it should read. */
export function expectedArchitectureDoc(): string {
  return withSettingsTable(readFileSync(ARCHITECTURE_DOC, "utf8"), registry.configFields());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const now = readFileSync(ARCHITECTURE_DOC, "utf8");
  const next = expectedArchitectureDoc();
  if (next === now) {
    console.log("docs/architecture.md: the settings table is up to date");
  } else {
    writeFileSync(ARCHITECTURE_DOC, next);
    console.log("docs/architecture.md: settings table rewritten");
  }
}
