/**
 * A separate process that migrates, for the race and kill tests:
 *
 *   node --import tsx test/support/migrate/migrate-child.ts <store-url> <tables.json> [pause-at]
 *
 * (under vitest, children.ts runs its build in the run's prebuilt CLI instead:
 * test/support/cli/build.ts). Prints "READY" once loaded and waits for a line "GO" on stdin (so several
 * children start migrating at the same moment). With pause-at
 * "<step index>:<started|executed|recorded>" it prints "PAUSED <step id>" at
 * that point and hangs, to be killed. Otherwise it prints one JSON line with
 * what it did and exits.
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import type { TableSpec } from "../../../platform/storage/schema.js";
import { openSqlStore } from "../../../platform/storage/open.js";
import { migrate } from "../../../platform/migrate/index.js";

const [url, tablesPath, pauseAt] = process.argv.slice(2);
if (!url || !tablesPath) {
  process.stderr.write("usage: migrate-child.ts <store-url> <tables.json> [pause-at]\n");
  process.exit(2);
}
const tables = JSON.parse(readFileSync(tablesPath, "utf8")) as TableSpec[];
const db = openSqlStore(url);

process.stdout.write("READY\n");
const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.on("line", (l) => l.trim() === "GO" && resolve()));
lines.close();

try {
  const report = await migrate(db, tables, {
    dataMigrations: [],
    processId: `child-${process.pid}`,
    onProgress: async (e) => {
      if (pauseAt === `${e.index}:${e.phase}`) {
        process.stdout.write(`PAUSED ${e.step.id}\n`);
        setInterval(() => undefined, 1000);
        await new Promise(() => undefined);
      }
    },
  });
  process.stdout.write(
    JSON.stringify({
      applied: report.applied.map((s) => s.id),
      upToDate: report.plan.upToDate,
      recovered: report.recovered,
      lockWaitMs: Math.round(report.lockWaitMs),
    }) + "\n",
  );
} finally {
  await db.close();
}
