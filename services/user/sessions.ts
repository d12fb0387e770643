/**
 * Sessions: one per device, found by the SHA-256 of their bearer token.
 * `verifyToken` is the bundle's token check (the kernel's TokenVerifier).
 */
import type { SqlExecutor } from "../../platform/storage/driver.js";
import { SessionRowDao } from "../../gen/orbit/user/v1/tables_db.js";
import type { IdGenerator } from "../../platform/ids.js";
import type { TokenVerifier } from "../../platform/rpc/identity.js";
import { hashToken, looksLikeToken, newToken } from "./tokens.js";

/** last_seen_at_ms is written at most this often per session. */
const SEEN_RESOLUTION_MS = 60_000;

export async function openSession(
  db: SqlExecutor,
  ids: IdGenerator,
  userId: bigint,
  deviceName: string,
): Promise<{ token: string; sessionId: bigint }> {
  const token = newToken();
  const now = BigInt(Date.now());
  const sessionId = ids.next();
  await new SessionRowDao(db).insert({
    id: sessionId,
    userId,
    tokenHash: hashToken(token),
    deviceName: deviceName || "unnamed device",
    createdAtMs: now,
    lastSeenAtMs: now,
  });
  return { token, sessionId };
}

export async function verifyToken(db: SqlExecutor, token: string): Promise<{ userId: bigint; sessionId: bigint } | undefined> {
  if (!looksLikeToken(token)) return undefined;
  const sessions = new SessionRowDao(db);
  const s = await sessions.getByTokenHash({ tokenHash: hashToken(token) });
  if (!s) return undefined;
  const now = Date.now();
  if (now - Number(s.lastSeenAtMs) > SEEN_RESOLUTION_MS) {
    await sessions.update({ id: s.id }, { lastSeenAtMs: BigInt(now) });
  }
  return { userId: s.userId, sessionId: s.id };
}

export function sessionVerifier(db: SqlExecutor): TokenVerifier {
  return {
    async verify(token) {
      const s = await verifyToken(db, token);
      return s ? { userId: s.userId.toString() } : undefined;
    },
  };
}

/** The bearer token of a request, if it has one. */
export function bearerToken(header: Headers): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header.get("authorization") ?? "");
  return m?.[1];
}

/**
 * The token check for bundles that do not run the user service: VerifyToken
 * over the network, remembered for a few seconds (a revoked session stops
 * working there within that time).
 */
export function remoteVerifier(
  verify: (token: string, signal: AbortSignal) => Promise<{ userId: bigint } | undefined>,
  ttlMs = 5_000,
): TokenVerifier {
  const cache = new Map<string, { userId: string | undefined; until: number }>();
  return {
    async verify(token, signal) {
      if (!looksLikeToken(token)) return undefined;
      const now = Date.now();
      const hit = cache.get(token);
      if (hit && hit.until > now) return hit.userId === undefined ? undefined : { userId: hit.userId };
      const r = await verify(token, signal);
      if (cache.size > 50_000) cache.clear();
      cache.set(token, { userId: r?.userId.toString(), until: now + ttlMs });
      return r ? { userId: r.userId.toString() } : undefined;
    },
  };
}
