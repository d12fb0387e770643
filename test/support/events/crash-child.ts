/**
 * A process the crash test kills with SIGKILL:
 *   node --import tsx crash-child.ts <producer|consumer> <store-url> <name>
 * Prints "ready" once it is working.
 */
import { openSqlStore } from "../../../platform/storage/open.js";
import { EventBus } from "../../../platform/events/bus.js";
import { BUS_OPTIONS, produce, startConsumers } from "./crash-roles.js";

const [role, url, name] = process.argv.slice(2);
if (!role || !url || !name) {
  console.error("usage: crash-child.ts <producer|consumer> <store-url> <name>");
  process.exit(2);
}
const db = openSqlStore(url);
const bus = await EventBus.open(db, { ...BUS_OPTIONS, owner: name });
if (role === "consumer") {
  startConsumers(db, bus);
  console.log("ready");
} else {
  console.log("ready");
  await produce(db, bus, name);
}
