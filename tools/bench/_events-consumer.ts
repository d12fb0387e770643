/**
 * Child process of `npm run bench -- events` (split mode): consumes N events
 * of group "bench.split" from the store at <url> and prints one JSON line
 * {"firstMs", "lastMs", "handled"} (epoch ms) when done.
 *   node --import tsx tools/bench/_events-consumer.ts <url> <n>
 */
import { ContractHappenedSchema, type ContractHappened } from "../../gen/orbit/contract/v1/events_pb.js";
import { EventBus } from "../../platform/events/bus.js";
import { silentLogger } from "../../platform/events/logger.js";
import { openSqlStore } from "../../platform/storage/open.js";

const [url, count] = process.argv.slice(2);
const n = Number(count);
const db = openSqlStore(url!);
const bus = await EventBus.open(db, { logger: silentLogger, owner: "bench-split" });
let handled = 0;
let checksum = 0n;
let firstMs = 0;
await new Promise<void>((resolve) => {
  const consumer = bus.consume({
    group: "bench.split",
    events: [ContractHappenedSchema],
    batchSize: 4096,
    handleBatch: (events) => {
      if (!firstMs) firstMs = Date.now();
      for (const e of events) checksum += (e.message as ContractHappened).seq;
      handled += events.length;
      if (handled >= n) resolve();
    },
  });
  const ready = setInterval(() => {
    if (consumer.state !== "active") return;
    clearInterval(ready);
    console.log(JSON.stringify({ ready: true }));
  }, 10);
});
const lastMs = Date.now();
await bus.close();
await db.close();
console.log(JSON.stringify({ firstMs, lastMs, handled, checksum: String(checksum) }));
