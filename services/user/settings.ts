/** The user service's settings: `--user-scrypt-log-n` (also the older `--scrypt-log-n`, ORBIT_SCRYPT_LOG_N). */
import { setting } from "../../platform/config/settings.js";
import { DEFAULT_LOG_N, MAX_LOG_N, MIN_LOG_N } from "./passwords.js";

export const userSettings = {
  scryptLogN: setting.integer({
    default: DEFAULT_LOG_N,
    min: MIN_LOG_N,
    max: MAX_LOG_N,
    help: "scrypt cost of new password hashes, log2 N",
    aliases: ["scryptLogN"],
  }),
};
