/**
 * Real files for the media tests and bench, made here with sharp and ffmpeg:
 * photos (with an EXIF orientation), noise that does not compress, a PNG
 * pixel bomb (a 20,000 × 20,000 header over a few bytes of data), gifs,
 * a video.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { deflateSync } from "node:zlib";
import sharp from "sharp";

const run = promisify(execFile);

/** A JPEG photo-like gradient, stored sideways with EXIF orientation 6 (shown rotated 90°). */
export async function sidewaysJpeg(width = 400, height = 300): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      raw[i] = (x * 255) / width;
      raw[i + 1] = (y * 255) / height;
      raw[i + 2] = 128;
    }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

/** Random pixels as PNG: about width × height × 3 bytes, incompressible. */
export async function noisePng(width: number, height: number, seed = 1): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < raw.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    raw[i] = s & 0xff;
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer();
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A valid-looking PNG that claims width × height pixels (1-bit gray) with a few rows of data. */
export function pngBomb(width = 20_000, height = 20_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // gray
  const rows = Buffer.alloc((Math.ceil(width / 8) + 1) * 16); // 16 rows of zeros
  return Buffer.concat([
    Buffer.from("\x89PNG\r\n\x1a\n", "binary"),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

async function ffmpegFile(args: string[], ext: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "media-fixture-"));
  try {
    const out = join(dir, `out.${ext}`);
    await run("ffmpeg", ["-hide_banner", "-nostdin", "-loglevel", "error", "-y", ...args, out]);
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An animated gif of a test pattern. */
export function testGif(
  opts: { width?: number; height?: number; seconds?: number; fps?: number } = {},
): Promise<Buffer> {
  const { width = 160, height = 120, seconds = 2, fps = 10 } = opts;
  return ffmpegFile(["-f", "lavfi", "-i", `testsrc=size=${width}x${height}:rate=${fps}:duration=${seconds}`], "gif");
}

/** A gif with exactly `frames` tiny frames. */
export function manyFrameGif(frames: number): Promise<Buffer> {
  return ffmpegFile(["-f", "lavfi", "-i", "color=c=red:size=2x2:rate=100", "-frames:v", String(frames)], "gif");
}

/** An mp4 (MPEG-4 part 2 video and MP2 audio: something to transcode) of a test pattern with a tone. */
export function testVideo(opts: { width?: number; height?: number; seconds?: number } = {}): Promise<Buffer> {
  const { width = 320, height = 240, seconds = 3 } = opts;
  return ffmpegFile(
    [
      "-f",
      "lavfi",
      "-i",
      `testsrc=size=${width}x${height}:rate=25:duration=${seconds}`,
      "-f",
      "lavfi",
      "-i",
      `sine=frequency=440:duration=${seconds}`,
      "-c:v",
      "mpeg4",
      "-c:a",
      "mp2",
      "-shortest",
    ],
    "mp4",
  );
}

/**
 * A photo-like JPEG (smooth shapes and light grain, so it compresses like a
 * camera picture: about 0.3–0.5 bytes per pixel at quality 90).
 */
export async function photoJpeg(width: number, height: number, seed = 1): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  let s = seed >>> 0 || 1;
  for (let y = 0; y < height; y++) {
    const fy = y / height;
    for (let x = 0; x < width; x++) {
      const fx = x / width;
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const grain = (s & 15) - 8;
      const i = (y * width + x) * 3;
      const wave = Math.sin(fx * 9 + seed) * Math.cos(fy * 7) * 60;
      raw[i] = Math.max(0, Math.min(255, 120 + wave + fx * 80 + grain));
      raw[i + 1] = Math.max(0, Math.min(255, 90 + fy * 120 - wave / 2 + grain));
      raw[i + 2] = Math.max(0, Math.min(255, 150 + Math.sin((fx + fy) * 20) * 50 + grain));
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/**
 * The same gif with a comment extension after its colour table: other
 * bytes (another content address), the same frames to convert.
 */
export function gifWithComment(gif: Buffer, comment: string): Buffer {
  const flags = gif[10]!;
  const gct = flags & 0x80 ? 3 * 2 ** ((flags & 7) + 1) : 0;
  const at = 13 + gct;
  const text = Buffer.from(comment.slice(0, 255), "ascii");
  const ext = Buffer.concat([Buffer.from([0x21, 0xfe, text.length]), text, Buffer.from([0])]);
  return Buffer.concat([gif.subarray(0, at), ext, gif.subarray(at)]);
}
