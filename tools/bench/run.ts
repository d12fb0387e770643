/**
 * `npm run bench -- <scenario> [args]`: runs tools/bench/<scenario>.ts.
 * Each scenario prints its figures and, as its last line, one JSON object
 * `{"scenario": …, …figures}`. Scenarios compare against a baseline measured
 * in the same run and report the ratio.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const scenarios = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && f !== "run.ts" && !f.startsWith("_"))
  .map((f) => f.slice(0, -3))
  .sort();

const [scenario, ...args] = process.argv.slice(2);
if (!scenario || scenario === "--help" || !scenarios.includes(scenario)) {
  if (scenario && scenario !== "--help") console.error(`unknown scenario "${scenario}"`);
  console.error(`usage: npm run bench -- <scenario> [args]\nscenarios: ${scenarios.join(", ") || "(none yet)"}`);
  process.exit(scenario && scenario !== "--help" ? 2 : 0);
}
const mod = (await import(`./${scenario}.ts`)) as { main: (args: string[]) => Promise<void> };
await mod.main(args);
