/**
 * The media service's settings: `--media-cache-dir`, `--media-cache-bytes`,
 * `--media-quota-bytes`, `--media-staging-dir`, `--media-url-keys`, `--media-workers`,
 * `--media-job-cpu-seconds`, `--media-uploads-per-user`, `--media-lost-sweep-seconds` (ORBIT_MEDIA_* variables, `mediaCacheDir`… in
 * the config file).
 */
import { setting, type SettingValues } from "../../platform/config/settings.js";

export const mediaSettings = {
  cacheDir: setting.text({
    default: "",
    unit: "dir",
    help: "directory of the on-the-fly transform cache (default: <tmp>/orbit-media-cache)",
  }),
  stagingDir: setting.text({
    default: "",
    unit: "dir",
    help: "directory on this node's local disk where uploads are staged (fdatasync'ed before an offset is acknowledged) on their way to the chunk table; use a real disk, not tmpfs (default: <tmp>/orbit-media-staging)",
  }),
  cacheBytes: setting.integer({
    default: 1024 * 1024 * 1024,
    min: 1024 * 1024,
    max: Number.MAX_SAFE_INTEGER,
    unit: "bytes",
    help: "byte budget of the transform cache; the least recently used files go first",
  }),
  quotaBytes: setting.integer({
    default: 2 * 1024 * 1024 * 1024,
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    unit: "bytes",
    help: "bytes of media a user may keep (uploads in progress count with their announced size)",
  }),
  urlKeys: setting.text({
    default: "",
    unit: "hex,hex",
    help: "HMAC keys of signed transform URLs, hex, comma-separated: the first signs, every one verifies (rotate by prepending a new key); default: a random key per process",
    check: (v) =>
      v === "" || v.split(",").every((k) => /^[0-9a-fA-F]{32,128}$/.test(k.trim()))
        ? undefined
        : "give hex keys of 16..64 bytes, comma-separated",
  }),
  workers: setting.integer({
    default: 1,
    min: 1,
    max: 64,
    unit: "jobs",
    help: "media jobs (variants, transcodes) run at once in this process",
  }),
  uploadsPerUser: setting.integer({
    default: 200,
    min: 0,
    max: 1_000_000,
    unit: "per-hour",
    help: "uploads (CreateUpload) one user may start per hour, as a burst refilled over the hour: each may become a transcode; 0 = no limit",
  }),
  lostSweepSeconds: setting.integer({
    default: 15,
    min: 1,
    max: 3600,
    unit: "seconds",
    help: "how often uploads received in full by a node whose lease ended are finished here (every byte in the chunk table) or failed (the last bytes died with it), and this node's staging files nobody names any more are dropped",
  }),
  jobCpuSeconds: setting.integer({
    default: 600,
    min: 1,
    max: 86_400,
    unit: "seconds",
    help: "CPU time one ffmpeg transcode may use before it is killed and the media marked failed",
  }),
};

export type MediaConfig = SettingValues<typeof mediaSettings>;
