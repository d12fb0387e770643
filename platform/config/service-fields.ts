/**
 * The flag, environment variable and config-file key of a service's own
 * setting, derived from the service name and the setting name:
 *
 *   service "feed", setting "celebrityThreshold"
 *     → --feed-celebrity-threshold <followers>, ORBIT_FEED_CELEBRITY_THRESHOLD, "feedCelebrityThreshold"
 *
 * A boolean that defaults to true is turned off with `--no-<service>-<name>`.
 * A setting's aliases (older names) keep working under the same rule without
 * the service prefix.
 */
import type { ConfigAlias, ConfigField } from "./fields.js";
import type { SettingsSpec } from "./settings.js";

function words(name: string): string[] {
  return name
    .split("-")
    .flatMap((part) => part.replace(/([a-z0-9])([A-Z])/g, "$1 $2").split(" "))
    .map((w) => w.toLowerCase());
}

function names(w: readonly string[]): { key: string; kebab: string; env: string } {
  return {
    key: w.map((x, i) => (i === 0 ? x : x[0]!.toUpperCase() + x.slice(1))).join(""),
    kebab: w.join("-"),
    env: `ORBIT_${w.join("_").toUpperCase()}`,
  };
}

/** The config fields of one service's settings. */
export function serviceSettingFields(service: string, spec: SettingsSpec): ConfigField[] {
  return Object.entries(spec).map(([name, s]) => {
    const negated = s.unit === undefined && s.default === true;
    const flagOf = (kebab: string) =>
      s.unit === undefined ? (negated ? `--no-${kebab}` : `--${kebab}`) : `--${kebab} <${s.unit}>`;
    const own = names([...words(service), ...words(name)]);
    const aliases: ConfigAlias[] = s.aliases.map((a) => {
      const n = names(words(a));
      return { key: n.key, flag: flagOf(n.kebab), env: n.env };
    });
    const also = aliases.length ? ` (also ${aliases.map((a) => `${a.flag.split(" ")[0]}, ${a.env}`).join("; ")})` : "";
    return {
      key: own.key,
      flag: flagOf(own.kebab),
      env: own.env,
      help: `${service} service: ${s.help}; ${s.type}${also}`,
      default: s.default,
      parse: s.parse,
      setting: { service, name },
      aliases,
    };
  });
}
