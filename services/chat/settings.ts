/**
 * The chat service's settings: `--chat-max-members`, `--chat-receipts-to-all`,
 * `--chat-changes-retention-seconds`, `--chat-changes-sweep-seconds`,
 * `--chat-room-rate-messages`, `--chat-room-rate-window-seconds`, `--chat-send-writers`,
 * `--chat-send-gather-ms`
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
  changesRetentionSeconds: setting.integer({
    default: 30 * 24 * 3600,
    min: 1,
    max: 10 * 365 * 24 * 3600,
    unit: "seconds",
    help: "how long the change log keeps a change (GetChanges); a cursor older than that is told to resync",
  }),
  changesSweepSeconds: setting.integer({
    default: 60,
    min: 1,
    max: 3600,
    unit: "seconds",
    help: "how often the retention job deletes changes older than the retention window (in batches of 500)",
  }),
  roomRateMessages: setting.integer({
    default: 5,
    min: 1,
    max: 1000,
    unit: "messages",
    help: "messages one user may send to room chats (watch-together rooms) per --chat-room-rate-window-seconds, across rooms",
  }),
  roomRateWindowSeconds: setting.integer({
    default: 10,
    min: 1,
    max: 3600,
    unit: "seconds",
    help: "the window of --chat-room-rate-messages",
  }),
  sendWriters: setting.integer({
    default: 1,
    min: 1,
    max: 16,
    unit: "transactions",
    help: "batches of SendMessage written at once on MariaDB (each a transaction holding the sends of the moment); SQLite writes one at a time",
  }),
  sendGatherMs: setting.integer({
    default: 2,
    min: 0,
    max: 50,
    unit: "ms",
    help: "how long a free SendMessage writer waits after the first queued send for more, unless as many as its last batch held are queued already (0: starts at once)",
  }),
};

export type ChatConfig = SettingValues<typeof chatSettings>;
