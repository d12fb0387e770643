/**
 * The chat service's settings: `--chat-max-members`, `--chat-receipts-to-all`
 * (ORBIT_CHAT_* variables, `chatMaxMembers`… in the config file).
 */
import { setting, type SettingValues } from "../../platform/config/settings.js";

export const chatSettings = {
  maxMembers: setting.integer({
    default: 1000,
    min: 2,
    max: 1000,
    unit: "members",
    help: "members a group may have",
  }),
  receiptsToAll: setting.integer({
    default: 100,
    min: 0,
    max: 1000,
    unit: "members",
    help: "groups up to this size push every read receipt to every member; larger ones only to the reader's devices (GetReceipts answers for all)",
  }),
};

export type ChatConfig = SettingValues<typeof chatSettings>;
