/**
 * RTMP ingest: node-media-server v4 on `--rtmp-port` with our own publish
 * authorization, one publisher per stream, a cap on concurrent streams, a
 * bitrate cap (measured on the wire) and a silence timeout.
 *
 * A publisher connects to `rtmp://<host>:<port>/<app>/<key>` (OBS: server
 * `rtmp://<host>:<port>/live`, stream key `<key>`). The key is the secret:
 * viewers never see it; streams are served under their stream id. The
 * injected `authorize(streamPath, key)` maps a key to a stream id or refuses
 * it (wrong, revoked or expired key, stream already ended…); a refused
 * session is closed before any viewer can read from it.
 *
 * Events: `publish-start` once a publish is authorized, `publish-stop` once
 * it ended for any reason (exactly once per start), `refused` for each
 * refused attempt.
 */
import { EventEmitter } from "node:events";
import type net from "node:net";
import type { Logger } from "../../platform/log.js";
import { createNms, type NmsSession, stopNms } from "./nms.js";

export type Refusal = { readonly refused: string };
export type Authorization = { readonly streamId: string } | Refusal;
/** Maps a publish (`/live/<key>`) to the stream it feeds, or refuses it. */
export type Authorize = (streamPath: string, key: string, peer: { ip: string }) => Promise<Authorization>;

export interface IngestOptions {
  /** RTMP port; 0 picks a free one (tests). */
  readonly rtmpPort: number;
  /** Address the RTMP port listens on. Default 127.0.0.1. */
  readonly rtmpHost?: string;
  /** Application name in the ingest URL. Default "live". */
  readonly app?: string;
  readonly authorize: Authorize;
  /** Streams this node ingests at once; further publishes are refused. */
  readonly maxStreams: number;
  /** A publisher that sends nothing for this long is disconnected. */
  readonly silenceTimeoutMs: number;
  /** Average bitrate cap over `bitrateWindowMs`, in kbit/s (audio + video + overhead). 0 = none. */
  readonly maxBitrateKbps: number;
  readonly bitrateWindowMs?: number;
  /** How long `authorize` may take before the publish is refused. Default 5000. */
  readonly authorizeTimeoutMs?: number;
  readonly log: Logger;
}

export type StopReason =
  | "publisher-left"
  | "silent"
  | "bitrate"
  | "resolution"
  | "codec"
  | "remux-failed"
  | "ended"
  | "hidden"
  | "key-rotated"
  | "shutdown";

export interface Publish {
  readonly streamId: string;
  readonly streamPath: string;
  readonly sessionId: string;
  readonly ip: string;
  readonly startedAt: number;
}

export interface PublishStop {
  readonly streamId: string;
  readonly reason: StopReason;
  readonly detail?: string;
}

interface Live {
  readonly publish: Publish;
  readonly session: NmsSession;
  lastBytes: number;
  lastDataAt: number;
  samples: { at: number; bytes: number }[];
  stopping: boolean;
}

type Events = {
  "publish-start": [Publish];
  "publish-stop": [PublishStop];
  refused: [{ streamPath: string; ip: string; reason: string }];
};

const KEY_RE = /^[A-Za-z0-9_-]{8,128}$/;

export class RtmpIngest extends EventEmitter<Events> {
  private readonly byStream = new Map<string, Live>();
  private readonly pending = new Set<string>();
  private readonly app: string;
  private monitor: NodeJS.Timeout | undefined;
  private stopped = false;

  private constructor(
    private readonly opts: IngestOptions,
    private readonly nms: ReturnType<typeof createNms>,
    /** The RTMP port publishers connect to. */
    readonly rtmpPort: number,
    /** Loopback port of NMS's HTTP-FLV server (never exposed; the bundle proxies it). */
    readonly flvPort: number,
  ) {
    super();
    this.app = opts.app ?? "live";
  }

  static async start(opts: IngestOptions): Promise<RtmpIngest> {
    const nms = createNms();
    try {
      const rtmp = nms.rtmpServer.tcpServer;
      const http = nms.httpServer.httpServer;
      if (!rtmp || !http) throw new Error("node-media-server did not create its RTMP and HTTP servers");
      const rtmpPort = await listen(rtmp, opts.rtmpPort, opts.rtmpHost ?? "127.0.0.1");
      const flvPort = await listen(http, 0, "127.0.0.1");
      const ingest = new RtmpIngest(opts, nms, rtmpPort, flvPort);
      nms.on("prePublish", (s) => ingest.onPrePublish(s));
      nms.on("prePlay", (s) => ingest.onPrePlay(s));
      ingest.monitor = setInterval(() => ingest.check(), 250);
      ingest.monitor.unref();
      opts.log.info({ rtmpPort, flvPort }, "rtmp ingest listening");
      return ingest;
    } catch (err) {
      await stopNms(nms);
      throw err;
    }
  }

  /** Where a local process (the HLS remux) reads the stream: RTMP play of the key's path. */
  pullUrl(streamId: string): string | undefined {
    const live = this.byStream.get(streamId);
    return live && `rtmp://127.0.0.1:${this.rtmpPort}${live.publish.streamPath}`;
  }

  /** NMS's HTTP-FLV URL of the stream on loopback (the bundle proxies it under the stream id). */
  flvUpstreamUrl(streamId: string): string | undefined {
    const live = this.byStream.get(streamId);
    return live && `http://127.0.0.1:${this.flvPort}${live.publish.streamPath}.flv`;
  }

  /** Streams being published now. */
  live(): Publish[] {
    return [...this.byStream.values()].map((l) => l.publish);
  }

  isLive(streamId: string): boolean {
    return this.byStream.has(streamId);
  }

  /** Disconnects the stream's publisher (EndStream, RotateKey, a cap); emits publish-stop. */
  end(streamId: string, reason: StopReason, detail?: string): boolean {
    const live = this.byStream.get(streamId);
    if (!live) return false;
    this.finish(live, reason, detail);
    return true;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.monitor);
    for (const live of [...this.byStream.values()]) this.finish(live, "shutdown");
    await stopNms(this.nms);
  }

  /** Playing from the ingest is for this host's remuxes (and the FLV proxy) only. */
  private onPrePlay(session: NmsSession): void {
    const ip = session.ip.replace(/:\d+$/, "");
    if (ip === "127.0.0.1" || ip === "::1" || ip === "::ffff:127.0.0.1") return;
    this.opts.log.warn({ ip }, "play from the ingest refused (viewers use /live/<id>)");
    closeSession(session);
  }

  private onPrePublish(session: NmsSession): void {
    const { streamPath } = session;
    const ip = session.ip.replace(/:\d+$/, "");
    const refuse = (reason: string) => {
      this.opts.log.warn({ streamPath: redact(streamPath), ip, reason }, "publish refused");
      closeSession(session);
      this.emit("refused", { streamPath, ip, reason });
    };
    // NMS keeps a dropped publish "reconnecting" for 30 s; here a drop ends the stream.
    if (session.broadcast) session.broadcast.publishGraceMs = 0;
    if (this.stopped) return refuse("ingest is shutting down");
    if (session.protocol !== "rtmp") return refuse("publishing is accepted over RTMP only");
    if (session.streamApp !== this.app) return refuse(`unknown application "${session.streamApp}"`);
    const key = session.streamName;
    if (!KEY_RE.test(key)) return refuse("malformed stream key");
    if (this.pending.has(streamPath) || [...this.byStream.values()].some((l) => l.publish.streamPath === streamPath))
      return refuse("this key is already publishing");
    if (this.byStream.size + this.pending.size >= this.opts.maxStreams)
      return refuse(`this node ingests at most ${this.opts.maxStreams} streams`);
    this.pending.add(streamPath);
    void withTimeout(this.opts.authorize(streamPath, key, { ip }), this.opts.authorizeTimeoutMs ?? 5000)
      .catch((err: unknown): Authorization => {
        this.opts.log.error({ err }, "stream authorization failed");
        return { refused: "authorization is unavailable" };
      })
      .then((auth) => {
        this.pending.delete(streamPath);
        const gone = session.socket?.destroyed || session.broadcast?.publisher !== session;
        if (gone) return this.opts.log.info({ streamPath: redact(streamPath) }, "publisher left before authorization");
        if ("refused" in auth) return refuse(auth.refused);
        if (this.stopped) return refuse("ingest is shutting down");
        if (this.byStream.has(auth.streamId)) return refuse("this stream already has a publisher");
        const now = Date.now();
        const publish: Publish = { streamId: auth.streamId, streamPath, sessionId: session.id, ip, startedAt: now };
        const live: Live = {
          publish,
          session,
          lastBytes: session.inBytes,
          lastDataAt: now,
          samples: [{ at: now, bytes: session.inBytes }],
          stopping: false,
        };
        this.byStream.set(auth.streamId, live);
        session.socket?.once("close", () => this.finish(live, "publisher-left"));
        this.opts.log.info({ streamId: auth.streamId, ip }, "publish started");
        this.emit("publish-start", publish);
      });
  }

  /** Silence and bitrate, every 250 ms. */
  private check(): void {
    const now = Date.now();
    const windowMs = this.opts.bitrateWindowMs ?? 5000;
    for (const live of [...this.byStream.values()]) {
      const bytes = live.session.inBytes;
      if (bytes !== live.lastBytes) {
        live.lastBytes = bytes;
        live.lastDataAt = now;
      } else if (now - live.lastDataAt >= this.opts.silenceTimeoutMs) {
        this.finish(live, "silent", `no data for ${now - live.lastDataAt} ms`);
        continue;
      }
      live.samples.push({ at: now, bytes });
      while (live.samples.length > 1 && now - live.samples[1]!.at >= windowMs) live.samples.shift();
      const first = live.samples[0]!;
      const span = now - first.at;
      if (this.opts.maxBitrateKbps > 0 && span >= windowMs) {
        const kbps = ((bytes - first.bytes) * 8) / span;
        if (kbps > this.opts.maxBitrateKbps)
          this.finish(live, "bitrate", `${Math.round(kbps)} kbit/s over the cap of ${this.opts.maxBitrateKbps}`);
      }
    }
  }

  private finish(live: Live, reason: StopReason, detail?: string): void {
    if (live.stopping) return;
    live.stopping = true;
    this.byStream.delete(live.publish.streamId);
    closeSession(live.session);
    this.opts.log.info({ streamId: live.publish.streamId, reason, detail }, "publish stopped");
    this.emit("publish-stop", { streamId: live.publish.streamId, reason, detail });
  }
}

function closeSession(session: NmsSession): void {
  if (session.socket) session.socket.destroy();
  else session.close();
}

function redact(streamPath: string): string {
  return streamPath.replace(/\/([^/]{4})[^/]*$/, "/$1…");
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(new Error(`cannot listen on ${host}:${port}: ${err.message}`));
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      const addr = server.address();
      resolve(typeof addr === "object" && addr ? addr.port : port);
    });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
