/**
 * PushService.Subscribe: the same stream as /ws over a server-streaming RPC.
 * Updates are queued per call; the queue beyond --push-send-buffer-bytes ends
 * the call with ResourceExhausted (a slow consumer), a revoked session with
 * Unauthenticated, a drain with a Reconnect update and the end of the stream.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { type SubscribeRequest, type Update, UpdateSchema } from "../../gen/orbit/push/v1/push_pb.js";
import type { PushEngine } from "../../platform/push/engine.js";
import { DeviceSession, type CloseKind } from "../../platform/push/session.js";
import { requireUser } from "../../platform/rpc/call-scope.js";
import { joinChannel } from "./channels.js";
import type { PushConfig } from "./settings.js";

const ENDS: Record<CloseKind, Code | undefined> = {
  slow: Code.ResourceExhausted,
  revoked: Code.Unauthenticated,
  idle: Code.DeadlineExceeded,
  rate: Code.ResourceExhausted,
  malformed: Code.InvalidArgument,
  error: Code.Unavailable,
  drain: undefined,
};

export async function* subscribe(
  engine: PushEngine,
  cfg: PushConfig,
  streams: Set<DeviceSession>,
  req: SubscribeRequest,
  hctx: HandlerContext,
): AsyncGenerator<Update> {
  const me = requireUser(hctx);
  const sessionId = me.sessionId === undefined ? undefined : BigInt(me.sessionId);
  if (engine.isRevoked(sessionId)) throw new ConnectError("the session has ended; sign in again", Code.Unauthenticated);
  const queue: Uint8Array[] = [];
  let queued = 0;
  let ended: { kind: CloseKind; reason: string } | undefined;
  let wake: (() => void) | undefined;
  let drained: (() => void) | undefined;
  const poke = () => {
    wake?.();
    wake = undefined;
  };
  const session = new DeviceSession(engine, BigInt(me.userId), sessionId, {
    send(bytes) {
      if (ended) return false;
      if (queued + bytes.length > cfg.sendBufferBytes) {
        this.close("slow", `slow consumer: more than ${cfg.sendBufferBytes} bytes waiting to be sent`);
        return false;
      }
      queue.push(bytes);
      queued += bytes.length;
      poke();
      return true;
    },
    writable() {
      if (queued < cfg.sendBufferBytes / 4 || ended) return Promise.resolve();
      return new Promise<void>((resolve) => (drained = resolve));
    },
    close(kind, reason) {
      ended ??= { kind, reason };
      poke();
      drained?.();
    },
  });
  const onAbort = () => session.close("error", "the call ended");
  hctx.signal.addEventListener("abort", onAbort);
  streams.add(session);
  try {
    void session.open(req.afterSequence, { heartbeatMs: cfg.heartbeatMs, idleTimeoutMs: 0 });
    for (const c of req.channels) void joinChannel(engine, session, c, cfg.maxChannels);
    for (;;) {
      while (queue.length > 0) {
        const bytes = queue.shift()!;
        queued -= bytes.length;
        if (drained && queued < cfg.sendBufferBytes / 4) {
          drained();
          drained = undefined;
        }
        yield fromBinary(UpdateSchema, bytes);
      }
      if (ended) {
        const code = ENDS[ended.kind];
        if (code === undefined) return;
        throw new ConnectError(ended.reason, code);
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    hctx.signal.removeEventListener("abort", onAbort);
    streams.delete(session);
    session.ended();
  }
}
