/**
 * Command-line options made from config fields (platform/config): one per
 * setting, with its help, default and ORBIT_* variable, plus a hidden one per
 * older name (alias). `flagsOf(command)` returns the values given on the
 * command line, by config key, for loadConfig.
 */
import { Option, type Command } from "commander";
import { helpLine, type ConfigField } from "../platform/config/fields.js";

export type Flags = Record<string, unknown>;

export function addConfigOptions(cmd: Command, fields: readonly ConfigField[]): (command: Command) => Flags {
  const attrToKey = new Map<string, string>();
  for (const f of fields) {
    for (const n of [f, ...(f.aliases ?? [])]) {
      const opt = new Option(n.flag, `${helpLine(f)} [env ${f.env}]`);
      if (n !== f) opt.hideHelp();
      if (f.repeatable) opt.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
      cmd.addOption(opt);
      attrToKey.set(opt.attributeName(), n.key);
    }
  }
  return (command) => {
    const flags: Flags = {};
    const opts = command.opts<Record<string, unknown>>();
    for (const [attr, key] of attrToKey) {
      if (command.getOptionValueSource(attr) === "cli") flags[key] = opts[attr];
    }
    return flags;
  };
}
