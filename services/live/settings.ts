/**
 * The live service's settings: `--live-rtmp-port` (also `--rtmp-port`,
 * ORBIT_RTMP_PORT), `--live-rtmp-host`, `--live-public-rtmp-host`,
 * `--live-public-url`, `--live-hls-dir`, `--live-key-ttl-hours` and the limits
 * (ORBIT_LIVE_* variables, `liveRtmpPort`… in the config file).
 */
import { setting, type SettingValues } from "../../platform/config/settings.js";
import { DEFAULT_LIMITS } from "./node.js";

export const liveSettings = {
  rtmpPort: setting.integer({
    default: 1935,
    min: 0,
    max: 65535,
    unit: "port",
    help: "RTMP ingest port (0: any free port)",
    aliases: ["rtmpPort"],
  }),
  rtmpHost: setting.text({
    default: "127.0.0.1",
    unit: "address",
    help: "address the RTMP ingest listens on (0.0.0.0 on a public node)",
  }),
  publicRtmpHost: setting.text({
    default: "",
    unit: "host",
    help: "host publishers reach the ingest at, for ingest_url (default: the RTMP address, or localhost)",
  }),
  publicUrl: setting.text({
    default: "",
    unit: "url",
    help: "base URL of viewers' hls_url and flv_url (default: paths on this bundle's port)",
    check: (v) => (v === "" || /^https?:\/\/[^/]+(\/.*)?$/.test(v) ? undefined : "must be an http(s) URL"),
  }),
  hlsDir: setting.text({
    default: "",
    unit: "dir",
    help: "directory of the live HLS segments (default: a directory under the system's temp dir)",
  }),
  keyTtlHours: setting.integer({
    default: 24 * 30,
    min: 1,
    max: 24 * 366,
    unit: "hours",
    help: "how long a new stream key works",
  }),
  maxStreams: setting.integer({
    default: DEFAULT_LIMITS.maxStreams,
    min: 1,
    max: 1000,
    unit: "streams",
    help: "streams one node ingests and remuxes at once",
  }),
  maxBitrateKbps: setting.integer({
    default: DEFAULT_LIMITS.maxBitrateKbps,
    min: 0,
    max: 1_000_000,
    unit: "kbit/s",
    help: "a publisher averaging more over 5 s is ended (0: no cap)",
  }),
  maxHeight: setting.integer({
    default: DEFAULT_LIMITS.maxHeight,
    min: 144,
    max: 4320,
    unit: "pixels",
    help: "streams taller than this are ended (the width cap is 16:9 of it)",
  }),
  silenceTimeoutMs: setting.integer({
    default: DEFAULT_LIMITS.silenceTimeoutMs,
    min: 500,
    max: 600_000,
    unit: "ms",
    help: "a publisher that sends nothing for this long is ended",
  }),
  lostSweepSeconds: setting.integer({
    default: 15,
    min: 1,
    max: 3600,
    unit: "seconds",
    help: "how often streams left live by a node whose lease ended are ended (node-lost)",
  }),
  roomAwayMs: setting.integer({
    default: 10_000,
    min: 500,
    max: 600_000,
    unit: "ms",
    help: "a room member whose last connection to the room's channel closed leaves the room after this long",
  }),
  record: setting.boolean({
    default: true,
    help: "record each live stream and hand the recording to the media service as the streamer's video",
  }),
  recordDir: setting.text({
    default: "",
    unit: "dir",
    help: "directory of recordings being written (default: orbit-live-recordings under the system's temp dir)",
  }),
  recordMaxSeconds: setting.integer({
    default: 3600,
    min: 1,
    max: 24 * 3600,
    unit: "seconds",
    help: "a recording is cut after this much media time (the stream goes on)",
  }),
  recordMaxMb: setting.integer({
    default: 100,
    min: 1,
    max: 100,
    unit: "MiB",
    help: "a recording is cut at this size (at most media's video upload limit, 100 MiB)",
  }),
};

export type LiveSettings = SettingValues<typeof liveSettings>;
