/**
 * Lag per consumer group, for /metrics and `orbit events groups`: how many
 * events of its topics wait beyond its position (counted up to a cap, so a
 * scrape stays cheap), how old the oldest waiting one is, and its retry and
 * dead-letter state.
 */
import type { SqlExecutor } from "../storage/driver.js";
import { countDeadLetters } from "./dead-letters.js";
import { big, GROUPS, LOG, num } from "./tables.js";

/** Pending events are counted up to this many per group. */
export const LAG_COUNT_CAP = 100_000;

export interface GroupLag {
  readonly group: string;
  readonly topics: readonly string[];
  readonly position: bigint;
  /** Highest id in the log. */
  readonly head: bigint;
  /** Events of the group's topics after its position (at most LAG_COUNT_CAP). */
  readonly pending: number;
  /** True when `pending` hit the cap. */
  readonly pendingCapped: boolean;
  /** Age of the oldest pending event in ms (0 when none is pending). */
  readonly lagMs: number;
  /** Current lease owner, if its lease is live. */
  readonly owner: string | null;
  /** The event being retried and how often it failed, if any. */
  readonly retrying: { readonly eventId: bigint; readonly attempts: number; readonly error: string } | null;
  readonly deadLetters: number;
  readonly handled: bigint;
}

export async function lagByGroup(db: SqlExecutor, nowMs: number = Date.now()): Promise<GroupLag[]> {
  const rows = await db.all<Record<string, unknown>>(
    `SELECT group_name, position, topics, owner, lease_until_ms, retry_event_id, retry_attempts, retry_error, handled
     FROM ${GROUPS} ORDER BY group_name`,
  );
  const head = big((await db.get<{ m: unknown }>(`SELECT MAX(id) AS m FROM ${LOG}`))?.m);
  const dead = await countDeadLetters(db);
  const out: GroupLag[] = [];
  for (const r of rows) {
    const group = String(r.group_name);
    const position = big(r.position);
    let topics: string[] = [];
    try {
      topics = JSON.parse(String(r.topics)) as string[];
    } catch {
      /* shown without topics */
    }
    let pending = 0;
    let lagMs = 0;
    if (topics.length && position < head) {
      const inList = topics.map(() => "?").join(", ");
      const c = await db.get<{ n: unknown }>(
        `SELECT COUNT(*) AS n FROM (SELECT id FROM ${LOG} WHERE id > ? AND topic IN (${inList}) ORDER BY id LIMIT ${LAG_COUNT_CAP}) t`,
        [position, ...topics],
      );
      pending = num(c?.n);
      if (pending > 0) {
        const o = await db.get<{ c: unknown }>(
          `SELECT created_ms AS c FROM ${LOG} WHERE id > ? AND topic IN (${inList}) ORDER BY id LIMIT 1`,
          [position, ...topics],
        );
        lagMs = Math.max(0, nowMs - num(o?.c));
      }
    }
    out.push({
      group,
      topics,
      position,
      head,
      pending,
      pendingCapped: pending >= LAG_COUNT_CAP,
      lagMs,
      owner: r.owner != null && num(r.lease_until_ms) > nowMs ? String(r.owner) : null,
      retrying:
        r.retry_event_id == null
          ? null
          : { eventId: big(r.retry_event_id), attempts: num(r.retry_attempts), error: String(r.retry_error ?? "") },
      deadLetters: dead.get(group) ?? 0,
      handled: big(r.handled),
    });
  }
  return out;
}
