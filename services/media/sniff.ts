/**
 * The type of a file from its first bytes (never from its name or the
 * client's claim), and cheap structural checks that refuse a truncated file
 * without decoding it.
 */

export type MediaKind = "image" | "animated" | "video";

export interface Sniffed {
  readonly contentType: string;
  /** "image" for still formats; gif/webp may turn out "animated" once the header is read. */
  readonly kind: "image" | "video";
  readonly ext: string;
}

/** Bytes needed to sniff every supported type. */
export const SNIFF_BYTES = 32;

function ascii(b: Uint8Array, at: number, s: string): boolean {
  if (b.length < at + s.length) return false;
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** The type of these first bytes, or undefined when it is not one we take. */
export function sniff(b: Uint8Array): Sniffed | undefined {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff)
    return { contentType: "image/jpeg", kind: "image", ext: "jpg" };
  if (ascii(b, 0, "\x89PNG\r\n\x1a\n")) return { contentType: "image/png", kind: "image", ext: "png" };
  if (ascii(b, 0, "GIF87a") || ascii(b, 0, "GIF89a")) return { contentType: "image/gif", kind: "image", ext: "gif" };
  if (ascii(b, 0, "RIFF") && ascii(b, 8, "WEBP")) return { contentType: "image/webp", kind: "image", ext: "webp" };
  if (ascii(b, 4, "ftyp")) {
    const brand = String.fromCharCode(...b.subarray(8, 12));
    if (brand === "avif" || brand === "avis") return { contentType: "image/avif", kind: "image", ext: "avif" };
    if (["heic", "heix", "mif1", "msf1"].includes(brand))
      return { contentType: "image/heic", kind: "image", ext: "heic" };
    if (brand === "qt  ") return { contentType: "video/quicktime", kind: "video", ext: "mov" };
    return { contentType: "video/mp4", kind: "video", ext: "mp4" };
  }
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3)
    return { contentType: "video/webm", kind: "video", ext: "webm" };
  return undefined;
}

/** The kind the client's declared content type claims (for the size limit before any byte arrived). */
export function declaredKind(contentType: string): "image" | "video" | undefined {
  const t = contentType.toLowerCase();
  if (t.startsWith("image/")) return "image";
  if (t.startsWith("video/")) return "video";
  return undefined;
}

/**
 * Whether a complete file ends the way its format must (PNG's IEND chunk,
 * JPEG's EOI marker, GIF's trailer, a RIFF length that matches): a truncated
 * upload is refused at once, before any decoding.
 */
export function truncation(contentType: string, file: Uint8Array): string | undefined {
  const n = file.length;
  switch (contentType) {
    case "image/png":
      // The last chunk is IEND: length 0, type "IEND", CRC AE 42 60 82.
      return n >= 12 && ascii(file, n - 8, "IEND") ? undefined : "the PNG is truncated (no IEND chunk at the end)";
    case "image/jpeg": {
      // EOI (FF D9), allowing a little trailing padding some cameras add.
      const tail = file.subarray(Math.max(0, n - 64));
      for (let i = tail.length - 2; i >= 0; i--) if (tail[i] === 0xff && tail[i + 1] === 0xd9) return undefined;
      return "the JPEG is truncated (no end-of-image marker)";
    }
    case "image/gif":
      return file[n - 1] === 0x3b ? undefined : "the GIF is truncated (no trailer)";
    case "image/webp": {
      const riff = n >= 8 ? (file[4]! | (file[5]! << 8) | (file[6]! << 16) | (file[7]! << 24)) >>> 0 : 0;
      return riff + 8 <= n ? undefined : `the WebP is truncated (${n} of ${riff + 8} bytes)`;
    }
    default:
      return undefined;
  }
}
