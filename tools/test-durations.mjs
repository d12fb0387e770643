#!/usr/bin/env node
// `npm run test:durations -- <vitest json report>`: writes test/support/test-durations.json (the
// seconds each test file took, files of 3 s or more) for test/support/sequencer.ts, which runs the
// longest files first. Make the report with `npx vitest run --reporter=json --outputFile=<file>`.
import { readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";

const file = process.argv[2];
if (!file) {
  console.error("usage: npm run test:durations -- <vitest json report>");
  process.exit(2);
}
const root = new URL("..", import.meta.url).pathname;
const report = JSON.parse(readFileSync(file, "utf8"));
const rows = report.testResults
  .map((r) => [relative(root, r.name), Math.round((r.endTime - r.startTime) / 100) / 10])
  .filter(([, s]) => s >= 3)
  .sort((a, b) => b[1] - a[1]);
const out = new URL("../test/support/test-durations.json", import.meta.url);
writeFileSync(out, `${JSON.stringify(Object.fromEntries(rows), null, 2)}\n`);
console.log(`test durations: ${rows.length} files of 3 s or more written to test/support/test-durations.json`);
