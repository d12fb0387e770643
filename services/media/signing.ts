/**
 * Signed transform URLs, imgproxy's scheme: the path after the signature is
 * signed with HMAC-SHA256 and the signature is its URL-safe base64, so
 * nobody can ask the server for sizes it did not hand out. Several keys are
 * accepted at once (the first signs): rotate by prepending a new key, then
 * dropping the old one once the URLs it signed have aged out.
 *
 *   /media/img/<signature>/<options>/<media id>
 *   options: w:<px>/h:<px>/fit:<cover|contain|fill|inside|outside>/f:<webp|avif|jpeg|png>/q:<1..100>
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { TransformOptions } from "./images.js";

export const IMG_PREFIX = "/media/img/";

const FITS = ["cover", "contain", "fill", "inside", "outside"] as const;
const FORMATS = ["webp", "avif", "jpeg", "png"] as const;

/** Verified paths remembered (the hot ones skip the HMAC; only good signatures are kept, so only URLs we signed fill it). */
const VERIFIED_MAX = 4096;

export type Verified = { readonly mediaId: bigint; readonly options: TransformOptions };

export class UrlSigner {
  private readonly keys: Buffer[];
  private readonly verified = new Map<string, Verified>();

  constructor(hexKeys: string) {
    const keys = hexKeys
      .split(",")
      .map((k) => k.trim())
      .filter(Boolean)
      .map((k) => Buffer.from(k, "hex"));
    this.keys = keys.length ? keys : [randomBytes(32)];
  }

  private mac(key: Buffer, path: string): Buffer {
    return createHmac("sha256", key).update(path).digest();
  }

  /** The URL path of a transform. */
  sign(mediaId: bigint, o: TransformOptions): string {
    const path = `/${optionsPath(o)}/${mediaId}`;
    return `${IMG_PREFIX}${this.mac(this.keys[0]!, path).toString("base64url")}${path}`;
  }

  /** The media id and options of a signed path (after IMG_PREFIX), or why it is refused. */
  verify(rest: string): Verified | { error: string } {
    const known = this.verified.get(rest);
    if (known) return known;
    const v = this.check(rest);
    if ("error" in v) return v;
    if (this.verified.size >= VERIFIED_MAX) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(rest, v);
    return v;
  }

  private check(rest: string): Verified | { error: string } {
    const slash = rest.indexOf("/");
    if (slash <= 0) return { error: "the URL is not signed" };
    const sig = Buffer.from(rest.slice(0, slash), "base64url");
    const path = rest.slice(slash);
    const ok = this.keys.some((k) => {
      const want = this.mac(k, path);
      return sig.length === want.length && timingSafeEqual(sig, want);
    });
    if (!ok) return { error: "the signature does not match" };
    const parts = path.slice(1).split("/");
    const id = parts.pop()!;
    if (!/^\d{1,19}$/.test(id)) return { error: "bad media id" };
    const options = parseOptions(parts);
    if (typeof options === "string") return { error: options };
    return Object.freeze({ mediaId: BigInt(id), options: Object.freeze(options) });
  }
}

export function optionsPath(o: TransformOptions): string {
  return `w:${o.width}/h:${o.height}/fit:${o.fit}/f:${o.format}/q:${o.quality}`;
}

function parseOptions(parts: string[]): TransformOptions | string {
  const o: Record<string, string> = {};
  for (const p of parts) {
    const at = p.indexOf(":");
    if (at <= 0) return `bad option ${JSON.stringify(p)}`;
    o[p.slice(0, at)] = p.slice(at + 1);
  }
  const width = Number(o.w ?? 0);
  const height = Number(o.h ?? 0);
  const quality = Number(o.q ?? 80);
  const fit = (o.fit ?? "cover") as TransformOptions["fit"];
  const format = (o.f ?? "webp") as TransformOptions["format"];
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0 || width > 4096 || height > 4096)
    return "bad size";
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) return "bad quality";
  if (!FITS.includes(fit)) return "bad fit";
  if (!FORMATS.includes(format)) return "bad format";
  return { width, height, fit, format, quality };
}

/** SignUrl's request, with defaults, checked. */
export function transformOptions(req: {
  width: number;
  height: number;
  fit: string;
  format: string;
  quality: number;
}): TransformOptions | string {
  const fit = req.fit || "cover";
  const format = req.format || "webp";
  if (!(FITS as readonly string[]).includes(fit)) return `fit: one of ${FITS.join(", ")}`;
  if (!(FORMATS as readonly string[]).includes(format)) return `format: one of ${FORMATS.join(", ")}`;
  if (!req.width && !req.height) return "width, height: give at least one";
  return {
    width: req.width,
    height: req.height,
    fit: fit as TransformOptions["fit"],
    format: format as TransformOptions["format"],
    quality: req.quality || 80,
  };
}
