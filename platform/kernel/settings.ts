/**
 * A service's `ctx.settings`: for each setting it declares, the value the
 * bundle's configuration gives (`config.settings[service][name]`, from a flag,
 * an ORBIT_* variable or the config file), checked again by the setting's
 * parser, or else its declared default.
 */
import { ConfigError } from "../config/config.js";
import type { SettingsSpec, SettingValues } from "../config/settings.js";

export function resolveSettings<S extends SettingsSpec>(
  service: string,
  spec: S,
  given: Readonly<Record<string, unknown>> | undefined,
): SettingValues<S> {
  const values: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(spec)) {
    const v = given?.[name];
    values[name] = v === undefined ? s.default : s.parse(v, `settings of ${service}: ${name}`);
  }
  for (const name of Object.keys(given ?? {})) {
    if (!(name in spec)) {
      const known = Object.keys(spec).join(", ") || "none";
      throw new ConfigError(`settings of ${service}: unknown setting ${JSON.stringify(name)} (declared: ${known})`);
    }
  }
  return Object.freeze(values) as SettingValues<S>;
}
