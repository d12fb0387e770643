/**
 * Value parsers shared by the config fields. Each takes what a layer holds
 * (a string from a flag or an environment variable, a boolean from a
 * commander switch, an array from a repeated flag, or any JSON value from the
 * config file) and either returns the typed value or throws a ConfigError
 * naming where the bad value came from.
 */
import { ConfigError } from "./config.js";

export type Parser<T> = (value: unknown, where: string) => T;

function fail(where: string, value: unknown, expected: string): never {
  throw new ConfigError(`${where}: ${JSON.stringify(value)} is not ${expected}`);
}

export function text(opts: { nonEmpty?: boolean; check?: (v: string) => string | undefined } = {}): Parser<string> {
  return (value, where) => {
    if (typeof value !== "string") fail(where, value, "a string");
    const v = value.trim();
    if (opts.nonEmpty && v === "") fail(where, value, "a non-empty string");
    const problem = opts.check?.(v);
    if (problem) throw new ConfigError(`${where}: ${problem}`);
    return v;
  };
}

export function integer(min: number, max: number): Parser<number> {
  return (value, where) => {
    const n = typeof value === "string" && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
      fail(where, value, `an integer in ${min}..${max}`);
    }
    return n;
  };
}

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off"]);

export function boolean(): Parser<boolean> {
  return (value, where) => {
    if (typeof value === "boolean") return value;
    if (typeof value === "string") {
      const v = value.trim().toLowerCase();
      if (TRUE.has(v)) return true;
      if (FALSE.has(v)) return false;
    }
    return fail(where, value, "a boolean (true/false, 1/0, yes/no, on/off)");
  };
}

export function oneOf<T extends string>(choices: readonly T[]): Parser<T> {
  return (value, where) => {
    if (typeof value === "string" && (choices as readonly string[]).includes(value.trim())) {
      return value.trim() as T;
    }
    return fail(where, value, `one of ${choices.join(", ")}`);
  };
}

/** "a,b" or ["a", "b"] (or repeated flags) → ["a", "b"]. */
export function list(item: Parser<string>): Parser<string[]> {
  return (value, where) => {
    const parts = Array.isArray(value)
      ? value.flatMap((v) => (typeof v === "string" ? v.split(",") : [v]))
      : typeof value === "string"
        ? value.split(",")
        : fail(where, value, "a comma-separated list");
    return parts.filter((p) => typeof p !== "string" || p.trim() !== "").map((p) => item(p, where));
  };
}

/**
 * "k=v,k2=v2", repeated "k=v" flags, or a JSON object → a record. Later
 * entries win over earlier ones with the same key.
 */
export function keyValues(
  keyCheck: Parser<string>,
  valueCheck: Parser<string>,
  what: string,
): Parser<Record<string, string>> {
  return (value, where) => {
    const out: Record<string, string> = {};
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) out[keyCheck(k, where)] = valueCheck(v, `${where}.${k}`);
      return out;
    }
    const entries = Array.isArray(value)
      ? value.flatMap((v) => (typeof v === "string" ? v.split(",") : [v]))
      : typeof value === "string"
        ? value.split(",")
        : fail(where, value, `${what} entries`);
    for (const entry of entries) {
      if (typeof entry === "string" && entry.trim() === "") continue;
      const m = typeof entry === "string" ? /^\s*([^=\s]+)\s*=\s*(\S.*?)\s*$/.exec(entry) : null;
      if (!m) fail(where, entry, `${what} (expected name=value)`);
      out[keyCheck(m[1], where)] = valueCheck(m[2], `${where} ${m[1]}`);
    }
    return out;
  };
}

/** An http(s) base URL, returned without a trailing slash. */
export function httpUrl(): Parser<string> {
  const t = text({ nonEmpty: true, check: checkHttpUrl });
  return (value, where) => t(value, where).replace(/\/+$/, "");
}

function checkHttpUrl(v: string): string | undefined {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return `${JSON.stringify(v)} is not a URL (expected http://host:port)`;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    return `${JSON.stringify(v)} must be an http:// or https:// URL`;
  }
  if (u.search || u.hash) return `${JSON.stringify(v)} must not have a query or fragment`;
  return undefined;
}
