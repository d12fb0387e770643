/**
 * One consumer group in this process: takes the group's lease, reads batches
 * of settled events (ids up to the frontier), hands them to the handler,
 * commits the position, retries failures with backoff and parks what keeps
 * failing in the dead letters.
 *
 * Invariant: the stored position only moves after the work it covers is
 * done — in the same transaction (commit "transaction") or after it (commit
 * "after") — and only while this process holds the lease (fenced writes).
 */
import type { SqlDb, SqlExecutor, SqlTx } from "../storage/driver.js";
import { isStoreUnavailable } from "../storage/unavailable.js";
import type { Delivered, HandlerContext, ResolvedConsumerOptions } from "./consumer-options.js";
import { backoffMs } from "./consumer-options.js";
import { deleteDeadLetter, markRetryFailed, putDeadLetter, retryRequests, type DeadEvent } from "./dead-letters.js";
import { decodeEvent } from "./encode.js";
import { EventBusConfigError, LeaseLostError } from "./errors.js";
import type { EventType } from "./event-type.js";
import type { Frontier } from "./frontier.js";
import type { LocalTail } from "./local-tail.js";
import type { GroupStore, Lease } from "./group-store.js";
import type { EventLogger } from "./logger.js";
import type { EventRegistry } from "./registry.js";
import { errorText, HandlerFailure, runHandlers } from "./run-handlers.js";
import { Signal, Stopper } from "./signal.js";
import { big, LOG, num } from "./tables.js";

/** While a store is unavailable, an event is retried at least this often (not counted as attempts). */
const UNAVAILABLE_RETRY_MAX_MS = 5_000;

/** What a consumer needs from its bus. */
export interface ConsumerHost {
  readonly db: SqlDb;
  readonly groups: GroupStore;
  readonly registry: EventRegistry;
  readonly frontier: Frontier;
  readonly owner: string;
  readonly leaseTtlMs: number;
  /** How often a consumer looks for dead letters marked for retry. */
  readonly retryPollMs: number;
  readonly log: EventLogger;
  /** This process's own recent rows, when reads of them may skip the store. */
  readonly tail?: LocalTail;
}

export type ConsumerState = "starting" | "standby" | "active" | "stopped";

/** A log row as the group's read returns it (`topic` only when it consumes several). */
interface RawRow {
  id: unknown;
  topic?: unknown;
  payload: unknown;
  created_ms: unknown;
}

/** How often the position is saved when the group only skips other topics' events. */
const SKIP_SAVE_MS = 1000;

/**
 * A group's read: the next `batchSize` events of its topics after the
 * position, up to the frontier. Only what delivery needs (the key comes from
 * the decoded message; `topic` only for several topics). On MySQL ids and
 * times come as DOUBLE (exact below 2^53): mysql2 turns BIGINT into strings
 * through a slow 64-bit path. ORDER BY names the table's column, qualified: a
 * bare `id` would be the DOUBLE alias, and the server would sort the whole
 * range up to the frontier (a filesort of the backlog on every read) instead
 * of walking the primary key.
 */
export function groupReadSql(dialect: string, topics: readonly string[], batchSize: number): string {
  const mysql = dialect === "mysql";
  const cols = [
    mysql ? "CAST(id AS DOUBLE) AS id" : "id",
    ...(topics.length === 1 ? [] : ["topic"]),
    "payload",
    mysql ? "CAST(created_ms AS DOUBLE) AS created_ms" : "created_ms",
  ].join(", ");
  return (
    `SELECT ${cols} FROM ${LOG} WHERE ${LOG}.id > ? AND ${LOG}.id <= ? ` +
    `AND topic IN (${topics.map(() => "?").join(", ")}) ORDER BY ${LOG}.id LIMIT ${batchSize}`
  );
}

export class Consumer {
  state: ConsumerState = "starting";
  /** Events handled (committed) by this consumer since it started. */
  handled = 0;
  /** Events sent to the dead letters by this consumer since it started. */
  deadLettered = 0;
  private lease: Lease | null = null;
  private leaseLost = false;
  private position = 0n;
  private savedPosition = 0n;
  private savedAt = 0;
  private retryId: bigint | null = null;
  private retryAttempts = 0;
  private retryError = "";
  private nextRetryPoll = 0;
  private readonly stopper = new Stopper();
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly signal = new Signal();
  private readonly topics: string[];
  private readonly topicSet: ReadonlySet<string>;
  private readonly typeByTopic = new Map<string, EventType>();
  /** The topic, when the group consumes one (the read then skips the topic column). */
  private readonly onlyTopic: string | undefined;
  private readonly readSql: string;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: ConsumerHost,
    readonly options: ResolvedConsumerOptions,
  ) {
    for (const e of options.events) {
      const type = typeof e === "string" ? host.registry.byTopic(e) : host.registry.add(e);
      this.typeByTopic.set(type.topic, type as EventType);
    }
    this.topics = [...this.typeByTopic.keys()].sort();
    this.topicSet = new Set(this.topics);
    this.onlyTopic = this.topics.length === 1 ? this.topics[0] : undefined;
    this.readSql = groupReadSql(host.db.dialect, this.topics, options.batchSize);
  }

  get group(): string {
    return this.options.group;
  }

  private markStarted: () => void = () => undefined;
  /**
   * Resolves once the group exists and this process has made its first claim
   * on the lease (it is then active, or standing by for another process), or
   * when the consumer is stopped first.
   */
  readonly started: Promise<void> = new Promise<void>((resolve) => (this.markStarted = resolve));

  /** Starts the consumer loop in the background. */
  start(): void {
    this.done = this.run().finally(() => this.markStarted());
  }

  /** Wakes the loop (new events are settled, or a retry was requested). */
  wake(): void {
    this.signal.notify();
  }

  /** Looks for dead letters marked for retry now. */
  wakeForRetries(): void {
    this.nextRetryPoll = 0;
    this.signal.notify();
  }

  /** Stops after the batch in progress; releases the lease. */
  async stop(): Promise<void> {
    this.stopper.stop();
    this.signal.notify();
    await this.done;
  }

  private async run(): Promise<void> {
    const { groups, frontier, log } = this.host;
    let failures = 0;
    for (let attempt = 1; ; attempt++) {
      if (this.stopper.stopped) {
        this.state = "stopped";
        return;
      }
      try {
        // "latest": what is settled now (after a fresh look at the log).
        if (this.options.startFrom === "latest") await frontier.advance();
        await groups.ensure(this.group, this.topics, this.options.startFrom === "latest" ? frontier.value : 0n);
        break;
      } catch (err) {
        log.error({ group: this.group, err }, "cannot create the consumer group; retrying");
        await this.stopper.sleep(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)));
      }
    }
    while (!this.stopper.stopped) {
      try {
        if (this.leaseLost) this.dropLease();
        if (!this.lease) {
          const got = await this.acquire();
          this.markStarted();
          if (!got) {
            this.state = "standby";
            await this.stopper.sleep(Math.min(1000, this.host.leaseTtlMs / 3));
            continue;
          }
        }
        this.state = "active";
        if (Date.now() >= this.nextRetryPoll) await this.retryDeadLetters();
        const worked = await this.step();
        failures = 0;
        if (!worked && !this.stopper.stopped) {
          await this.saveSkippedPosition(false);
          await this.signal.wait(Math.min(this.host.leaseTtlMs / 3, this.nextRetryPoll - Date.now()));
        }
      } catch (err) {
        if (err instanceof LeaseLostError) {
          this.dropLease();
          log.info({ group: this.group }, err.message);
          continue;
        }
        failures++;
        log.error({ group: this.group, err }, "consumer loop failed; backing off");
        await this.stopper.sleep(Math.min(5000, 50 * 2 ** Math.min(failures, 7)));
      }
    }
    await this.shutdown();
  }

  /** One read-deliver round; false when there was nothing to do. */
  private async step(): Promise<boolean> {
    const f = this.host.frontier.value;
    if (this.position >= f) return false;
    const rows =
      this.host.tail?.read(this.position, f, this.topicSet, this.options.batchSize) ??
      (await this.host.db.all<RawRow>(this.readSql, [this.position, f, ...this.topics]));
    if (rows.length > 0) await this.deliver(rows);
    if (rows.length < this.options.batchSize && !this.stopper.stopped && this.retryId === null) {
      // Everything up to f was read: ids the group does not consume are skipped.
      const lastRead = rows.length ? big(rows[rows.length - 1]!.id) : this.position;
      if (this.position >= lastRead && f > this.position) this.position = f;
      await this.saveSkippedPosition(true);
    }
    return rows.length > 0;
  }

  /** Saves a position reached by skipping (no work behind it), at most once a second. */
  private async saveSkippedPosition(throttle: boolean): Promise<void> {
    if (this.position === this.savedPosition || !this.lease) return;
    if (throttle && Date.now() - this.savedAt < SKIP_SAVE_MS) return;
    await this.host.groups.commit(this.host.db, this.lease, this.position, 0);
    this.saved(this.position);
  }

  private saved(position: bigint): void {
    this.savedPosition = position;
    this.savedAt = Date.now();
    this.retryId = null;
    this.retryAttempts = 0;
  }

  private async acquire(): Promise<boolean> {
    const got = await this.host.groups.acquire(this.group, this.host.owner, this.host.leaseTtlMs);
    if (!got) return false;
    this.lease = got.lease;
    this.leaseLost = false;
    this.position = this.savedPosition = got.row.position;
    this.host.frontier.raiseTo(got.row.position);
    this.retryId = got.row.retryEventId;
    this.retryAttempts = got.row.retryAttempts;
    this.retryError = got.row.retryError ?? "";
    this.nextRetryPoll = 0;
    this.startHeartbeat();
    this.host.log.info(
      { group: this.group, position: String(this.position), epoch: String(got.lease.epoch) },
      "consumer active",
    );
    return true;
  }

  /** Forgets a lease that is gone (taken over, or the group was replayed): stop renewing it. */
  private dropLease(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.lease = null;
    this.leaseLost = false;
  }

  private startHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    const lease = this.lease!;
    this.heartbeat = setInterval(
      () => {
        this.host.groups.renew(lease, this.host.leaseTtlMs).then(
          (ok) => {
            if (!ok && this.lease === lease) {
              this.leaseLost = true;
              this.signal.notify();
            }
          },
          (err) => this.host.log.warn({ group: this.group, err }, "lease renewal failed"),
        );
      },
      Math.max(10, Math.floor(this.host.leaseTtlMs / 3)),
    );
    this.heartbeat.unref();
  }

  private async shutdown(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    if (this.lease && !this.leaseLost) {
      try {
        await this.saveSkippedPosition(false);
        await this.host.groups.release(this.lease);
      } catch (err) {
        this.host.log.warn({ group: this.group, err }, "could not release the lease; it expires by itself");
      }
    }
    this.lease = null;
    this.state = "stopped";
  }

  // ---- delivery -----------------------------------------------------------

  /** Decodes a row; a payload that does not decode gives the reason instead. */
  private toEvent(r: RawRow, attempt: number): Delivered | string {
    const topic = (r.topic as string | undefined) ?? this.onlyTopic!;
    const type = this.typeByTopic.get(topic);
    try {
      if (!type) throw new Error(`the group does not consume topic "${topic}"`);
      const message = decodeEvent(type.schema, r.payload as Uint8Array);
      return { id: big(r.id), topic, key: type.keyOf(message), message, publishedAtMs: num(r.created_ms), attempt };
    } catch (err) {
      return `payload does not decode as ${type?.typeName ?? topic}: ${errorText(err)}`;
    }
  }

  private async deliver(rows: RawRow[]): Promise<void> {
    const events: Delivered[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const e = this.toEvent(rows[i]!, 1);
      if (typeof e === "string") {
        // A payload that cannot decode will never succeed: deliver what is
        // before it, then park it without retries.
        events.length = i;
        if (i > 0) await this.deliverDecoded(events);
        const id = big(rows[i]!.id);
        if (this.position < id && !this.stopper.stopped) await this.deadLetter(id, 0, e);
        return;
      }
      events[i] = e;
    }
    await this.deliverDecoded(events);
  }

  private async deliverDecoded(events: Delivered[]): Promise<void> {
    const first = events[0]!;
    if (this.retryId === first.id) {
      // Resuming the retries of this event (after a restart or a takeover).
      await this.retry(first, this.retryAttempts, this.retryError);
      return;
    }
    try {
      await this.runUnit(events);
      return;
    } catch (err) {
      if (!(err instanceof HandlerFailure)) throw err;
      if (err.index < 0) {
        // A batch handler failed somewhere: find the event, one at a time.
        for (let i = 0; i < events.length; i++) {
          try {
            await this.runUnit([events[i]!]);
          } catch (err1) {
            if (!(err1 instanceof HandlerFailure)) throw err1;
            await this.retry(events[i]!, 1, err1.message, isStoreUnavailable(err1.cause));
            return;
          }
        }
        return;
      }
      if (err.index > 0) {
        const prefix = events.slice(0, err.index);
        if (this.options.commit === "transaction") await this.runUnit(prefix);
        else await this.commit(this.host.db, prefix[prefix.length - 1]!.id, prefix.length);
      }
      await this.retry(events[err.index]!, 1, err.message, isStoreUnavailable(err.cause));
    }
  }

  /**
   * Retries one event with backoff; after maxAttempts it goes to the dead
   * letters. A failure because a store is unavailable (its nodes are down)
   * is no attempt: the event waits, retried at most every
   * UNAVAILABLE_RETRY_MAX_MS, until the store is back.
   */
  private async retry(event: Delivered, failed: number, error: string, unavailable = false): Promise<void> {
    const { maxAttempts, backoff } = this.options;
    let waits = unavailable ? 1 : 0;
    if (unavailable) failed = Math.max(0, failed - 1);
    while (failed < maxAttempts) {
      await this.host.groups.setRetry(this.lease!, event.id, failed, error);
      this.retryId = event.id;
      this.retryAttempts = failed;
      this.retryError = error;
      this.host.log.warn(
        { group: this.group, eventId: String(event.id), attempt: failed, error },
        "handler failed; will retry",
      );
      await this.stopper.sleep(
        waits > 0 ? Math.min(UNAVAILABLE_RETRY_MAX_MS, backoffMs(backoff, failed + waits)) : backoffMs(backoff, failed),
      );
      if (this.stopper.stopped || this.leaseLost) return;
      try {
        await this.runUnit([{ ...event, attempt: failed + waits + 1 }]);
        return;
      } catch (err) {
        if (!(err instanceof HandlerFailure)) throw err;
        if (isStoreUnavailable(err.cause)) waits++;
        else {
          failed++;
          waits = 0;
        }
        error = err.message;
      }
    }
    await this.deadLetter(event.id, failed, error);
  }

  /** Parks event `id` (its log row, copied) and moves the position past it. */
  private async deadLetter(id: bigint, attempts: number, error: string): Promise<void> {
    await this.host.db.transaction(async (tx) => {
      const r = await tx.get<Record<string, unknown>>(
        `SELECT id, topic, event_key, payload, created_ms FROM ${LOG} WHERE id = ?`,
        [id],
      );
      if (r) {
        const event: DeadEvent = {
          id,
          topic: String(r.topic),
          key: String(r.event_key),
          payload: r.payload as Uint8Array,
          publishedAtMs: num(r.created_ms),
        };
        await putDeadLetter(tx, this.group, event, attempts, error);
      }
      await this.host.groups.commit(tx, this.lease!, id, 0);
    });
    this.position = id;
    this.saved(id);
    this.deadLettered++;
    this.host.log.error({ group: this.group, eventId: String(id), attempts, error }, "event moved to the dead letters");
  }

  /** Runs the handler over `events` and commits the position after the last. */
  private async runUnit(events: Delivered[]): Promise<void> {
    const last = events[events.length - 1]!.id;
    if (this.options.commit === "transaction") {
      await this.host.db.transaction(async (tx) => {
        await runHandlers(this.options, events, this.context(tx));
        await this.host.groups.commit(tx, this.lease!, last, events.length);
      });
      this.advanced(last, events.length);
    } else {
      await runHandlers(this.options, events, this.context(undefined));
      await this.commit(this.host.db, last, events.length);
    }
  }

  private async commit(exec: SqlExecutor, position: bigint, n: number): Promise<void> {
    await this.host.groups.commit(exec, this.lease!, position, n);
    this.advanced(position, n);
  }

  private advanced(position: bigint, n: number): void {
    this.position = position;
    this.saved(position);
    this.handled += n;
  }

  private context(tx: SqlTx | undefined): HandlerContext {
    const group = this.group;
    const db = this.host.db;
    return {
      group,
      get db(): SqlDb {
        if (tx) {
          // On SQLite the store waits for this very transaction: the handler would hang.
          throw new EventBusConfigError(
            `consumer "${group}": use ctx.tx, not ctx.db, in a handler with commit: "transaction"`,
          );
        }
        return db;
      },
      get tx(): SqlTx {
        if (!tx) {
          throw new EventBusConfigError(`consumer "${group}": ctx.tx exists only with commit: "transaction"`);
        }
        return tx;
      },
    };
  }

  // ---- dead letters marked for retry ---------------------------------------

  private async retryDeadLetters(): Promise<void> {
    this.nextRetryPoll = Date.now() + this.host.retryPollMs;
    const { db, groups } = this.host;
    for (const d of await retryRequests(db, this.group, 50)) {
      if (this.stopper.stopped || this.leaseLost) return;
      const e = this.toEvent(
        { id: d.eventId, topic: d.topic, payload: d.payload, created_ms: d.publishedAtMs },
        d.attempts + 1,
      );
      if (typeof e === "string") {
        await markRetryFailed(db, this.group, d.eventId, e);
        continue;
      }
      try {
        if (this.options.commit === "transaction") {
          await db.transaction(async (tx) => {
            await runHandlers(this.options, [e], this.context(tx));
            await deleteDeadLetter(tx, this.group, d.eventId);
            await groups.assertHeld(tx, this.lease!);
          });
        } else {
          await runHandlers(this.options, [e], this.context(undefined));
          await deleteDeadLetter(db, this.group, d.eventId);
        }
        this.handled++;
        this.host.log.info({ group: this.group, eventId: String(d.eventId) }, "dead letter retried successfully");
      } catch (err) {
        if (!(err instanceof HandlerFailure)) throw err;
        await markRetryFailed(db, this.group, d.eventId, err.message);
      }
    }
  }
}
