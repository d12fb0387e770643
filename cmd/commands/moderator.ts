/**
 * `orbit moderator …`: grant and revoke the moderator role (operators only;
 * there is no RPC for it).
 *
 *   orbit moderator grant <handle>     make an account a moderator
 *   orbit moderator revoke <handle>    take the role back
 *   orbit moderator list               every moderator
 *
 * The store comes from the same settings as `orbit bundle` (--mysql,
 * --data-dir, ORBIT_* variables, --config); the moderation service must have
 * run on it once (its tables are migrated by the bundle). Exit codes: 0 done,
 * 1 failure, 2 bad usage (unknown handle, no moderation tables).
 */
import { join } from "node:path";
import { Command, Option } from "commander";
import { ModeratorRowDao } from "../../gen/orbit/moderation/v1/tables_db.js";
import { UserRowDao } from "../../gen/orbit/user/v1/tables_db.js";
import { CONFIG_FIELDS, ConfigError, loadConfig, type ConfigKey } from "../../platform/config/index.js";
import { EventBus } from "../../platform/events/bus.js";
import { helpLine } from "../../platform/config/fields.js";
import type { SqlDb } from "../../platform/storage/driver.js";
import { openSqlStore, StoreUrlError } from "../../platform/storage/open.js";
import { grantModerator, revokeModerator } from "../../services/moderation/roles.js";

const STORE_KEYS: readonly ConfigKey[] = ["dataDir", "mysql"];

class UsageError extends Error {}

async function withStore(
  command: Command,
  fn: (db: SqlDb, bus: EventBus, out: (line: string) => void) => Promise<void>,
) {
  const opts = command.optsWithGlobals<{ config?: string } & Record<string, unknown>>();
  const flags: Record<string, unknown> = {};
  for (const f of CONFIG_FIELDS.filter((f) => (STORE_KEYS as readonly string[]).includes(f.key))) {
    const attr = new Option(f.flag).attributeName();
    if (command.getOptionValueSource(attr) === "cli" || command.parent?.getOptionValueSource(attr) === "cli")
      flags[f.key] = opts[attr];
  }
  let db: SqlDb | undefined;
  let bus: EventBus | undefined;
  try {
    const { registry } = await import("../../services/registry.js");
    const { config } = loadConfig({ flags, env: process.env, file: opts.config, fields: registry.configFields() });
    db = openSqlStore(config.mysql ?? `sqlite:${join(config.dataDir, "orbit.db")}`);
    try {
      await new ModeratorRowDao(db).count();
    } catch {
      throw new UsageError("no moderation tables in this store: run `orbit bundle` with the moderation service once");
    }
    // The role's changes go into the event log (post keeps its moderators from them).
    bus = await EventBus.open(db, { owner: `orbit-moderator:${process.pid}` });
    await fn(db, bus, (line) => process.stdout.write(`${line}\n`));
  } catch (err) {
    const e = err as Error;
    const usage = err instanceof UsageError || err instanceof ConfigError || err instanceof StoreUrlError;
    process.stderr.write(`orbit moderator: ${usage ? e.message : (e.stack ?? String(err))}\n`);
    process.exitCode = usage ? 2 : 1;
  } finally {
    await bus?.close();
    await db?.close();
  }
}

async function userByHandle(db: SqlDb, handle: string) {
  const row = await new UserRowDao(db).getByHandleKey({ handleKey: handle.replace(/^@/, "").toLowerCase() });
  if (!row) throw new UsageError(`no account with the handle "${handle}"`);
  return row;
}

export function register(program: Command): void {
  const cmd = program
    .command("moderator")
    .summary("grant, revoke and list the moderator role")
    .description(
      "Grant or revoke the moderator role of an account (ModerationService's review queue, actions, modlog).",
    )
    .option("--config <file>", "JSON config file [env ORBIT_CONFIG]");
  for (const f of CONFIG_FIELDS.filter((f) => (STORE_KEYS as readonly string[]).includes(f.key)))
    cmd.addOption(new Option(f.flag, `${helpLine(f)} [env ${f.env}]`));
  cmd.addHelpText("after", "\nExamples:\n  orbit moderator grant ann\n  orbit moderator list\nSee docs/moderation.md.");

  cmd
    .command("grant <handle>")
    .description("Make the account a moderator.")
    .action((handle: string, _o, c: Command) =>
      withStore(c, async (db, bus, out) => {
        const u = await userByHandle(db, handle);
        const added = await grantModerator(db, bus, u.id, "cli");
        out(added ? `${u.handle} (${u.id}) is now a moderator` : `${u.handle} (${u.id}) was already a moderator`);
      }),
    );
  cmd
    .command("revoke <handle>")
    .description("Take the moderator role back.")
    .action((handle: string, _o, c: Command) =>
      withStore(c, async (db, bus, out) => {
        const u = await userByHandle(db, handle);
        const removed = await revokeModerator(db, bus, u.id);
        out(removed ? `${u.handle} (${u.id}) is no longer a moderator` : `${u.handle} (${u.id}) was not a moderator`);
      }),
    );
  cmd
    .command("list")
    .description("List moderators.")
    .action((_o, c: Command) =>
      withStore(c, async (db, _bus, out) => {
        const rows = (await new ModeratorRowDao(db).list({ limit: 1000 })).rows;
        if (rows.length === 0) return out("no moderators");
        const users = new UserRowDao(db);
        for (const r of rows) {
          const u = await users.get({ id: r.userId });
          out(
            `${u?.handle ?? "?"}\t${r.userId}\tgranted ${new Date(Number(r.grantedAtMs)).toISOString()} by ${r.grantedBy}`,
          );
        }
      }),
    );
}
