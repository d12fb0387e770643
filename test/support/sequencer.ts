/**
 * Runs the longest test files first (npm test has two workers: a long file
 * started last would keep one worker busy alone at the end). Vitest's own
 * order uses durations it cached on this machine, which a clean clone (CI)
 * does not have, and falls back to file size; this one reads the durations
 * committed in test-durations.json (seconds, from a full run; refresh with
 * `npm run test:durations` after `vitest run --reporter=json
 * --outputFile=<file>`). Files not listed count as one second.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const DURATIONS: Record<string, number> = JSON.parse(
  readFileSync(new URL("./test-durations.json", import.meta.url), "utf8"),
);

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const seconds = (f: TestSpecification) => DURATIONS[relative(root, f.moduleId)] ?? 1;
    return [...files].sort((a, b) => seconds(b) - seconds(a));
  }
}
