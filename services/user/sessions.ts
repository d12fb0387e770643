/**
 * Sessions: one per device, found by the SHA-256 of their bearer token.
 * `verifyToken` is the bundle's token check (the kernel's TokenVerifier):
 * the user service's `verifiesTokens` (token-check.ts).
 */
import type { SqlExecutor, SqlTx } from "../../platform/storage/driver.js";
import { SessionRowDao, UserRowDao } from "../../gen/orbit/user/v1/tables_db.js";
import type { UserRow } from "../../gen/orbit/user/v1/tables_pb.js";
import { SessionEndReason, SessionEndedSchema } from "../../gen/orbit/user/v1/events_pb.js";
import type { ServiceEvents } from "../../platform/events/service-events.js";
import type { IdGenerator } from "../../platform/ids.js";
import type { Identity, TokenVerifier } from "../../platform/rpc/identity.js";
import { existingSessionCache, SessionCache } from "./session-cache.js";
import { hashToken, looksLikeToken, newToken } from "./tokens.js";

/** last_seen_at_ms is written at most this often per session. */
const SEEN_RESOLUTION_MS = 60_000;

/** What a session without a device name is listed as. */
export const UNNAMED_DEVICE = "unnamed device";

/**
 * Opens a session for `user` on `deviceName`, in the caller's transaction:
 * one session per device, so the earlier sessions of a named device (same
 * name, exactly) are deleted, and their tokens stop working, in the same
 * transaction as the insert. A login without a device name (or named
 * "unnamed device") cannot be told apart from other devices, so it gets a
 * session of its own each time, listed as "unnamed device" and never
 * replaced.
 *
 * Each replaced session is announced (user.session_ended, REPLACED) in the
 * same transaction, so the push gateway closes its open connections.
 *
 * Two concurrent logins on one device must not both keep a session: the
 * transaction first writes the user's row (an identical value), which holds
 * the row lock on MySQL/MariaDB until commit, so logins of one user open
 * their sessions one at a time; SQLite transactions take the write lock at
 * BEGIN anyway.
 */
export async function openSession(
  tx: SqlTx,
  ids: IdGenerator,
  events: ServiceEvents,
  user: Pick<UserRow, "id" | "createdAtMs">,
  deviceName: string,
): Promise<{ token: string; sessionId: bigint }> {
  const sessions = new SessionRowDao(tx);
  const named = deviceName !== "" && deviceName !== UNNAMED_DEVICE;
  if (named) {
    await new UserRowDao(tx).update({ id: user.id }, { createdAtMs: user.createdAtMs });
    const stale: bigint[] = [];
    let page = "";
    do {
      const p = await sessions.listByUserId({ userId: user.id }, { limit: 100, pageToken: page });
      for (const s of p.rows) if (s.deviceName === deviceName) stale.push(s.id);
      page = p.nextPageToken;
    } while (page);
    for (const id of stale) {
      if (await sessions.delete({ id })) await sessionEnded(tx, events, user.id, id, SessionEndReason.REPLACED);
    }
  }
  const token = newToken();
  const now = BigInt(Date.now());
  const sessionId = ids.next();
  await sessions.insert({
    id: sessionId,
    userId: user.id,
    tokenHash: hashToken(token),
    deviceName: named ? deviceName : UNNAMED_DEVICE,
    createdAtMs: now,
    lastSeenAtMs: now,
  });
  return { token, sessionId };
}

/**
 * Deletes a session (its token stops working) and, when it existed, publishes
 * user.session_ended in the same transaction. Returns whether it existed.
 */
export async function endSession(
  tx: SqlTx,
  events: ServiceEvents,
  userId: bigint,
  sessionId: bigint,
  reason: SessionEndReason,
): Promise<boolean> {
  if (!(await new SessionRowDao(tx).delete({ id: sessionId }))) return false;
  await sessionEnded(tx, events, userId, sessionId, reason);
  return true;
}

function sessionEnded(
  tx: SqlTx,
  events: ServiceEvents,
  userId: bigint,
  sessionId: bigint,
  reason: SessionEndReason,
): Promise<void> {
  // This process's verified-session cache forgets it now and once the end is committed.
  const cache = existingSessionCache(events);
  if (cache) {
    cache.revoke(sessionId.toString());
    tx.afterCommit(() => cache.revoke(sessionId.toString()));
  }
  return events.publish(tx, SessionEndedSchema, { userId, sessionId, reason, endedAtMs: BigInt(Date.now()) });
}

export async function verifyToken(
  db: SqlExecutor,
  token: string,
): Promise<{ userId: bigint; sessionId: bigint } | undefined> {
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

/**
 * The bundle's token check when the user service runs in it: the session, looked up in its
 * store, and remembered in `cache` (session-cache.ts) for its TTL.
 */
export function sessionVerifier(db: SqlExecutor, cache?: SessionCache): TokenVerifier {
  return {
    async verify(token) {
      const hit = cache?.get(token);
      if (hit) return hit;
      const startedAt = Date.now();
      const s = await verifyToken(db, token);
      if (!s) return undefined;
      const identity = { userId: s.userId.toString(), sessionId: s.sessionId.toString() };
      cache?.set(token, identity, startedAt);
      return identity;
    },
    ...(cache ? { forgetSession: (sessionId: string) => cache.revoke(sessionId) } : {}),
  };
}

/**
 * The token check for bundles that do not run the user service: VerifyToken
 * over the network, remembered for a few seconds, and forgotten when the
 * session ends (user.session_ended, consumed by this process: token-check.ts);
 * a refused token is remembered as refused for the same time.
 */
export function remoteVerifier(
  verify: (token: string, signal: AbortSignal) => Promise<{ userId: bigint; sessionId: bigint } | undefined>,
  ttlMs = 5_000,
): TokenVerifier {
  const known = new SessionCache(ttlMs, 50_000);
  const refused = new Map<string, number>();
  return {
    async verify(token, signal) {
      if (!looksLikeToken(token)) return undefined;
      const now = Date.now();
      const hit = known.get(token, now);
      if (hit) return hit;
      const no = refused.get(token);
      if (no !== undefined && no > now) return undefined;
      const r = await verify(token, signal);
      if (!r) {
        if (refused.size > 50_000) refused.clear();
        refused.set(token, now + ttlMs);
        return undefined;
      }
      const identity = { userId: r.userId.toString(), sessionId: r.sessionId.toString() };
      known.set(token, identity, now);
      return identity;
    },
    forgetSession: (sessionId) => known.revoke(sessionId),
  };
}
