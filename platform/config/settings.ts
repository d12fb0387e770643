/**
 * A service's own settings, declared beside the service as data: type,
 * default, bounds and help. The kernel hands the values to the service as
 * `ctx.settings` (typed from these declarations), and the CLI derives from
 * them a flag, an `ORBIT_*` variable and a config-file key each (see
 * service-fields.ts), `--help`, and the settings table in
 * docs/architecture.md.
 *
 *   export const settings = {
 *     cap: setting.integer({ default: 400, min: 1, max: 100_000, unit: "items", help: "items kept per home feed" }),
 *   };
 *   // --feed-cap <items>, ORBIT_FEED_CAP, {"feedCap": 400}; ctx.settings.cap: number
 */
import { boolean, integer, oneOf, text, type Parser } from "./parse.js";

export interface Setting<T> {
  /** What the value is, for --help and the docs ("integer 1..100000", "boolean"). */
  readonly type: string;
  readonly default: T;
  readonly help: string;
  /** The placeholder of the flag's value ("items" → `--feed-cap <items>`); none for a boolean. */
  readonly unit: string | undefined;
  /**
   * Older names, still accepted (camelCase, without the service prefix):
   * each gives a flag, a variable and a file key, e.g. "scryptLogN" →
   * `--scrypt-log-n`, `ORBIT_SCRYPT_LOG_N`, `scryptLogN`.
   */
  readonly aliases: readonly string[];
  readonly parse: Parser<T>;
}

/** The settings a service declares: setting name (camelCase) → declaration. */
export type SettingsSpec = Readonly<Record<string, Setting<unknown>>>;

/** The values a service gets for its declarations. */
export type SettingValues<S extends SettingsSpec> = {
  readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never;
};

interface Common<T> {
  readonly default: T;
  readonly help: string;
  readonly aliases?: readonly string[];
}

export const SETTING_NAME = /^[a-z][a-zA-Z0-9]*$/;

function declare<T>(o: Common<T>, type: string, unit: string | undefined, parse: Parser<T>): Setting<T> {
  for (const a of o.aliases ?? []) {
    if (!SETTING_NAME.test(a)) throw new Error(`setting alias ${JSON.stringify(a)} must be camelCase`);
  }
  // The default must pass the setting's own checks.
  parse(o.default, "the default");
  return { type, default: o.default, help: o.help, unit, aliases: o.aliases ?? [], parse };
}

export const setting = {
  integer(o: Common<number> & { readonly min: number; readonly max: number; readonly unit?: string }): Setting<number> {
    return declare(o, `integer ${o.min}..${o.max}`, o.unit ?? "n", integer(o.min, o.max));
  },
  boolean(o: Common<boolean>): Setting<boolean> {
    return declare(o, "boolean", undefined, boolean());
  },
  text(
    o: Common<string> & { readonly unit?: string; readonly check?: (v: string) => string | undefined },
  ): Setting<string> {
    return declare(o, "text", o.unit ?? "text", text({ check: o.check }));
  },
  oneOf<const T extends string>(choices: readonly T[], o: Common<NoInfer<T>>): Setting<T> {
    return declare(o, `one of ${choices.join(", ")}`, choices.join("|"), oneOf(choices));
  },
};

/** Every declared setting of `spec` at its default. */
export function settingDefaults<S extends SettingsSpec>(spec: S): SettingValues<S> {
  return Object.fromEntries(Object.entries(spec).map(([k, s]) => [k, s.default])) as SettingValues<S>;
}
