/** The notify service's settings: `--notify-group-window`, `--notify-mobile-push`, `--notify-push-max-age`. */
import { setting } from "../../platform/config/settings.js";

export const notifySettings = {
  groupWindow: setting.integer({
    default: 12,
    min: 1,
    max: 168,
    unit: "hours",
    help: "a notification joins its type and target's latest group while that group is younger than this (Mastodon: 12)",
  }),
  mobilePush: setting.oneOf(["off", "log"], {
    default: "off",
    help: "mobile push provider: off, or log (logs what FCM/APNs would be sent); real providers are passed in code",
  }),
  pushMaxAge: setting.integer({
    default: 60,
    min: 0,
    max: 86_400,
    unit: "seconds",
    help: "events older than this when handled (a replay, a long outage) update the list but are not pushed to devices",
  }),
};
