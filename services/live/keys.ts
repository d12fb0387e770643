/**
 * Stream keys: 32 random bytes, base64url (43 characters, RTMP-path safe).
 * Only a SHA-256 of a key is stored; `checkKey` turns the stored record (or
 * its absence) into the ingest's authorization. The LiveService keeps the
 * records (CreateStream issues a key, RotateKey revokes the old one).
 */
import { createHash, randomBytes } from "node:crypto";
import type { Authorization } from "./ingest.js";

export interface StreamKeyRecord {
  readonly streamId: string;
  /** sha256 of the key, hex (what `hashStreamKey` returns). */
  readonly keyHash: string;
  /** Set when the key was rotated or the stream's owner revoked it. */
  readonly revokedAt?: number;
  /** The key stops working at this time (ms since the epoch); 0 = never. */
  readonly expiresAt: number;
  /** An ended stream cannot be published again. */
  readonly streamEnded: boolean;
}

export function newStreamKey(): string {
  return randomBytes(32).toString("base64url");
}

export function hashStreamKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** Why a key is refused, or the stream it publishes to. */
export function checkKey(record: StreamKeyRecord | undefined, now: number): Authorization {
  if (!record) return { refused: "unknown stream key" };
  if (record.revokedAt !== undefined) return { refused: "this stream key was revoked" };
  if (record.expiresAt > 0 && now >= record.expiresAt) return { refused: "this stream key has expired" };
  if (record.streamEnded) return { refused: "this stream has ended" };
  return { streamId: record.streamId };
}

/** An in-process key table (tests, benches, a single-node bundle before the database is wired). */
export class MemoryStreamKeys {
  private readonly byHash = new Map<string, StreamKeyRecord>();

  issue(streamId: string, opts: { ttlMs?: number; now?: number } = {}): string {
    const key = newStreamKey();
    const now = opts.now ?? Date.now();
    this.byHash.set(hashStreamKey(key), {
      streamId,
      keyHash: hashStreamKey(key),
      expiresAt: opts.ttlMs ? now + opts.ttlMs : 0,
      streamEnded: false,
    });
    return key;
  }

  revoke(key: string, now = Date.now()): void {
    const h = hashStreamKey(key);
    const r = this.byHash.get(h);
    if (r) this.byHash.set(h, { ...r, revokedAt: now });
  }

  /** The ingest's `authorize`. */
  authorize = async (_streamPath: string, key: string): Promise<Authorization> =>
    checkKey(this.byHash.get(hashStreamKey(key)), Date.now());
}
