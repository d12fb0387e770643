/**
 * Builds an OrbitConfig from its layers. Precedence, highest first:
 *
 *   1. command-line flags (`--port 9000`)
 *   2. ORBIT_* environment variables (`ORBIT_PORT=9000`)
 *   3. the JSON config file (`--config orbit.json` or ORBIT_CONFIG), keys as
 *      in OrbitConfig (`{"port": 9000, "peers": {"post": "http://…"}}`)
 *   4. DEFAULT_CONFIG
 *
 * A layer replaces a setting as a whole (peers from a flag are not merged
 * with peers from the file). Bad values fail with a ConfigError that names
 * the flag, variable or file key they came from.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { ConfigKey, ConfigSource, OrbitConfig } from "./config.js";
import { ConfigError, DEFAULT_CONFIG } from "./config.js";
import { CONFIG_FIELDS } from "./fields.js";

export const CONFIG_FILE_ENV = "ORBIT_CONFIG";

export interface ConfigLayers {
  /** Values given on the command line (only those actually given), by config key. */
  readonly flags?: Partial<Record<ConfigKey, unknown>>;
  /** The environment (process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Path of the JSON config file; when absent, ORBIT_CONFIG from env is used. */
  readonly file?: string;
}

export interface LoadedConfig {
  readonly config: OrbitConfig;
  /** Where each setting came from. */
  readonly sources: Readonly<Record<ConfigKey, ConfigSource>>;
  /** The config file that was read, if any. */
  readonly file?: string;
  /** Problems that do not stop the process (e.g. unknown ORBIT_* variables). */
  readonly warnings: readonly string[];
}

export function loadConfig(layers: ConfigLayers = {}): LoadedConfig {
  const env = layers.env ?? {};
  const flags = layers.flags ?? {};
  const warnings: string[] = [];
  const filePath = layers.file ?? nonEmpty(env[CONFIG_FILE_ENV]);
  const fileValues = filePath ? readConfigFile(filePath) : {};

  const config: Record<string, unknown> = { ...DEFAULT_CONFIG };
  const sources = {} as Record<ConfigKey, ConfigSource>;
  for (const f of CONFIG_FIELDS) {
    sources[f.key] = "default";
    if (f.key in fileValues) {
      config[f.key] = f.parse(fileValues[f.key], `config file ${filePath}: ${f.key}`);
      sources[f.key] = "file";
    }
    const fromEnv = nonEmpty(env[f.env]);
    if (fromEnv !== undefined) {
      config[f.key] = f.parse(fromEnv, f.env);
      sources[f.key] = "env";
    }
    if (flags[f.key] !== undefined) {
      config[f.key] = f.parse(flags[f.key], flagName(f.flag));
      sources[f.key] = "flag";
    }
  }

  const known = new Set([CONFIG_FILE_ENV, ...CONFIG_FIELDS.map((f) => f.env)]);
  for (const name of Object.keys(env)) {
    if (name.startsWith("ORBIT_") && !name.startsWith("ORBIT_TEST_") && !known.has(name)) {
      warnings.push(`unknown environment variable ${name} (known: ${[...known].sort().join(", ")})`);
    }
  }
  return { config: config as unknown as OrbitConfig, sources, file: filePath, warnings };
}

function readConfigFile(path: string): Record<string, unknown> {
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
  const keys = new Set<string>(CONFIG_FIELDS.map((f) => f.key));
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

/** "--port <port>" → "--port"; "--no-migrate" stays. */
function flagName(flag: string): string {
  return flag.split(/\s/)[0]!;
}
