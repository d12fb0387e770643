/**
 * Builds an OrbitConfig from its layers. Precedence, highest first:
 *
 *   1. command-line flags (`--port 9000`)
 *   2. ORBIT_* environment variables (`ORBIT_PORT=9000`)
 *   3. the JSON config file (`--config orbit.json` or ORBIT_CONFIG), keys as
 *      in OrbitConfig (`{"port": 9000, "peers": {"post": "http://…"}}`) and
 *      the services' settings keys (`{"feedCap": 400}`)
 *   4. DEFAULT_CONFIG (a service's setting: the default it declares, applied
 *      by the kernel)
 *
 * A layer replaces a setting as a whole (peers from a flag are not merged
 * with peers from the file). Bad values fail with a ConfigError that names
 * the flag, variable or file key they came from.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { ConfigSource, OrbitConfig } from "./config.js";
import { ConfigError, DEFAULT_CONFIG } from "./config.js";
import { CONFIG_FIELDS, flagName, type ConfigField } from "./fields.js";

export const CONFIG_FILE_ENV = "ORBIT_CONFIG";
/** Set by the primary of `orbit bundle --workers N` for each worker ("<index>/<count>"): not a setting. */
export const WORKER_SLOT_ENV = "ORBIT_WORKER_SLOT";

export interface ConfigLayers {
  /** Values given on the command line (only those actually given), by config key (an alias's own key). */
  readonly flags?: Readonly<Record<string, unknown>>;
  /** The environment (process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Path of the JSON config file; when absent, ORBIT_CONFIG from env is used. */
  readonly file?: string;
  /**
   * The settings to read. Default: the platform's (CONFIG_FIELDS); the CLI
   * adds every service's (service-fields.ts).
   */
  readonly fields?: readonly ConfigField[];
}

export interface LoadedConfig {
  readonly config: OrbitConfig;
  /** Where each setting came from, by config key. */
  readonly sources: Readonly<Record<string, ConfigSource>>;
  /** The config file that was read, if any. */
  readonly file?: string;
  /** Problems that do not stop the process (e.g. unknown ORBIT_* variables). */
  readonly warnings: readonly string[];
}

export function loadConfig(layers: ConfigLayers = {}): LoadedConfig {
  const env = layers.env ?? {};
  const flags = layers.flags ?? {};
  const fields = layers.fields ?? CONFIG_FIELDS;
  const warnings: string[] = [];
  const filePath = layers.file ?? nonEmpty(env[CONFIG_FILE_ENV]);
  const fileValues = filePath ? readConfigFile(filePath, fields) : {};

  const config: Record<string, unknown> = { ...DEFAULT_CONFIG };
  const settings: Record<string, Record<string, unknown>> = {};
  const sources: Record<string, ConfigSource> = {};
  for (const f of fields) {
    // In each layer the setting's own name wins over its older names (aliases).
    const names = [f, ...(f.aliases ?? [])];
    let value: unknown;
    let source: ConfigSource = "default";
    const inFile = names.find((n) => n.key in fileValues);
    if (inFile) {
      value = f.parse(fileValues[inFile.key], `config file ${filePath}: ${inFile.key}`);
      source = "file";
    }
    const inEnv = names.find((n) => nonEmpty(env[n.env]) !== undefined);
    if (inEnv) {
      value = f.parse(nonEmpty(env[inEnv.env]), inEnv.env);
      source = "env";
    }
    const inFlags = names.find((n) => flags[n.key] !== undefined);
    if (inFlags) {
      value = f.parse(flags[inFlags.key], flagName(inFlags.flag));
      source = "flag";
    }
    sources[f.key] = source;
    if (source === "default") continue;
    if (f.setting) (settings[f.setting.service] ??= {})[f.setting.name] = value;
    else config[f.key] = value;
  }
  if (Object.keys(settings).length) config.settings = settings;

  const known = new Set([
    CONFIG_FILE_ENV,
    WORKER_SLOT_ENV,
    ...fields.flatMap((f) => [f.env, ...(f.aliases ?? []).map((a) => a.env)]),
  ]);
  for (const name of Object.keys(env)) {
    if (name.startsWith("ORBIT_") && !name.startsWith("ORBIT_TEST_") && !known.has(name)) {
      warnings.push(`unknown environment variable ${name} (known: ${[...known].sort().join(", ")})`);
    }
  }
  return { config: config as unknown as OrbitConfig, sources, file: filePath, warnings };
}

function readConfigFile(path: string, fields: readonly ConfigField[]): Record<string, unknown> {
  let textValue: string;
  try {
    textValue = readFileSync(resolve(path), "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(textValue);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`);
  }
  const keys = new Set<string>(fields.flatMap((f) => [f.key, ...(f.aliases ?? []).map((a) => a.key)]));
  for (const k of Object.keys(parsed)) {
    if (!keys.has(k)) {
      throw new ConfigError(`config file ${path}: unknown key "${k}" (known: ${[...keys].join(", ")})`);
    }
  }
  return parsed as Record<string, unknown>;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v;
}
