/**
 * Verified sessions, remembered for a bounded time (`--user-session-cache-ms`,
 * default 5 s) so that a call's bearer token is not looked up (hashed, read,
 * decoded) on every call. A session ended in this process (LogOut,
 * RevokeSession, a new sign-in on the device, a suspension: every path goes
 * through sessions.ts `sessionEnded`) is forgotten at once and again after
 * its transaction commits; a lookup that began before the end cannot put it
 * back. Other processes (another worker of --workers, another bundle, and
 * the remote verifier of bundles without the user service) forget it when
 * user.session_ended reaches them: each consumes it in a group of its own node
 * id (`user.sessions.n<id>`, platform/kernel/tokens.ts), typically within the
 * bus's delivery delay; the TTL stays the bound when the bus is late.
 */
import type { ServiceEvents } from "../../platform/events/service-events.js";
import type { Identity } from "../../platform/rpc/identity.js";

interface Entry {
  readonly identity: Identity;
  readonly until: number;
}

export class SessionCache {
  private readonly byToken = new Map<string, Entry>();
  private readonly tokensOf = new Map<string, Set<string>>();
  /** Session id → when it was revoked here (kept one TTL: lookups older than that are done). */
  private readonly revoked = new Map<string, number>();

  constructor(
    readonly ttlMs: number,
    readonly maxEntries = 100_000,
  ) {}

  get size(): number {
    return this.byToken.size;
  }

  get(token: string, now = Date.now()): Identity | undefined {
    const e = this.byToken.get(token);
    if (!e) return undefined;
    if (e.until > now) return e.identity;
    this.drop(token, e.identity);
    return undefined;
  }

  /** Remembers a verified session, unless it was revoked after the lookup began (`startedAt`). */
  set(token: string, identity: Identity, startedAt: number): void {
    if (this.ttlMs <= 0) return;
    const sid = identity.sessionId ?? "";
    const r = this.revoked.get(sid);
    if (r !== undefined && r >= startedAt) return;
    if (this.byToken.size >= this.maxEntries) this.clear();
    this.byToken.set(token, { identity, until: Date.now() + this.ttlMs });
    let set = this.tokensOf.get(sid);
    if (!set) this.tokensOf.set(sid, (set = new Set()));
    set.add(token);
  }

  /** Forgets every token of a session that ended. */
  revoke(sessionId: string): void {
    const now = Date.now();
    this.revoked.set(sessionId, now);
    for (const t of this.tokensOf.get(sessionId) ?? []) this.byToken.delete(t);
    this.tokensOf.delete(sessionId);
    if (this.revoked.size > 10_000) {
      for (const [sid, at] of this.revoked) if (at < now - this.ttlMs - 60_000) this.revoked.delete(sid);
    }
  }

  clear(): void {
    this.byToken.clear();
    this.tokensOf.clear();
  }

  private drop(token: string, identity: Identity): void {
    this.byToken.delete(token);
    const set = this.tokensOf.get(identity.sessionId ?? "");
    set?.delete(token);
    if (set?.size === 0) this.tokensOf.delete(identity.sessionId ?? "");
  }
}

/**
 * The cache of the user service that publishes through `events` (its context's), so the
 * paths that end sessions find the cache the token check fills.
 */
const caches = new WeakMap<ServiceEvents, SessionCache>();

export function sessionCacheFor(events: ServiceEvents, ttlMs: number): SessionCache {
  let c = caches.get(events);
  if (!c) caches.set(events, (c = new SessionCache(ttlMs)));
  return c;
}

export function existingSessionCache(events: ServiceEvents): SessionCache | undefined {
  return caches.get(events);
}
