/**
 * Joining and leaving ephemeral channels, the same for WebSocket and
 * Subscribe sessions: the service owning the prefix decides (ctx.push
 * .authorizeChannels), refusals are answered with a Left update.
 */
import { control } from "../../platform/push/codec.js";
import { ChannelNameError, type PushEngine } from "../../platform/push/engine.js";
import type { DeviceSession } from "../../platform/push/session.js";

export async function joinChannel(engine: PushEngine, s: DeviceSession, channel: string, max: number): Promise<void> {
  const refuse = (reason: string) => s.push(control({ case: "left", value: { channel, reason } }));
  if (s.channels.has(channel)) return;
  if (s.channels.size >= max) return refuse(`too many channels (at most ${max})`);
  let allowed: boolean;
  try {
    allowed = await engine.mayJoin(s.userId, channel);
  } catch (err) {
    if (err instanceof ChannelNameError) return refuse("bad channel name");
    engine.log.warn({ err, channel }, "push: a channel authorizer failed");
    return refuse("could not be authorized");
  }
  if (s.closed) return;
  if (!allowed) return refuse("not allowed");
  engine.join(s, channel);
  const members = await engine.presence(channel);
  s.push(
    control({
      case: "joined",
      value: { channel, members: members.map((m) => ({ userId: m.userId, sinceMs: BigInt(m.sinceMs) })) },
    }),
  );
}

export function leaveChannel(engine: PushEngine, s: DeviceSession, channel: string): void {
  if (!s.channels.has(channel)) return;
  engine.leave(s, channel);
  s.push(control({ case: "left", value: { channel, reason: "" } }));
}
