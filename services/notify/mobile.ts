/**
 * Mobile push (FCM, APNs): the provider interface the notify service sends
 * through, and the providers this repository has. Real FCM and APNs senders
 * need credentials and the providers' hosts (unreachable from here); they
 * plug in by implementing `PushProvider` and being passed to
 * `notifyService({ provider })`.
 *
 * A message is shaped so both map onto it directly: FCM's HTTP v1
 * `message.token` / `notification.{title,body}` / `data` /
 * `android.collapse_key`, and APNs' device token / `aps.alert.{title,body}` /
 * custom keys / `apns-collapse-id`. The collapse key is the group, so a device
 * shows one entry per group ("ann and 12 others liked your post") however
 * often it grows.
 */
import { PushPlatform } from "../../gen/orbit/notify/v1/notify_pb.js";
import type { Logger } from "../../platform/log.js";

export interface MobilePush {
  readonly platform: PushPlatform;
  /** The device's registration token (FCM) or device token (APNs). */
  readonly token: string;
  readonly userId: bigint;
  readonly title: string;
  readonly body: string;
  /** FCM collapse_key / APNs apns-collapse-id: one entry per group on the device. */
  readonly collapseKey: string;
  /** Key/value data for the app (group id, type, target, count). */
  readonly data: Readonly<Record<string, string>>;
  /** Stable for the same state of the same group: an idempotency key for the provider. */
  readonly idempotencyKey: string;
}

export interface PushResult {
  /** Tokens the provider says are no longer valid (FCM UNREGISTERED, APNs 410): they are forgotten. */
  readonly invalidTokens: readonly string[];
}

/** Sends mobile pushes. Implementations must not throw for one bad token; report it in invalidTokens. */
export interface PushProvider {
  readonly name: string;
  send(messages: readonly MobilePush[]): Promise<PushResult>;
}

/** No mobile push (the default: the bundle has no provider credentials). */
export const noMobilePush: PushProvider = {
  name: "off",
  async send() {
    return { invalidTokens: [] };
  },
};

/** Logs what would be sent (development). */
export function loggingProvider(log: Logger): PushProvider {
  return {
    name: "log",
    async send(messages) {
      for (const m of messages) {
        log.info(
          { platform: PushPlatform[m.platform], userId: String(m.userId), collapseKey: m.collapseKey, body: m.body },
          "mobile push (log provider)",
        );
      }
      return { invalidTokens: [] };
    },
  };
}

/**
 * The test double: records what would be sent, answers tokens listed in
 * `invalid` as unregistered, and lets a test wait for a message.
 */
export class RecordingProvider implements PushProvider {
  readonly name = "record";
  readonly sent: MobilePush[] = [];
  readonly invalid = new Set<string>();
  private waiters: (() => void)[] = [];

  async send(messages: readonly MobilePush[]): Promise<PushResult> {
    this.sent.push(...messages);
    for (const w of this.waiters.splice(0)) w();
    return { invalidTokens: messages.filter((m) => this.invalid.has(m.token)).map((m) => m.token) };
  }

  /** Resolves once a recorded message matches (or rejects after `timeoutMs`). */
  async waitFor(match: (m: MobilePush) => boolean, timeoutMs = 10_000): Promise<MobilePush> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.sent.find(match);
      if (hit) return hit;
      const left = end - Date.now();
      if (left <= 0) throw new Error("no matching mobile push was recorded in time");
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
}
