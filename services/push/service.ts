/**
 * push: the gateway of the push platform part. Every service pushes with
 * ctx.push (platform/kernel/parts/push.ts) in any bundle; this service serves
 * the devices: the WebSocket endpoint /ws and PushService (Subscribe,
 * GetPresence), heartbeats and idle timeouts, drain on shutdown, the
 * streams' retention, and closing the connections of sessions that ended
 * (user.session_ended). See docs/push.md.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { PushService } from "../../gen/orbit/push/v1/push_pb.js";
import { gatewayOf } from "../../platform/kernel/parts/push.js";
import { defineService } from "../../platform/kernel/service.js";
import { control } from "../../platform/push/codec.js";
import { ChannelNameError } from "../../platform/push/engine.js";
import type { DeviceSession } from "../../platform/push/session.js";
import { requireUser } from "../../platform/rpc/call-scope.js";
import { sessionsConsumer } from "./sessions.js";
import { pushSettings } from "./settings.js";
import { subscribe } from "./subscribe.js";
import { pushSocket, sweepPeers, type WsPeer } from "./ws.js";

/** How often the retention job deletes what is older than the window. */
const SWEEP_EVERY_MS = 60_000;

export const push = defineService({
  name: "push",
  description: "the push gateway: /ws and Subscribe for every user's durable stream, ephemeral channels, presence",
  deps: [],
  api: [PushService],
  settings: pushSettings,
  build(ctx) {
    const engine = gatewayOf(ctx.push);
    const cfg = ctx.settings;
    const peers = new Set<WsPeer>();
    const streams = new Set<DeviceSession>();

    // Heartbeats and idle timeouts: one sweep for every connection.
    const sweep = setInterval(
      () => {
        sweepPeers(peers, cfg);
        const now = Date.now();
        for (const s of streams) {
          if (now - s.lastOut >= cfg.heartbeatMs)
            s.push(control({ case: "heartbeat", value: { lastSequence: s.last } }));
        }
      },
      Math.max(50, Math.min(cfg.heartbeatMs, cfg.idleTimeoutMs) / 4),
    );
    sweep.unref();

    // Shutdown: every device is told to reconnect (elsewhere) before the kernel closes sockets with 1012.
    ctx.signal.addEventListener("abort", () => {
      clearInterval(sweep);
      const bye = control({ case: "reconnect", value: { reason: "the server is going away", afterMs: 0 } });
      for (const s of [...engine.sessions()]) {
        s.push(bye);
        s.close("drain", "the server is going away; reconnect");
      }
    });

    return {
      rpc: [
        {
          subscribe: (req, hctx) => subscribe(engine, cfg, streams, req, hctx),
          async getPresence(req, hctx) {
            const me = BigInt(requireUser(hctx).userId);
            let members: { userId: bigint; sinceMs: bigint }[] = [];
            if (req.channel !== "") {
              let allowed: boolean;
              try {
                allowed = await engine.mayJoin(me, req.channel);
              } catch (err) {
                if (err instanceof ChannelNameError) throw new ConnectError(err.message, Code.InvalidArgument);
                throw err;
              }
              if (!allowed) throw new ConnectError(`you may not see ${req.channel}`, Code.PermissionDenied);
              members = (await engine.presence(req.channel)).map((m) => ({
                userId: m.userId,
                sinceMs: BigInt(m.sinceMs),
              }));
            }
            const online = await engine.online(req.userIds);
            const seen = await engine.store.lastSeen(engine.db, req.userIds);
            const now = BigInt(Date.now());
            return {
              members,
              users: req.userIds.map((userId) => ({
                userId,
                online: online.has(userId),
                lastSeenMs: online.has(userId) ? now : (seen.get(userId) ?? 0n),
              })),
            };
          },
        },
      ],
      sockets: [pushSocket(engine, cfg, peers)],
      consumers: [sessionsConsumer(engine)],
      jobs: [
        {
          name: "push.retention",
          async run(signal) {
            while (!signal.aborted) {
              const before = BigInt(Date.now() - cfg.retentionHours * 3_600_000);
              let n: number;
              do n = await engine.store.sweep(engine.db, before);
              while (n > 0 && !signal.aborted);
              await new Promise<void>((resolve) => {
                const t = setTimeout(resolve, SWEEP_EVERY_MS);
                signal.addEventListener("abort", () => {
                  clearTimeout(t);
                  resolve();
                });
              });
            }
          },
        },
      ],
      stop() {
        clearInterval(sweep);
      },
    };
  },
});
