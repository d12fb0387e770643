/** The community service's settings: `--community-admins`, `--community-series-file`. */
import { setting, type SettingValues } from "../../platform/config/settings.js";

export const communitySettings = {
  admins: setting.text({
    default: "",
    unit: "ids",
    help: "user ids (comma-separated) who may create series and act as owner of every community",
    check: (v) => (/^\s*(\d+\s*(,\s*\d+\s*)*)?$/.test(v) ? undefined : "must be user ids separated by commas"),
  }),
  seriesFile: setting.text({
    default: "",
    unit: "file",
    help: "JSON file of series seeded into the catalogue at boot (default: services/community/series.json)",
  }),
};

export type CommunitySettings = SettingValues<typeof communitySettings>;

export function adminIds(v: string): Set<bigint> {
  return new Set(
    v
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean)
      .map((x) => BigInt(x)),
  );
}
