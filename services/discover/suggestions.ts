/**
 * Follow suggestions from a precomputed list per user (`discover_suggestions`).
 *
 * - Build (the expensive part, one friends-of-friends join and a few indexed
 *   reads): candidates are friends of friends, accounts that follow the user
 *   and are not followed back, and, when those are few, the most-followed
 *   accounts; never the user, accounts already followed, blocked either way,
 *   dismissed (suspended ones are kept, left out at read). Each is scored with the sun2 mix (MIX) and the best
 *   LIST_SIZE are stored, 21 bytes each.
 * - Staleness: discover.index bumps `version` of both accounts of every
 *   follow, unfollow, block and unblock (one keyed UPDATE per event: bounded
 *   work, whatever the accounts' sizes), and DismissSuggestion bumps the
 *   dismisser's. A list is rebuilt when read with `built_version < version`,
 *   or older than `--discover-suggestions-max-age-ms` (what no event marks: the
 *   follows of the accounts one follows, popularity). The consuming process
 *   also rebuilds marked lists in the background (one at a time, a bounded
 *   queue), so the next read is usually a point read.
 * - Read: the list row (a point read) and, in parallel, the viewer's blocks and
 *   dismissals; then one query over the listed ids for those followed or
 *   suspended since the build. What is filtered out is never shown, whatever
 *   the age of the list.
 */
import { create } from "@bufbuild/protobuf";
import { SuggestionReason, SuggestionSchema, type Suggestion } from "../../gen/orbit/discover/v1/discover_pb.js";
import { SuggestionListRowDao } from "../../gen/orbit/discover/v1/tables_db.js";
import type { Client } from "@connectrpc/connect";
import type { UserService } from "../../gen/orbit/user/v1/user_pb.js";
import type { SqlExecutor } from "../../platform/storage/driver.js";

/** The suggestion mix (the seeds' sun2): contacts, follow-backs, popularity. */
export const MIX = { contacts: 0.5, followBack: 0.2, popularity: 0.3 } as const;

/** Followed accounts whose follows count as friends of friends. */
const FOF_SOURCES = 1000;
/** Candidates read from each source when building. */
const FOF_CANDIDATES = 300;
const FOLLOWS_YOU_CANDIDATES = 100;
const POPULAR = 100;
/** Candidates kept per list (GetSuggestions answers at most 100). */
export const LIST_SIZE = 120;
const ENTRY = 21;
/** Lists waiting for a background rebuild; past it, the next read rebuilds. */
const QUEUE_MAX = 10_000;

const big = (v: unknown): bigint => BigInt(typeof v === "bigint" ? v : String(v));
const num = (v: unknown): number => Number(v);

export interface Candidate {
  id: bigint;
  score: number;
  mutual: number;
  reason: SuggestionReason;
}

export function encodeCandidates(list: readonly Candidate[]): Uint8Array {
  const buf = Buffer.alloc(list.length * ENTRY);
  list.forEach((c, i) => {
    const o = i * ENTRY;
    buf.writeBigInt64BE(c.id, o);
    buf.writeDoubleBE(c.score, o + 8);
    buf.writeUInt32BE(Math.min(c.mutual, 0xffffffff), o + 16);
    buf.writeUInt8(c.reason, o + 20);
  });
  return buf;
}

export function decodeCandidates(bytes: Uint8Array): Candidate[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Candidate[] = [];
  for (let o = 0; o + ENTRY <= buf.length; o += ENTRY)
    out.push({
      id: buf.readBigInt64BE(o),
      score: buf.readDoubleBE(o + 8),
      mutual: buf.readUInt32BE(o + 16),
      reason: buf.readUInt8(o + 20) as SuggestionReason,
    });
  return out;
}

/** Marks the lists of these accounts stale (discover.index, DismissSuggestion). */
export async function markStale(db: SqlExecutor, ...userIds: bigint[]): Promise<void> {
  const ids = [...new Set(userIds)];
  await db.run(
    `UPDATE discover_suggestions SET version = version + 1 WHERE user_id IN (${ids.map(() => "?").join(",")})`,
    ids,
  );
}

/** Accounts `me` blocked or is blocked by, and those `me` dismissed. */
async function excludedFor(db: SqlExecutor, me: bigint): Promise<Set<bigint>> {
  const rows = await db.allValues(
    "SELECT blocked_id FROM discover_blocks WHERE blocker_id = ? UNION SELECT blocker_id FROM discover_blocks WHERE blocked_id = ? " +
      "UNION SELECT dismissed_id FROM discover_dismissed WHERE user_id = ?",
    [me, me, me],
  );
  return new Set(rows.map((r) => big(r[0])));
}

/** Builds `me`'s candidate list from the projection (the expensive part). */
export async function buildCandidates(
  db: SqlExecutor,
  me: bigint,
  popular: () => Promise<{ id: bigint; followers: bigint }[]>,
): Promise<Candidate[]> {
  const [fof, followsMe, top, excluded] = await Promise.all([
    db.allValues(
      "SELECT f2.followee_id, COUNT(*) AS n FROM " +
        "(SELECT followee_id FROM discover_follows WHERE follower_id = ? LIMIT ?) AS f1 " +
        "JOIN discover_follows f2 ON f2.follower_id = f1.followee_id " +
        "LEFT JOIN discover_follows mine ON mine.follower_id = ? AND mine.followee_id = f2.followee_id " +
        "WHERE mine.follower_id IS NULL AND f2.followee_id <> ? " +
        "GROUP BY f2.followee_id ORDER BY n DESC LIMIT ?",
      [me, FOF_SOURCES, me, me, FOF_CANDIDATES],
    ),
    db.allValues(
      "SELECT f.follower_id FROM discover_follows f " +
        "LEFT JOIN discover_follows back ON back.follower_id = ? AND back.followee_id = f.follower_id " +
        "WHERE f.followee_id = ? AND back.follower_id IS NULL LIMIT ?",
      [me, me, FOLLOWS_YOU_CANDIDATES],
    ),
    popular(),
    excludedFor(db, me),
  ]);
  const mutual = new Map<bigint, number>();
  for (const r of fof) mutual.set(big(r[0]), num(r[1]));
  const back = new Set(followsMe.map((r) => big(r[0])));
  const candidates = new Set<bigint>([...mutual.keys(), ...back]);
  if (candidates.size < LIST_SIZE) for (const p of top) candidates.add(p.id);
  candidates.delete(me);
  for (const id of excluded) candidates.delete(id);
  if (candidates.size === 0) return [];
  const ids = [...candidates];
  // Followers and suspension of every candidate; popular accounts already
  // followed are taken out here (the other sources exclude them in SQL).
  const stats = new Map<bigint, { followers: number; suspended: boolean }>();
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const q = chunk.map(() => "?").join(",");
    for (const r of await db.allValues(
      `SELECT user_id, followers, suspended FROM discover_users WHERE user_id IN (${q})`,
      chunk,
    ))
      stats.set(big(r[0]), { followers: num(r[1]), suspended: num(r[2]) !== 0 });
    for (const r of await db.allValues(
      `SELECT followee_id FROM discover_follows WHERE follower_id = ? AND followee_id IN (${q})`,
      [me, ...chunk],
    ))
      candidates.delete(big(r[0]));
  }
  const maxMutual = Math.max(1, ...mutual.values());
  const maxFollowers = Math.max(1, ...[...stats.values()].map((s) => s.followers));
  const scored: Candidate[] = [];
  // Suspended candidates stay in the list (the read leaves them out): an unsuspension, which marks no list, needs no rebuild.
  for (const id of candidates) {
    const s = stats.get(id);
    const m = mutual.get(id) ?? 0;
    const parts = {
      contacts: MIX.contacts * (m / maxMutual),
      followBack: back.has(id) ? MIX.followBack : 0,
      popularity: MIX.popularity * (Math.log1p(s?.followers ?? 0) / Math.log1p(maxFollowers)),
    };
    const reason =
      parts.contacts >= parts.followBack && parts.contacts >= parts.popularity && m > 0
        ? SuggestionReason.FRIENDS_OF_FRIENDS
        : parts.followBack >= parts.popularity && back.has(id)
          ? SuggestionReason.FOLLOWS_YOU
          : SuggestionReason.POPULAR;
    scored.push({ id, score: parts.contacts + parts.followBack + parts.popularity, mutual: m, reason });
  }
  scored.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  return scored.slice(0, LIST_SIZE);
}

export class SuggestionLists {
  private readonly queue = new Set<bigint>();
  private draining = false;
  private stopped = false;
  constructor(
    private readonly db: SqlExecutor,
    private readonly users: Client<typeof UserService>,
    private readonly popular: () => Promise<{ id: bigint; followers: bigint }[]>,
    private readonly maxAgeMs: number,
  ) {}

  /** Builds `me`'s list and stores it unless it was marked stale meanwhile. */
  async rebuild(me: bigint): Promise<Candidate[]> {
    const lists = new SuggestionListRowDao(this.db);
    let row = await lists.get({ userId: me });
    if (!row) {
      // A row first, so a follow committed while building marks it stale.
      await lists.insertIfAbsent({
        userId: me,
        version: 0n,
        builtVersion: -1n,
        builtAtMs: 0n,
        candidates: new Uint8Array(),
      });
      row = await lists.get({ userId: me });
    }
    const version = row?.version ?? 0n;
    const list = await buildCandidates(this.db, me, this.popular);
    await this.db.run(
      "UPDATE discover_suggestions SET candidates = ?, built_version = ?, built_at_ms = ? WHERE user_id = ? AND version = ?",
      [encodeCandidates(list), version, Date.now(), me, version],
    );
    return list;
  }

  /** Queues background rebuilds (called after discover.index commits a mark). */
  refreshSoon(ids: readonly bigint[]): void {
    if (this.stopped) return;
    for (const id of ids) if (this.queue.size < QUEUE_MAX) this.queue.add(id);
    if (!this.draining) void this.drain();
  }

  stop(): void {
    this.stopped = true;
    this.queue.clear();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (const id of this.queue) {
        this.queue.delete(id);
        if (this.stopped) break;
        // Only lists someone has read are kept: an account never asking gets none.
        const row = await new SuggestionListRowDao(this.db).get({ userId: id }).catch(() => undefined);
        if (row && row.builtVersion < row.version) await this.rebuild(id).catch(() => undefined);
      }
    } finally {
      this.draining = false;
    }
  }

  async suggestions(me: bigint, n: number): Promise<Suggestion[]> {
    const [row, excluded] = await Promise.all([
      new SuggestionListRowDao(this.db).get({ userId: me }),
      excludedFor(this.db, me),
    ]);
    const fresh = row && row.builtVersion === row.version && Date.now() - Number(row.builtAtMs) < this.maxAgeMs;
    const list = fresh ? decodeCandidates(row.candidates) : await this.rebuild(me);
    // Twice what is asked is looked at: filtering rarely takes more.
    let shown = list.filter((c) => !excluded.has(c.id)).slice(0, n * 2 + 10);
    if (shown.length === 0) return [];
    // Followed or suspended since the build (a follow also marks the list stale; this covers the race).
    const q = shown.map(() => "?").join(",");
    const gone = await this.db.allValues(
      `SELECT user_id FROM discover_users WHERE suspended = 1 AND user_id IN (${q}) ` +
        `UNION SELECT followee_id FROM discover_follows WHERE follower_id = ? AND followee_id IN (${q})`,
      [...shown.map((c) => c.id), me, ...shown.map((c) => c.id)],
    );
    if (gone.length) {
      const out = new Set(gone.map((r) => big(r[0])));
      shown = shown.filter((c) => !out.has(c.id));
    }
    const top = shown.slice(0, n);
    if (top.length === 0) return [];
    const users = new Map((await this.users.getUsers({ userIds: top.map((t) => t.id) })).users.map((u) => [u.id, u]));
    return top.flatMap((t) => {
      const user = users.get(t.id);
      return user
        ? [create(SuggestionSchema, { user, reason: t.reason, mutualCount: BigInt(t.mutual), score: t.score })]
        : [];
    });
  }
}
