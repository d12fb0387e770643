/**
 * The user service's settings: `--user-scrypt-log-n` (also the older `--scrypt-log-n`,
 * ORBIT_SCRYPT_LOG_N) and the abuse limits of SignUp and LogIn (rate-limit.ts).
 */
import { setting, type SettingValues } from "../../platform/config/settings.js";
import { DEFAULT_LOG_N, MAX_LOG_N, MIN_LOG_N } from "./passwords.js";

export const userSettings = {
  sessionCacheMs: setting.integer({
    default: 5_000,
    min: 0,
    max: 60_000,
    unit: "ms",
    help: "how long a verified bearer token is remembered (a session ended here is forgotten at once, in other workers and bundles when user.session_ended reaches them, at the latest after this time); 0 = look it up on every call",
  }),
  scryptLogN: setting.integer({
    default: DEFAULT_LOG_N,
    min: MIN_LOG_N,
    max: MAX_LOG_N,
    help: "scrypt cost of new password hashes, log2 N",
    aliases: ["scryptLogN"],
  }),
  signUpPerAddress: setting.integer({
    default: 100,
    min: 0,
    max: 1_000_000,
    unit: "per-hour",
    help: "sign-ups one client address may make per hour (a burst of as many, refilled over the hour; carrier NAT puts many people behind one address); 0 = no limit",
  }),
  logInPerAddress: setting.integer({
    default: 60,
    min: 0,
    max: 1_000_000,
    unit: "per-minute",
    help: "log-in attempts (failed or not) one client address may make per minute; 0 = no limit",
  }),
  loginFreeFailures: setting.integer({
    default: 5,
    min: 1,
    max: 1_000,
    unit: "n",
    help: "failed logins of one handle from one address before each further one waits 1 s, 2 s, 4 s… (the owner elsewhere is unaffected)",
  }),
  loginMaxDelayS: setting.integer({
    default: 900,
    min: 1,
    max: 86_400,
    unit: "seconds",
    help: "the longest wait after failed logins of one handle from one address",
  }),
  loginFailuresPerAddress: setting.integer({
    default: 50,
    min: 1,
    max: 1_000_000,
    unit: "n",
    help: "failed logins from one address (any handles) in 15 min before that address backs off exponentially",
  }),
  loginHandleCap: setting.integer({
    default: 100,
    min: 0,
    max: 1_000_000,
    unit: "n",
    help: "failed logins of one handle in 15 min from addresses it never logged in from, past which only addresses it logged in from before may try; 0 = no cap",
  }),
};

export type UserConfig = SettingValues<typeof userSettings>;
