/**
 * `orbit events …`: operate the event bus of a store.
 *
 *   orbit events groups                        groups, positions and lag
 *   orbit events dead-letters <group>          a group's dead letters
 *   orbit events inspect <group> <event-id>    one dead letter in full (payload decoded)
 *   orbit events retry <group> [ids…] | --all  hand dead letters back to the group's consumer
 *   orbit events purge <group> [ids…] | --all  delete dead letters
 *   orbit events replay <group> --from <id>    rewind a group (rebuild its projection)
 *   orbit events drop-group <group>            forget a group (its position stops holding retention)
 *
 * The store comes from the same settings as `orbit bundle` (--mysql,
 * --data-dir, ORBIT_* variables, --config). Exit codes: 0 done, 1 failure,
 * 2 bad usage or configuration (unknown group, bad id).
 */
import { join } from "node:path";
import { Command, Option } from "commander";
import { toJson } from "@bufbuild/protobuf";
import { CONFIG_FIELDS, ConfigError, loadConfig, type ConfigKey } from "../../platform/config/index.js";
import { helpLine } from "../../platform/config/fields.js";
import { EventBus, UnknownGroupError, type DeadLetter, type GroupLag } from "../../platform/events/index.js";
import { loadGeneratedEvents } from "../../platform/events/generated-events.js";
import { silentLogger } from "../../platform/events/logger.js";
import { openSqlStore, StoreUrlError } from "../../platform/storage/open.js";

const STORE_KEYS: readonly ConfigKey[] = ["dataDir", "mysql"];

class UsageError extends Error {}

interface Common {
  readonly config?: string;
  readonly json?: boolean;
}

/** Runs `fn` with a bus on the configured store; maps errors to exit codes. */
async function withBus(
  command: Command,
  fn: (bus: EventBus, out: (line: string) => void) => Promise<void>,
): Promise<void> {
  const opts = command.optsWithGlobals<Common & Record<string, unknown>>();
  const flags: Record<string, unknown> = {};
  for (const f of CONFIG_FIELDS.filter((f) => (STORE_KEYS as readonly string[]).includes(f.key))) {
    const attr = new Option(f.flag).attributeName();
    if (command.getOptionValueSource(attr) === "cli" || command.parent?.getOptionValueSource(attr) === "cli") {
      flags[f.key] = opts[attr];
    }
  }
  let bus: EventBus | undefined;
  let db;
  try {
    const { registry } = await import("../../services/registry.js");
    const { config } = loadConfig({ flags, env: process.env, file: opts.config, fields: registry.configFields() });
    db = openSqlStore(config.mysql ?? `sqlite:${join(config.dataDir, "orbit.db")}`);
    bus = await EventBus.open(db, { logger: silentLogger });
    await fn(bus, (line) => process.stdout.write(`${line}\n`));
  } catch (err) {
    const e = err as Error;
    const usage =
      err instanceof UsageError ||
      err instanceof ConfigError ||
      err instanceof StoreUrlError ||
      err instanceof UnknownGroupError ||
      err instanceof RangeError;
    process.stderr.write(`orbit events: ${usage ? e.message : (e.stack ?? String(err))}\n`);
    process.exitCode = usage ? 2 : 1;
  } finally {
    await bus?.close();
    await db?.close();
  }
}

function eventId(text: string): bigint {
  if (!/^\d+$/.test(text)) throw new UsageError(`"${text}" is not an event id (a positive integer)`);
  return BigInt(text);
}

function when(ms: number): string {
  return ms ? new Date(ms).toISOString() : "-";
}

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** Left-aligned columns. */
function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(head), ...rows.map(line)].join("\n");
}

const jsonReplacer = (_k: string, v: unknown) =>
  typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString("base64") : v;

function lagRow(g: GroupLag): string[] {
  return [
    g.group,
    g.topics.join(","),
    String(g.position),
    String(g.head),
    `${g.pending}${g.pendingCapped ? "+" : ""}`,
    g.pending ? duration(g.lagMs) : "-",
    g.owner ?? "(none)",
    g.retrying ? `event ${g.retrying.eventId} ×${g.retrying.attempts}` : "-",
    String(g.deadLetters),
  ];
}

function deadRow(d: DeadLetter): string[] {
  return [
    String(d.eventId),
    d.topic,
    d.key,
    String(d.attempts),
    d.state,
    when(d.failedAtMs),
    d.error.split("\n")[0]!.slice(0, 80),
  ];
}

export function register(program: Command): void {
  const events = program
    .command("events")
    .summary("inspect and operate the event bus (groups, lag, dead letters, replay)")
    .description("Operate the event bus of the configured store: consumer groups and their lag, dead letters, replay.")
    .option("--config <file>", "JSON config file [env ORBIT_CONFIG]")
    .option("--json", "print JSON instead of tables");
  for (const f of CONFIG_FIELDS.filter((f) => (STORE_KEYS as readonly string[]).includes(f.key))) {
    events.addOption(new Option(f.flag, `${helpLine(f)} [env ${f.env}]`));
  }
  events.addHelpText(
    "after",
    `
Examples:
  orbit events groups
  orbit events dead-letters feed.fanout
  orbit events inspect feed.fanout 1234
  orbit events retry feed.fanout --all
  orbit events replay feed.fanout --from earliest
See docs/events.md.`,
  );

  events
    .command("groups")
    .description("List consumer groups: position, head of the log, pending events, lag, owner, retries, dead letters.")
    .action((_o, cmd: Command) =>
      withBus(cmd, async (bus, out) => {
        const lags = await bus.lagByGroup();
        if (cmd.optsWithGlobals<Common>().json) return out(JSON.stringify(lags, jsonReplacer, 2));
        if (lags.length === 0) return out("no consumer groups yet");
        out(
          table(
            ["GROUP", "TOPICS", "POSITION", "HEAD", "PENDING", "LAG", "OWNER", "RETRYING", "DEAD"],
            lags.map(lagRow),
          ),
        );
      }),
    );

  events
    .command("dead-letters")
    .alias("dlq")
    .argument("<group>", "consumer group")
    .option("--limit <n>", "most rows to show", "100")
    .option("--after <event-id>", "show dead letters after this event id")
    .description("List a group's dead letters (events it gave up on), oldest first.")
    .action((group: string, o: { limit: string; after?: string }, cmd: Command) =>
      withBus(cmd, async (bus, out) => {
        await requireGroup(bus, group);
        const limit = Number(o.limit);
        if (!Number.isInteger(limit) || limit < 1)
          throw new UsageError(`--limit must be a positive integer, got "${o.limit}"`);
        const list = await bus.deadLetters(group, { limit, afterId: o.after ? eventId(o.after) : undefined });
        if (cmd.optsWithGlobals<Common>().json) return out(JSON.stringify(list, jsonReplacer, 2));
        if (list.length === 0) return out(`group ${group} has no dead letters`);
        out(table(["EVENT", "TOPIC", "KEY", "ATTEMPTS", "STATE", "FAILED AT", "ERROR"], list.map(deadRow)));
      }),
    );

  events
    .command("inspect")
    .argument("<group>", "consumer group")
    .argument("<event-id>", "event id of the dead letter")
    .description(
      "Show one dead letter in full: its payload decoded (when the event type is in gen/) and the whole error.",
    )
    .action((group: string, id: string, _o, cmd: Command) =>
      withBus(cmd, async (bus, out) => {
        await requireGroup(bus, group);
        const d = await bus.deadLetter(group, eventId(id));
        if (!d) throw new UsageError(`group ${group} has no dead letter for event ${id}`);
        const registry = await loadGeneratedEvents();
        let message: unknown;
        let type = "(unknown type: payload shown as base64)";
        if (registry.has(d.topic)) {
          const t = registry.byTopic(d.topic);
          type = t.typeName;
          try {
            message = toJson(t.schema, (await import("@bufbuild/protobuf")).fromBinary(t.schema, d.payload));
          } catch (err) {
            type = `${t.typeName} (payload does not decode: ${(err as Error).message})`;
          }
        }
        const payload = message ?? Buffer.from(d.payload).toString("base64");
        if (cmd.optsWithGlobals<Common>().json) {
          return out(JSON.stringify({ ...d, type, payload }, jsonReplacer, 2));
        }
        out(`event      ${d.eventId}`);
        out(`group      ${d.group}`);
        out(`topic      ${d.topic}  (${type})`);
        out(`key        ${d.key || "(none)"}`);
        out(`published  ${when(d.publishedAtMs)}`);
        out(`failed     ${when(d.failedAtMs)} after ${d.attempts} attempt${d.attempts === 1 ? "" : "s"}  [${d.state}]`);
        out(
          `payload    ${typeof payload === "string" ? payload : JSON.stringify(payload, null, 2).replace(/\n/g, "\n           ")}`,
        );
        out(`error\n${d.error.replace(/^/gm, "  ")}`);
      }),
    );

  const idsCommand = (
    name: string,
    description: string,
    act: (bus: EventBus, group: string, ids?: bigint[]) => Promise<number>,
    verb: string,
  ) =>
    events
      .command(name)
      .argument("<group>", "consumer group")
      .argument("[event-ids...]", "dead letters to act on")
      .option("--all", "every dead letter of the group")
      .description(description)
      .action((group: string, ids: string[], o: { all?: boolean }, cmd: Command) =>
        withBus(cmd, async (bus, out) => {
          if (!o.all && ids.length === 0) throw new UsageError(`give event ids or --all`);
          if (o.all && ids.length) throw new UsageError(`give event ids or --all, not both`);
          await requireGroup(bus, group);
          const n = await act(bus, group, o.all ? undefined : ids.map(eventId));
          out(`${n} dead letter${n === 1 ? "" : "s"} ${verb}`);
        }),
      );
  idsCommand(
    "retry",
    "Mark dead letters for another attempt; the group's running consumer (in any process) handles them within seconds.",
    (bus, group, ids) => bus.retryDeadLetters(group, ids),
    "marked for retry",
  );
  idsCommand(
    "purge",
    "Delete dead letters for good.",
    (bus, group, ids) => bus.purgeDeadLetters(group, ids),
    "deleted",
  );

  events
    .command("replay")
    .argument("<group>", "consumer group")
    .requiredOption("--from <event-id>", 'first event to deliver again, or "earliest"')
    .description(
      "Rewind a group so it handles events again from --from on. Wipe the projection first to rebuild it. " +
        "A running consumer (in any process) is fenced out of its current batch and resumes from the new position.",
    )
    .action((group: string, o: { from: string }, cmd: Command) =>
      withBus(cmd, async (bus, out) => {
        const before = await requireGroup(bus, group);
        const from = o.from === "earliest" ? 0n : eventId(o.from);
        const row = await bus.replay(group, from);
        out(
          `group ${group}: position ${before.position} → ${row.position}; it handles events from ${row.position + 1n} on again`,
        );
      }),
    );

  events
    .command("drop-group")
    .argument("<group>", "consumer group")
    .description("Forget a group that no longer runs (its position would otherwise hold back retention).")
    .action((group: string, _o, cmd: Command) =>
      withBus(cmd, async (bus, out) => {
        await bus.dropGroup(group);
        out(`group ${group} dropped`);
      }),
    );
}

async function requireGroup(bus: EventBus, group: string) {
  const g = (await bus.listGroups()).find((x) => x.name === group);
  if (!g) {
    const names = (await bus.listGroups()).map((x) => x.name);
    throw new UnknownGroupError(
      `unknown consumer group "${group}"` + (names.length ? ` (groups: ${names.join(", ")})` : " (no groups yet)"),
    );
  }
  return g;
}
