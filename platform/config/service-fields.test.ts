import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./load.js";
import { CONFIG_FIELDS } from "./fields.js";
import { serviceSettingFields } from "./service-fields.js";
import { setting } from "./settings.js";

const feed = {
  cap: setting.integer({ default: 400, min: 1, max: 100_000, unit: "items", help: "items kept per feed" }),
  celebrityThreshold: setting.integer({ default: 10, min: 1, max: 100, help: "followers" }),
};
const media = {
  cache: setting.boolean({ default: true, help: "keep converted images on disk" }),
  verbose: setting.boolean({ default: false, help: "log every conversion" }),
  codec: setting.oneOf(["h264", "av1"], { default: "h264", help: "video codec" }),
};
const user = {
  scryptLogN: setting.integer({ default: 15, min: 10, max: 18, help: "cost", aliases: ["scryptLogN"] }),
};

describe("a service's setting names", () => {
  it("are derived from the service and the setting: flag, ORBIT_* variable, file key", () => {
    expect(serviceSettingFields("feed", feed).map(({ key, flag, env }) => ({ key, flag, env }))).toEqual([
      { key: "feedCap", flag: "--feed-cap <items>", env: "ORBIT_FEED_CAP" },
      { key: "feedCelebrityThreshold", flag: "--feed-celebrity-threshold <n>", env: "ORBIT_FEED_CELEBRITY_THRESHOLD" },
    ]);
    expect(serviceSettingFields("post-search", { maxHits: feed.cap })[0]).toMatchObject({
      key: "postSearchMaxHits",
      flag: "--post-search-max-hits <items>",
      env: "ORBIT_POST_SEARCH_MAX_HITS",
    });
  });

  it("turn a boolean that defaults to true off with --no-…", () => {
    expect(serviceSettingFields("media", media).map((f) => f.flag)).toEqual([
      "--no-media-cache",
      "--media-verbose",
      "--media-codec <h264|av1>",
    ]);
  });

  it("keep older names working as aliases", () => {
    const [f] = serviceSettingFields("user", user);
    expect(f).toMatchObject({ key: "userScryptLogN", flag: "--user-scrypt-log-n <n>", env: "ORBIT_USER_SCRYPT_LOG_N" });
    expect(f!.aliases).toEqual([{ key: "scryptLogN", flag: "--scrypt-log-n <n>", env: "ORBIT_SCRYPT_LOG_N" }]);
  });

  it("refuse a default that breaks the setting's own bounds", () => {
    expect(() => setting.integer({ default: 0, min: 1, max: 5, help: "x" })).toThrow(
      "the default: 0 is not an integer in 1..5",
    );
  });
});

describe("loading a service's settings", () => {
  const fields = [
    ...CONFIG_FIELDS,
    ...serviceSettingFields("feed", feed),
    ...serviceSettingFields("media", media),
    ...serviceSettingFields("user", user),
  ];

  it("puts them under config.settings by service, from flags, variables and the file", () => {
    const r = loadConfig({
      fields,
      env: { ORBIT_FEED_CAP: "7", ORBIT_MEDIA_CODEC: "av1" },
      flags: { feedCelebrityThreshold: "3", mediaCache: false },
    });
    expect(r.config.settings).toEqual({
      feed: { cap: 7, celebrityThreshold: 3 },
      media: { codec: "av1", cache: false },
    });
    expect(r.sources).toMatchObject({ feedCap: "env", feedCelebrityThreshold: "flag", userScryptLogN: "default" });
    expect(r.warnings).toEqual([]);
    // Not given: left to the declared default (the kernel applies it).
    expect(loadConfig({ fields }).config.settings).toEqual({});
  });

  it("accept the older names, the own name winning within a layer", () => {
    expect(loadConfig({ fields, env: { ORBIT_SCRYPT_LOG_N: "12" } }).config.settings).toEqual({
      user: { scryptLogN: 12 },
    });
    expect(
      loadConfig({ fields, env: { ORBIT_SCRYPT_LOG_N: "12", ORBIT_USER_SCRYPT_LOG_N: "11" } }).config.settings,
    ).toEqual({ user: { scryptLogN: 11 } });
    expect(
      loadConfig({ fields, flags: { scryptLogN: "13" }, env: { ORBIT_USER_SCRYPT_LOG_N: "11" } }).config.settings,
    ).toEqual({
      user: { scryptLogN: 13 },
    });
  });

  it("read them from the config file under their key, or an older one", () => {
    const dir = mkdtempSync(join(tmpdir(), "orbit-settings-"));
    try {
      const file = join(dir, "orbit.json");
      writeFileSync(file, JSON.stringify({ feedCap: 9, scryptLogN: 12, mediaVerbose: true }));
      expect(loadConfig({ fields, file }).config.settings).toEqual({
        feed: { cap: 9 },
        user: { scryptLogN: 12 },
        media: { verbose: true },
      });
      writeFileSync(file, JSON.stringify({ feedCapp: 9 }));
      expect(() => loadConfig({ fields, file })).toThrow('unknown key "feedCapp"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("name the source of a bad value", () => {
    expect(() => loadConfig({ fields, env: { ORBIT_FEED_CAP: "0" } })).toThrow(
      'ORBIT_FEED_CAP: "0" is not an integer in 1..100000',
    );
    expect(() => loadConfig({ fields, flags: { scryptLogN: "99" } })).toThrow('--scrypt-log-n: "99"');
    expect(() => loadConfig({ fields, env: { ORBIT_MEDIA_CODEC: "vp9" } })).toThrow("is not one of h264, av1");
  });
});
