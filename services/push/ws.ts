/**
 * The WebSocket endpoint `/ws`: a device's stream as binary protobuf frames
 * (each an orbit.push.v1.Update), or JSON text frames when the client asks
 * for the subprotocol `orbit.push.v1.json` or `?format=json`.
 *
 *   GET /ws?after=<last sequence>    authorization: Bearer <token> (or the first frame "Bearer <token>")
 *
 * Clients send ClientFrame messages (join, leave, ping), binary or JSON text.
 * Close codes: 1009 frame too big (kernel), 1012 server going away (after a
 * Reconnect update), 4000 idle, 4001 malformed frame, 4008 slow consumer,
 * 4029 too many frames, 4401 bad token (kernel) or session revoked,
 * 4400 a bad `after`, 1011 the stream could not be read.
 */
import { fromBinary, fromJsonString } from "@bufbuild/protobuf";
import type { WebSocket } from "ws";
import { ClientFrameSchema, type ClientFrame } from "../../gen/orbit/push/v1/push_pb.js";
import type { SocketEndpoint } from "../../platform/kernel/sockets.js";
import { control, toJsonFrame } from "../../platform/push/codec.js";
import type { PushEngine } from "../../platform/push/engine.js";
import { DeviceSession, type CloseKind } from "../../platform/push/session.js";
import { joinChannel, leaveChannel } from "./channels.js";
import type { PushConfig } from "./settings.js";

export const JSON_PROTOCOL = "orbit.push.v1.json";
export const PROTO_PROTOCOL = "orbit.push.v1.proto";

export const PUSH_CLOSE: Record<CloseKind | "badAfter", number> = {
  idle: 4000,
  malformed: 4001,
  slow: 4008,
  rate: 4029,
  revoked: 4401,
  badAfter: 4400,
  drain: 1012,
  error: 1011,
};

/** A WebSocket session: its socket and its rate-limit bucket. */
export interface WsPeer {
  readonly ws: WebSocket;
  readonly session: DeviceSession;
}

export function pushSocket(engine: PushEngine, cfg: PushConfig, peers: Set<WsPeer>): SocketEndpoint {
  const timing = { heartbeatMs: cfg.heartbeatMs, idleTimeoutMs: cfg.idleTimeoutMs };
  return {
    path: "/ws",
    tokenInFirstFrame: true,
    maxMessageBytes: cfg.maxFrameBytes,
    connect(ws, conn) {
      const identity = conn.identity!;
      const url = new URL(conn.request.url ?? "/", "http://localhost");
      const json = ws.protocol === JSON_PROTOCOL || url.searchParams.get("format") === "json";
      const afterText = url.searchParams.get("after") ?? "0";
      if (!/^\d{1,20}$/.test(afterText) || BigInt(afterText) > 0xffff_ffff_ffff_ffffn) {
        ws.close(PUSH_CLOSE.badAfter, "after must be the last sequence the device has (an unsigned integer)");
        return;
      }
      const sessionId = identity.sessionId === undefined ? undefined : BigInt(identity.sessionId);
      if (engine.isRevoked(sessionId)) {
        ws.close(PUSH_CLOSE.revoked, "the session has ended; sign in again");
        return;
      }
      let cut: NodeJS.Timeout | undefined;
      const socket = (ws as unknown as { _socket?: NodeJS.EventEmitter })._socket;
      const session = new DeviceSession(engine, BigInt(identity.userId), sessionId, {
        send(bytes) {
          if (ws.readyState !== ws.OPEN) return false;
          if (ws.bufferedAmount + bytes.length > cfg.sendBufferBytes) {
            this.close("slow", `slow consumer: more than ${cfg.sendBufferBytes} bytes waiting to be sent`);
            return false;
          }
          ws.send(json ? toJsonFrame(bytes) : bytes, { binary: !json });
          return true;
        },
        writable() {
          if (ws.bufferedAmount < cfg.sendBufferBytes / 4 || !socket) return Promise.resolve();
          return new Promise<void>((resolve) => {
            const done = () => {
              socket.off("drain", done);
              ws.off("close", done);
              resolve();
            };
            socket.on("drain", done);
            ws.on("close", done);
          });
        },
        close(kind, reason) {
          if (ws.readyState !== ws.OPEN) return;
          ws.close(PUSH_CLOSE[kind], reason.slice(0, 120));
          // A consumer that does not read may never answer the close: cut it.
          cut = setTimeout(() => ws.terminate(), kind === "drain" ? 5_000 : 1_000);
          cut.unref();
        },
      });
      const peer: WsPeer = { ws, session };
      peers.add(peer);
      // Rate limit: a bucket of 2× the rate, refilled continuously.
      let tokens = cfg.rateLimit * 2;
      let refilled = Date.now();
      ws.on("message", (data, isBinary) => {
        const now = Date.now();
        session.lastIn = now;
        tokens = Math.min(cfg.rateLimit * 2, tokens + ((now - refilled) * cfg.rateLimit) / 1000);
        refilled = now;
        if (tokens < 1) {
          session.close("rate", `too many frames (more than ${cfg.rateLimit}/s)`);
          return;
        }
        tokens -= 1;
        let f: ClientFrame;
        try {
          const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
          f = isBinary ? fromBinary(ClientFrameSchema, buf) : fromJsonString(ClientFrameSchema, buf.toString("utf8"));
        } catch (err) {
          session.close("malformed", `malformed frame: ${(err as Error).message}`);
          return;
        }
        handleFrame(engine, session, f, cfg).catch((err) => conn.log.warn({ err }, "push: a client frame failed"));
      });
      ws.on("pong", () => {
        session.lastIn = Date.now();
      });
      ws.once("close", () => {
        clearTimeout(cut);
        peers.delete(peer);
        session.ended();
      });
      void session.open(BigInt(afterText), timing);
    },
  };
}

async function handleFrame(engine: PushEngine, s: DeviceSession, f: ClientFrame, cfg: PushConfig): Promise<void> {
  switch (f.frame.case) {
    case "join":
      return joinChannel(engine, s, f.frame.value.channel, cfg.maxChannels);
    case "leave":
      return leaveChannel(engine, s, f.frame.value.channel);
    case "ping":
      s.push(control({ case: "heartbeat", value: { lastSequence: s.last } }));
      return;
    default:
      s.push(control({ case: "problem", value: { code: "invalid_argument", message: "an empty or unknown frame" } }));
  }
}

/** Heartbeats and idle timeouts of every WebSocket, in one sweep. */
export function sweepPeers(peers: Set<WsPeer>, cfg: PushConfig, now = Date.now()): void {
  for (const { ws, session } of peers) {
    if (session.closed) continue;
    if (now - session.lastIn >= cfg.idleTimeoutMs) {
      session.close("idle", `no frame from the client for ${cfg.idleTimeoutMs} ms`);
      continue;
    }
    if (now - session.lastOut >= cfg.heartbeatMs) {
      session.push(control({ case: "heartbeat", value: { lastSequence: session.last } }));
      ws.ping();
    }
  }
}
