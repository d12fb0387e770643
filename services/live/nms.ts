/**
 * The part of node-media-server v4 (pinned 4.4.3) that the ingest uses, typed.
 *
 * NMS v4 keeps its state in a process-wide singleton (its `Context`: config,
 * sessions, one event emitter), so one process holds one NMS. It has no
 * publish-auth callback of its own beyond signed URLs; what it has is the
 * `prePublish` event, emitted synchronously with the session before the
 * publish is accepted. A session is refused by closing it (its socket).
 *
 * We do not call `nms.run()`: that would open NMS's JSON store in ./data,
 * start its recorder, relay and history, and its listeners call
 * `process.exit(1)` on a listen error. We listen on NMS's own server objects
 * ourselves instead (the RTMP TCP server, and the HTTP server that serves
 * HTTP-FLV and WS-FLV), with our own host, port (0 works) and error handling.
 */
import type http from "node:http";
import type net from "node:net";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** An NMS session (RtmpSession, FlvSession) as the events hand it over. */
export interface NmsSession {
  readonly id: string;
  /** "address:port" of the peer. */
  readonly ip: string;
  readonly protocol: string;
  readonly streamApp: string;
  readonly streamName: string;
  readonly streamPath: string;
  readonly inBytes: number;
  readonly videoWidth: number;
  readonly videoHeight: number;
  /** RTMP sessions: the TCP socket. */
  readonly socket?: net.Socket;
  readonly broadcast?: { publisher: NmsSession | null; publishGraceMs: number };
  close(): void;
}

export type NmsEvent = "prePublish" | "postPublish" | "donePublish" | "prePlay" | "postPlay" | "donePlay";

interface NmsInstance {
  on(event: NmsEvent, listener: (session: NmsSession) => void): void;
  stop(): Promise<void>;
  rtmpServer: { tcpServer?: net.Server; stop(): void };
  httpServer: { httpServer?: http.Server; stop(): void };
}

interface NmsContext {
  eventEmitter: import("node:events").EventEmitter;
  sessions: Map<string, NmsSession>;
}

type NmsConstructor = new (config: Record<string, unknown>, configPath?: string) => NmsInstance;

let active: NmsInstance | undefined;

/** Creates the process's NMS (RTMP and HTTP-FLV servers, not listening yet). */
export function createNms(): NmsInstance {
  if (active) throw new Error("node-media-server is already running in this process (its state is process-wide)");
  const NodeMediaServer = require("node-media-server") as NmsConstructor;
  const logger = require("node-media-server/src/core/logger.js") as { log: (m: string, l?: string) => void };
  // NMS logs every session at debug level to stdout; ours are the logs that count.
  logger.log = () => {};
  const nms = new NodeMediaServer({
    // The ports only make NMS create its servers; we listen on them ourselves.
    rtmp: { port: 1935 },
    http: { port: 8000 },
    webadmin: { enable: false },
    record: { auto: false },
  });
  active = nms;
  return nms;
}

/** Stops the NMS created by `createNms` (listeners, sessions, its rate sampler). */
export async function stopNms(nms: NmsInstance): Promise<void> {
  await nms.stop();
  const ctx = require("node-media-server/src/core/context.js") as NmsContext;
  ctx.eventEmitter.removeAllListeners();
  if (active === nms) active = undefined;
}
