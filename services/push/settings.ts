/**
 * The push service's settings (`--push-*`, ORBIT_PUSH_*, `push*` file keys):
 * the gateway's limits and the stream's retention. The broker is a platform
 * setting (--redis), since every bundle that pushes needs it.
 */
import { setting, type SettingValues } from "../../platform/config/settings.js";

export const pushSettings = {
  retentionHours: setting.integer({
    default: 168,
    min: 1,
    max: 100_000,
    unit: "hours",
    help: "updates older than this are deleted; a device further behind is told to resync",
  }),
  heartbeatMs: setting.integer({
    default: 25_000,
    min: 100,
    max: 600_000,
    unit: "ms",
    help: "a quiet connection gets a Heartbeat (and a WebSocket ping) this often",
  }),
  idleTimeoutMs: setting.integer({
    default: 75_000,
    min: 200,
    max: 3_600_000,
    unit: "ms",
    help: "a WebSocket with no frame (or pong) from the client for this long is closed (4000)",
  }),
  sendBufferBytes: setting.integer({
    default: 1 << 20,
    min: 1024,
    max: 1 << 30,
    unit: "bytes",
    help: "updates queued for one connection beyond this cut it off as a slow consumer (4008)",
  }),
  maxFrameBytes: setting.integer({
    default: 16 * 1024,
    min: 64,
    max: 1 << 20,
    unit: "bytes",
    help: "largest frame a client may send (bigger closes with 1009)",
  }),
  rateLimit: setting.integer({
    default: 20,
    min: 1,
    max: 100_000,
    unit: "frames/s",
    help: "frames per second a client may send on average (bursts of twice that); more closes with 4029",
  }),
  maxChannels: setting.integer({
    default: 100,
    min: 1,
    max: 10_000,
    unit: "channels",
    help: "channels one connection may be in",
  }),
};

export type PushConfig = SettingValues<typeof pushSettings>;
