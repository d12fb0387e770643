export type { OrbitConfig, ConfigKey, ConfigSource } from "./config.js";
export { ConfigError, DEFAULT_CONFIG } from "./config.js";
export type { ConfigField } from "./fields.js";
export { CONFIG_FIELDS, fieldFor } from "./fields.js";
export type { ConfigLayers, LoadedConfig } from "./load.js";
export { loadConfig, CONFIG_FILE_ENV } from "./load.js";
