/**
 * Images with sharp (libvips): the header probe that refuses bombs before
 * decoding, the cleaned full-size image (EXIF orientation applied, metadata
 * stripped), the standard variants, the ThumbHash placeholder, and on-the-fly
 * transforms.
 */
import sharp, { type Metadata, type Sharp } from "sharp";
import { rgbaToThumbHash } from "thumbhash";

/** Mastodon's and imgproxy's anchors. */
export const LIMITS = {
  imageBytes: 16 * 1024 * 1024,
  videoBytes: 100 * 1024 * 1024,
  imagePixels: 40_000_000,
  frames: 1000,
} as const;

/** The standard set made for every image: widths × formats. */
export const VARIANT_WIDTHS = [1080, 640, 320] as const;
export const VARIANT_FORMATS = ["webp", "jpeg"] as const;

export class MediaRefused extends Error {
  override readonly name = "MediaRefused";
  constructor(
    message: string,
    /** "invalid": 422-ish, the file is wrong; "too_large": a limit. */
    readonly kind: "invalid" | "too_large",
  ) {
    super(message);
  }
}

export interface ImageHeader {
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly format: string;
}

/**
 * Reads only the header (sharp's metadata does not decode pixels) and
 * applies the pixel and frame limits: a 50,000 × 50,000 PNG of a few KB is
 * refused here, in milliseconds.
 */
export async function probeImage(bytes: Uint8Array): Promise<ImageHeader> {
  let m: Metadata;
  try {
    m = await sharp(bytes, { animated: true, limitInputPixels: false }).metadata();
  } catch (err) {
    throw new MediaRefused(`the image cannot be read: ${(err as Error).message}`, "invalid");
  }
  const width = m.width ?? 0;
  const height = m.pageHeight ?? m.height ?? 0;
  const frames = m.pages ?? 1;
  if (!width || !height) throw new MediaRefused("the image has no dimensions", "invalid");
  if (width * height > LIMITS.imagePixels) {
    throw new MediaRefused(
      `the image is ${width}×${height} = ${((width * height) / 1e6).toFixed(1)} MP, over the limit of ${LIMITS.imagePixels / 1e6} MP`,
      "too_large",
    );
  }
  if (frames > LIMITS.frames) {
    throw new MediaRefused(`the animation has ${frames} frames, over the limit of ${LIMITS.frames}`, "too_large");
  }
  return { width, height, frames, format: m.format ?? "" };
}

/** sharp's input options for our files: the pixel limit, and truncated data is an error. */
export function input(bytes: Uint8Array, animated = false): Sharp {
  return sharp(bytes, { limitInputPixels: LIMITS.imagePixels, failOn: "truncated", animated });
}

export interface Rendition {
  readonly name: string;
  readonly data: Buffer;
  readonly contentType: string;
  readonly ext: string;
  readonly width: number;
  readonly height: number;
}

const CLEAN_FORMAT: Record<string, "jpeg" | "png" | "webp"> = {
  jpeg: "jpeg",
  png: "png",
  webp: "webp",
  gif: "png",
  heif: "jpeg",
  avif: "jpeg",
};

function encode(s: Sharp, format: string, quality = 80): Sharp {
  switch (format) {
    case "jpeg":
      return s.jpeg({ quality, mozjpeg: true });
    case "png":
      return s.png();
    case "avif":
      return s.avif({ quality: Math.min(quality, 70), effort: 2 });
    default:
      return s.webp({ quality });
  }
}

export const CONTENT_TYPES: Record<string, string> = {
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  avif: "image/avif",
};
export const EXTS: Record<string, string> = { jpeg: "jpg", png: "png", webp: "webp", avif: "avif" };

/**
 * The cleaned original (rotated upright, every metadata block dropped,
 * same format where browsers show it) and the standard variants (no
 * enlargement: a 500 px image gets 320 and its own size, not 640/1080).
 */
export async function processStill(
  bytes: Uint8Array,
  format: string,
): Promise<{
  clean: Rendition;
  variants: Rendition[];
  placeholder: Uint8Array;
}> {
  // One decode: the upright pixels, reused for every output.
  const { data: raw, info } = await input(bytes).rotate().raw().toBuffer({ resolveWithObject: true });
  const rawInput = () => sharp(raw, { raw: { width: info.width, height: info.height, channels: info.channels } });
  const cleanFormat = CLEAN_FORMAT[format] ?? "jpeg";
  const quality = 90;
  const clean: Rendition = {
    name: "original",
    data: await encode(rawInput(), cleanFormat, quality).toBuffer(),
    contentType: CONTENT_TYPES[cleanFormat]!,
    ext: EXTS[cleanFormat]!,
    width: info.width,
    height: info.height,
  };
  const variants: Rendition[] = [];
  const widths = [...new Set(VARIANT_WIDTHS.map((w) => Math.min(w, info.width)))];
  for (const w of widths) {
    const h = Math.max(1, Math.round((info.height * w) / info.width));
    const resized = await rawInput().resize(w, h, { fit: "fill" }).raw().toBuffer();
    for (const f of VARIANT_FORMATS) {
      const data = await encode(
        sharp(resized, { raw: { width: w, height: h, channels: info.channels } }),
        f,
      ).toBuffer();
      variants.push({
        name: `${w}.${EXTS[f]}`,
        data,
        contentType: CONTENT_TYPES[f]!,
        ext: EXTS[f]!,
        width: w,
        height: h,
      });
    }
  }
  const placeholder = await thumbhashOf(rawInput());
  return { clean, variants, placeholder };
}

/** A ThumbHash (≤ 100×100 RGBA in, about 25 bytes out). */
export async function thumbhashOf(img: Sharp): Promise<Uint8Array> {
  const { data, info } = await img
    .resize(100, 100, { fit: "inside" })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return rgbaToThumbHash(info.width, info.height, data);
}

export interface TransformOptions {
  readonly width: number;
  readonly height: number;
  readonly fit: "cover" | "contain" | "fill" | "inside" | "outside";
  readonly format: "webp" | "avif" | "jpeg" | "png";
  readonly quality: number;
}

/** An on-the-fly transform of an image file. */
export async function transform(bytes: Uint8Array, o: TransformOptions): Promise<Buffer> {
  let s = input(bytes).rotate();
  if (o.width || o.height) {
    s = s.resize(o.width || undefined, o.height || undefined, { fit: o.fit, withoutEnlargement: true });
  }
  return encode(s, o.format, o.quality).toBuffer();
}
