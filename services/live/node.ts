/**
 * A live node: the RTMP ingest, one HLS remux per live stream, the caps that
 * need the remux's view of the input (codec, resolution), and the HTTP source
 * the viewer routes read. The LiveService (RPCs, keys in the database, state
 * pushed to followers) sits on top: it supplies `authorize` and listens to
 * `live` and `ended`.
 *
 * Every ffmpeg started here ends with its stream: on publisher drop, on
 * silence, on a cap, on `end()`, on `stop()` (bundle shutdown).
 */
import { EventEmitter } from "node:events";
import { join } from "node:path";
import { rm } from "node:fs/promises";
import type { Logger } from "../../platform/log.js";
import type { HttpRoute } from "../../platform/http/routes.js";
import { type Authorize, type Publish, RtmpIngest, type StopReason } from "./ingest.js";
import { DEFAULT_HLS, HlsRemux, type HlsSettings, type InputInfo } from "./hls.js";
import { type LiveHttpSource, liveRoutes } from "./http.js";
import { type RecordSettings, Recorder } from "./recorder.js";

export interface LiveLimits {
  /** Streams this node ingests and remuxes at once. */
  readonly maxStreams: number;
  /** Average bitrate cap (kbit/s) over 5 s, measured on the wire. 0 = none. */
  readonly maxBitrateKbps: number;
  readonly maxWidth: number;
  readonly maxHeight: number;
  /** A publisher that sends nothing for this long is ended. */
  readonly silenceTimeoutMs: number;
  /** The window the bitrate is averaged over. */
  readonly bitrateWindowMs: number;
}

export const DEFAULT_LIMITS: LiveLimits = {
  maxStreams: 4,
  maxBitrateKbps: 8000,
  maxWidth: 1920,
  maxHeight: 1080,
  silenceTimeoutMs: 10_000,
  bitrateWindowMs: 5000,
};

export interface LiveNodeOptions {
  readonly rtmpPort: number;
  readonly rtmpHost?: string;
  readonly authorize: Authorize;
  /** Root of the per-stream HLS directories (e.g. <data>/live). */
  readonly hlsRoot: string;
  readonly limits?: Partial<LiveLimits>;
  readonly hls?: Partial<HlsSettings>;
  /** Record each live publish to a file (recorder.ts); off when absent. */
  readonly record?: RecordSettings;
  readonly log: Logger;
}

export interface LiveStarted {
  readonly streamId: string;
  readonly publish: Publish;
  readonly input: InputInfo;
  /** Milliseconds from the authorized publish to the first playable segment. */
  readonly firstSegmentMs: number;
}

export interface LiveEnded {
  readonly streamId: string;
  readonly reason: StopReason;
  readonly detail?: string;
  /** The publish's recording (a file the listener hands on and deletes), if it went live and recorded. */
  readonly recording?: string;
}

type Events = { publishing: [Publish]; live: [LiveStarted]; ended: [LiveEnded] };

/** Video and audio codecs a browser plays from fMP4 HLS without a re-encode. */
const COPYABLE_VIDEO = new Set(["h264"]);
const COPYABLE_AUDIO = new Set(["aac"]);

export class LiveNode extends EventEmitter<Events> implements LiveHttpSource {
  private readonly remuxes = new Map<string, HlsRemux>();
  private readonly recorders = new Map<string, Recorder>();
  private readonly playable = new Set<string>();
  private readonly stopping = new Set<Promise<void>>();
  /** A stream's stop in progress: its remux is stopped and its HLS directory removed before a new publish of it remuxes there. */
  private readonly stoppingById = new Map<string, Promise<void>>();
  private readonly limits: LiveLimits;
  private readonly hls: HlsSettings;

  private constructor(
    private readonly opts: LiveNodeOptions,
    readonly ingest: RtmpIngest,
  ) {
    super();
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.hls = { ...DEFAULT_HLS, ...opts.hls };
    ingest.on("publish-start", (p) => void this.onPublish(p));
    ingest.on("publish-stop", (s) => {
      const p = this.onStop(s.streamId, s.reason, s.detail);
      this.stoppingById.set(s.streamId, p);
      void p.finally(() => this.stoppingById.get(s.streamId) === p && this.stoppingById.delete(s.streamId));
      this.track(p);
    });
  }

  static async start(opts: LiveNodeOptions): Promise<LiveNode> {
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    const hls = { ...DEFAULT_HLS, ...opts.hls };
    const ingest = await RtmpIngest.start({
      rtmpPort: opts.rtmpPort,
      rtmpHost: opts.rtmpHost,
      authorize: opts.authorize,
      maxStreams: limits.maxStreams,
      silenceTimeoutMs: limits.silenceTimeoutMs,
      maxBitrateKbps: limits.maxBitrateKbps,
      bitrateWindowMs: limits.bitrateWindowMs,
      log: opts.log,
    });
    // The remux's own read timeout backs the silence timeout up, never races it.
    const node = new LiveNode(
      { ...opts, hls: { ...hls, readTimeoutMs: Math.max(hls.readTimeoutMs, limits.silenceTimeoutMs + 2000) } },
      ingest,
    );
    return node;
  }

  get rtmpPort(): number {
    return this.ingest.rtmpPort;
  }

  /** The PID of a live stream's recording ffmpeg (tests, ops). */
  recorderPid(streamId: string): number | undefined {
    return this.recorders.get(streamId)?.pid;
  }

  /** The PID of a live stream's remux ffmpeg (tests, ops). */
  remuxPid(streamId: string): number | undefined {
    return this.remuxes.get(streamId)?.pid;
  }

  hlsDir(streamId: string): string | undefined {
    return this.playable.has(streamId) ? this.remuxes.get(streamId)?.dir : undefined;
  }

  flvUpstreamUrl(streamId: string): string | undefined {
    return this.playable.has(streamId) ? this.ingest.flvUpstreamUrl(streamId) : undefined;
  }

  routes(): HttpRoute[] {
    return liveRoutes(this);
  }

  /** Ends a stream (EndStream, RotateKey): disconnects its publisher, stops its remux. */
  end(streamId: string, reason: StopReason = "ended"): boolean {
    return this.ingest.end(streamId, reason);
  }

  /**
   * Ends the stream's publish if one started here before `atMs` (a state change made elsewhere:
   * cuts.ts); a later publish (the new key's, after a RotateKey) stays.
   */
  endIfStartedBefore(streamId: string, reason: StopReason, atMs: number): boolean {
    const p = this.ingest.live().find((x) => x.streamId === streamId);
    return p !== undefined && p.startedAt <= atMs && this.ingest.end(streamId, reason);
  }

  /** Ends every stream and its ffmpeg, then closes the ingest; resolves when all have exited. */
  async stop(): Promise<void> {
    await this.ingest.stop();
    for (const id of [...this.remuxes.keys()]) this.track(this.onStop(id, "shutdown"));
    await Promise.all(this.stopping);
  }

  private track(p: Promise<void>): void {
    this.stopping.add(p);
    void p.finally(() => this.stopping.delete(p));
  }

  private async onPublish(publish: Publish): Promise<void> {
    const { streamId } = publish;
    this.emit("publishing", publish);
    const inputUrl = this.ingest.pullUrl(streamId);
    if (!inputUrl) return;
    const dir = join(this.opts.hlsRoot, streamId);
    // After RotateKey the new key's publisher can arrive while the old one's remux is still
    // stopping; its stop removes this directory, so the new remux starts only after it.
    await this.stoppingById.get(streamId)?.catch(() => undefined);
    if (!this.ingest.isLive(streamId)) return;
    const remux = await HlsRemux.start({ streamId, inputUrl, dir, settings: this.opts.hls as HlsSettings });
    if (!this.ingest.isLive(streamId)) {
      // The publisher left while the remux was starting.
      await remux.stop();
      return;
    }
    this.remuxes.set(streamId, remux);
    if (this.opts.record) await this.startRecorder(streamId, inputUrl, this.opts.record);
    void remux.exited.then(() => {
      if (this.remuxes.get(streamId) === remux)
        this.ingest.end(streamId, "remux-failed", `remux ffmpeg exited: ${remux.tail()}`);
    });
    try {
      const input = await Promise.race([remux.input, remux.firstSegment.then(() => remux.input)]);
      const refusal = this.checkInput(input);
      if (refusal) {
        this.ingest.end(streamId, refusal.reason, refusal.detail);
        return;
      }
      await remux.firstSegment;
      if (this.remuxes.get(streamId) !== remux) return;
      this.playable.add(streamId);
      this.emit("live", { streamId, publish, input, firstSegmentMs: Date.now() - publish.startedAt });
    } catch {
      // firstSegment rejected: the remux exited; its exit handler ends the stream.
    }
  }

  /** Starts recording beside the remux; a recorder that fails is logged, the stream goes on. */
  private async startRecorder(streamId: string, inputUrl: string, settings: RecordSettings): Promise<void> {
    try {
      const rec = await Recorder.start({
        streamId,
        inputUrl,
        settings,
        readTimeoutMs: (this.opts.hls as HlsSettings).readTimeoutMs,
      });
      if (this.remuxes.has(streamId)) this.recorders.set(streamId, rec);
      else await rm((await rec.stop()) ?? rec.file, { force: true });
      void rec.process.exited.then((exit) => {
        if (exit.code !== 0 && this.recorders.get(streamId) === rec)
          this.opts.log.warn({ streamId, exit, stderr: rec.process.stderrTail() }, "recording ffmpeg failed");
      });
    } catch (err) {
      this.opts.log.warn({ err, streamId }, "recording not started");
    }
  }

  private checkInput(input: InputInfo): { reason: StopReason; detail: string } | undefined {
    if (!COPYABLE_VIDEO.has(input.videoCodec))
      return { reason: "codec", detail: `video codec ${input.videoCodec} is not accepted (send H.264)` };
    if (input.audioCodec && !COPYABLE_AUDIO.has(input.audioCodec))
      return { reason: "codec", detail: `audio codec ${input.audioCodec} is not accepted (send AAC)` };
    const { maxWidth, maxHeight } = this.limits;
    if (input.width > maxWidth || input.height > maxHeight)
      return {
        reason: "resolution",
        detail: `${input.width}x${input.height} is over the cap of ${maxWidth}x${maxHeight}`,
      };
    return undefined;
  }

  private async onStop(streamId: string, reason: StopReason, detail?: string): Promise<void> {
    const remux = this.remuxes.get(streamId);
    const rec = this.recorders.get(streamId);
    const wasLive = this.playable.delete(streamId);
    this.remuxes.delete(streamId);
    this.recorders.delete(streamId);
    const [, file] = await Promise.all([
      remux ? remux.stop() : rm(join(this.opts.hlsRoot, streamId), { recursive: true, force: true }),
      rec?.stop(),
    ]);
    // A publish that never went live (refused codec or size, dropped at once) keeps no recording.
    if (file && !wasLive) await rm(file, { force: true });
    this.emit("ended", { streamId, reason, detail, recording: wasLive ? file : undefined });
  }
}
