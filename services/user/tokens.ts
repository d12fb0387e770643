/**
 * Session tokens: 32 random bytes, shown to the client once as
 * `orb_<base64url>`, stored only as their SHA-256.
 */
import { createHash, randomBytes } from "node:crypto";

export function newToken(): string {
  return `orb_${randomBytes(32).toString("base64url")}`;
}

export function hashToken(token: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(token).digest());
}

/** Cheap shape check before touching the store. */
export function looksLikeToken(token: string): boolean {
  return /^orb_[A-Za-z0-9_-]{43}$/.test(token);
}
