/**
 * A generated test stream published over RTMP by ffmpeg (tests and the live
 * bench): testsrc video (H.264, keyframe every second) and a sine tone (AAC),
 * paced in real time (`-re`).
 */
import { FfmpegProcess } from "../../../platform/ffmpeg/process.js";

export interface PublisherOptions {
  readonly url: string;
  readonly width?: number;
  readonly height?: number;
  readonly fps?: number;
  /** Stop after this much media time. Default 60 s (tests stop it earlier). */
  readonly seconds?: number;
  readonly videoKbps?: number;
  /** Constant bitrate (x264 pads with filler), so the wire rate is `videoKbps` whatever the picture. */
  readonly cbr?: boolean;
  /** `-progress pipe:1` output (the bench maps media time to wall time with it). */
  readonly onProgress?: (chunk: string) => void;
}

export function publisherArgs(o: PublisherOptions): string[] {
  const w = o.width ?? 320;
  const h = o.height ?? 180;
  const fps = o.fps ?? 30;
  return [
    "-loglevel",
    "error",
    ...(o.onProgress ? ["-progress", "pipe:1", "-stats_period", "0.1"] : []),
    "-re",
    "-f",
    "lavfi",
    "-i",
    `testsrc=size=${w}x${h}:rate=${fps}`,
    "-re",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=44100",
    "-t",
    String(o.seconds ?? 60),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
    "-pix_fmt",
    "yuv420p",
    "-g",
    String(fps),
    "-b:v",
    `${o.videoKbps ?? 600}k`,
    ...(o.cbr
      ? [
          "-minrate",
          `${o.videoKbps ?? 600}k`,
          "-maxrate",
          `${o.videoKbps ?? 600}k`,
          "-bufsize",
          `${Math.round((o.videoKbps ?? 600) / 2)}k`,
          "-x264-params",
          "nal-hrd=cbr:force-cfr=1",
        ]
      : []),
    "-c:a",
    "aac",
    "-b:a",
    "64k",
    "-f",
    "flv",
    o.url,
  ];
}

export function startPublisher(o: PublisherOptions): FfmpegProcess {
  return new FfmpegProcess({ args: publisherArgs(o), onStdout: o.onProgress });
}
