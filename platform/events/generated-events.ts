/**
 * Finds every event type in the generated code (gen/**\/*_pb.ts): the
 * messages with the event option. The CLI uses it to decode payloads it did
 * not publish itself (`orbit events inspect`).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { getOption, hasOption, type DescMessage } from "@bufbuild/protobuf";
import { event as eventOption } from "../../gen/orbit/options/v1/options_pb.js";
import { EventRegistry } from "./registry.js";

/** The default gen/ directory of this checkout. */
export const GEN_DIR = new URL("../../gen/", import.meta.url).pathname;

export async function loadGeneratedEvents(genDir: string = GEN_DIR): Promise<EventRegistry> {
  const registry = new EventRegistry();
  const files = (readdirSync(genDir, { recursive: true }) as string[]).filter((f) => f.endsWith("_pb.ts")).sort();
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(genDir, file)).href)) as Record<string, unknown>;
    for (const value of Object.values(mod)) {
      const desc = value as DescMessage;
      if (desc?.kind === "message" && hasOption(desc, eventOption) && getOption(desc, eventOption).topic) {
        try {
          registry.add(desc);
        } catch {
          // A broken definition (bad topic or key field) is reported where it is published.
        }
      }
    }
  }
  return registry;
}
