/**
 * EventBus: the object a service context carries (`ctx.events`). It
 * publishes (in the caller's transaction, or batched), runs this process's
 * consumer groups, tracks the settled frontier they read up to, polls for
 * other processes' events, and runs retention.
 *
 *   const bus = await EventBus.open(db, { events: [PostCreatedSchema] });
 *   await db.transaction(async (tx) => {
 *     await posts.insert(tx, row);
 *     await bus.publish(tx, PostCreatedSchema, { postId: row.id, authorId });
 *   });
 *   bus.consume({ group: "feed.fanout", events: [PostCreatedSchema],
 *     handle: async (e, ctx) => { … write through ctx.tx … } });
 */
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { DescMessage } from "@bufbuild/protobuf";
import { isSqlTx, type SqlDb, type SqlTx } from "../storage/driver.js";
import { Batcher, type BatcherOptions } from "./batcher.js";
import { Consumer, type ConsumerState } from "./consumer.js";
import { resolveConsumerOptions, type ConsumerOptions } from "./consumer-options.js";
import {
  getDeadLetter,
  listDeadLetters,
  purgeDeadLetters,
  requestRetry,
  type DeadLetter,
  type DeadLetterState,
} from "./dead-letters.js";
import { DEFAULT_MAX_PAYLOAD_BYTES, encodeEvent, type EventInput } from "./encode.js";
import { EventBusClosedError, EventBusConfigError, UnknownGroupError } from "./errors.js";
import { Frontier } from "./frontier.js";
import { LocalTail } from "./local-tail.js";
import { GroupStore, type GroupRow } from "./group-store.js";
import { lagByGroup, type GroupLag } from "./lag.js";
import { consoleLogger, type EventLogger } from "./logger.js";
import { appendRows, type LogRow } from "./log-writer.js";
import { EventRegistry } from "./registry.js";
import { runRetention, type RetentionOptions, type RetentionResult } from "./retention.js";
import { Signal } from "./signal.js";
import { ensureEventTables } from "./tables.js";

export interface EventBusOptions {
  /** Event types this process knows (for topic names, decoding, and topic clash checks). */
  readonly events?: Iterable<DescMessage>;
  /** This process's identity for group leases. Default host:pid:random. Keep it stable to reclaim leases at once after a restart. */
  readonly owner?: string;
  /** The producer batcher (publishes outside a transaction). */
  readonly batch?: BatcherOptions;
  /** Polling for other processes' events: `minMs` while busy, doubling to `maxMs` when idle. Default 2 / 250. */
  readonly poll?: { readonly minMs?: number; readonly maxMs?: number };
  /** MySQL: how long an empty hole in the ids must stay empty before it is skipped. Default 1000 ms. */
  readonly gapGraceMs?: number;
  /** Consumer group lease: a crashed consumer's group is taken over after this. Default 15000 ms. */
  readonly leaseTtlMs?: number;
  /** How often consumers look for dead letters marked for retry. Default 5000 ms. */
  readonly retryPollMs?: number;
  /** Largest encoded event. Default 1 MiB. */
  readonly maxPayloadBytes?: number;
  /** Delete old events every `intervalMs` (default 60 s). Off unless given. */
  readonly retention?: RetentionOptions & { readonly intervalMs?: number };
  readonly logger?: EventLogger;
}

/** One event of `publishMany`. */
export interface EventItem<Desc extends DescMessage = DescMessage> {
  readonly schema: Desc;
  readonly message: EventInput<Desc>;
}

export interface EventBusStats {
  /** Every id at or below this is settled (visible to consumers). */
  readonly frontier: bigint;
  /** Events this process published (committed). */
  readonly published: number;
  /** Ids the frontier skipped as holes that will never fill. */
  readonly deadIds: bigint;
  /** Publishes waiting in the batcher. */
  readonly pendingPublishes: number;
  readonly consumers: ReadonlyArray<{ group: string; state: ConsumerState; handled: number; deadLettered: number }>;
}

export class EventBus {
  readonly registry: EventRegistry;
  readonly owner: string;
  private readonly frontier: Frontier;
  private readonly groups: GroupStore;
  private readonly batcher: Batcher;
  private readonly consumers = new Map<string, Consumer>();
  /** This process's recently committed batched rows, read by its consumers instead of the store. */
  private readonly tail = new LocalTail();
  /** Schemas already checked and registered (the publish fast path). */
  private readonly known = new WeakSet<DescMessage>();
  private readonly signal = new Signal();
  private readonly log: EventLogger;
  private readonly maxPayloadBytes: number;
  private readonly pollMin: number;
  private readonly pollMax: number;
  private published = 0;
  private closed = false;
  private pump: Promise<void> | null = null;
  private retentionTimer: NodeJS.Timeout | null = null;
  private retentionRun: Promise<unknown> | null = null;

  private constructor(
    readonly db: SqlDb,
    private readonly opts: EventBusOptions,
  ) {
    this.registry = new EventRegistry(opts.events ?? []);
    this.owner = opts.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.log = opts.logger ?? consoleLogger;
    this.maxPayloadBytes = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.pollMin = opts.poll?.minMs ?? 2;
    this.pollMax = Math.max(this.pollMin, opts.poll?.maxMs ?? 250);
    this.groups = new GroupStore(db);
    this.frontier = new Frontier(db, {
      graceMs: opts.gapGraceMs,
      onDeadHole: (start, end, waitedMs) =>
        this.log.warn({ start: String(start), end: String(end), waitedMs }, "skipped ids that never committed"),
    });
    this.batcher = new Batcher(
      db,
      (rows, ranges) => {
        this.published += rows.length;
        // Our own ids, contiguous with the frontier: settled without a scan.
        // Otherwise (or when another process wrote in between) the pump scans.
        if (this.frontier.trustRanges && this.consumers.size > 0) this.tail.add(rows, ranges);
        if (this.frontier.noteCommitted(ranges)) this.wakeConsumers();
        else this.notify();
      },
      opts.batch,
    );
  }

  /** Creates the bus's tables if needed and starts it. */
  static async open(db: SqlDb, opts: EventBusOptions = {}): Promise<EventBus> {
    if (opts.owner !== undefined && (!opts.owner || opts.owner.length > 255)) {
      throw new EventBusConfigError(`owner must be 1..255 characters, got ${JSON.stringify(opts.owner)}`);
    }
    const bus = new EventBus(db, opts);
    await ensureEventTables(db);
    await bus.frontier.init();
    if (db.dialect === "sqlite") {
      bus.frontier.trustRanges = true; // one writer at a time: a statement's ids are one block
    } else {
      const inc = await db.get<{ i: unknown; mode: unknown }>(
        "SELECT @@auto_increment_increment AS i, @@innodb_autoinc_lock_mode AS mode",
      );
      // Lock modes 0 and 1 give a multi-row INSERT one block of consecutive
      // ids; 2 (interleaved) may not, and then every publish is found by a scan.
      const mode = Number(inc?.mode ?? 2);
      bus.frontier.trustRanges = Number(inc?.i ?? 1) === 1 && (mode === 0 || mode === 1);
      if (Number(inc?.i ?? 1) !== 1) {
        bus.log.warn(
          { autoIncrementIncrement: Number(inc?.i) },
          "auto_increment_increment is not 1 (multi-primary setup?): every skipped id is a gap the bus waits out; " +
            "consumers will lag by gapGraceMs. Run the event log on a single primary with increment 1.",
        );
      }
    }
    if (opts.retention) bus.startRetention(opts.retention);
    return bus;
  }

  // ---- publishing -----------------------------------------------------------

  /** Publishes inside `tx`: the event exists if and only if the transaction commits. */
  publish<Desc extends DescMessage>(tx: SqlTx, schema: Desc, message: EventInput<Desc>): Promise<void>;
  /** Publishes outside a transaction: batched with other publishes; resolves once durable. */
  publish<Desc extends DescMessage>(schema: Desc, message: EventInput<Desc>): Promise<void>;
  publish(a: SqlTx | DescMessage, b: unknown, c?: unknown): Promise<void> {
    // Not async: a batched publish returns its batch's promise as is (no extra promise per event).
    try {
      if (isSqlTx(a)) return this.publishMany(a, [{ schema: b as DescMessage, message: c as EventInput<DescMessage> }]);
      this.checkOpen();
      return this.batcher.add(this.encode(a, b as EventInput<DescMessage>));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Publishes several events in one multi-row insert, inside `tx` (or batched when tx is null). */
  async publishMany(tx: SqlTx | null, items: readonly EventItem[]): Promise<void> {
    this.checkOpen();
    const rows = items.map((i) => this.encode(i.schema, i.message));
    if (!tx) {
      await Promise.all(rows.map((r) => this.batcher.add(r)));
      return;
    }
    if (!isSqlTx(tx))
      throw new EventBusConfigError("publishMany: the first argument must be a transaction (SqlTx) or null");
    if (rows.length === 0) return;
    await appendRows(tx, rows);
    tx.afterCommit(() => {
      this.published += rows.length;
      this.notify();
    });
  }

  private encode(schema: DescMessage, message: EventInput<DescMessage>): LogRow {
    if (!this.known.has(schema)) {
      this.registry.add(schema); // validates the event option, checks the topic is not taken
      this.known.add(schema);
    }
    return encodeEvent(schema, message, this.maxPayloadBytes);
  }

  /** Waits until every batched publish so far is written. */
  flush(): Promise<void> {
    return this.batcher.flush();
  }

  // ---- consuming ------------------------------------------------------------

  /** Starts consuming a group in this process. The handler runs once this process holds the group's lease. */
  consume(options: ConsumerOptions): Consumer {
    this.checkOpen();
    const o = resolveConsumerOptions(options);
    if (this.consumers.has(o.group)) {
      throw new EventBusConfigError(`consumer group "${o.group}" is already consumed by this bus`);
    }
    const consumer = new Consumer(
      {
        db: this.db,
        groups: this.groups,
        registry: this.registry,
        frontier: this.frontier,
        owner: this.owner,
        leaseTtlMs: this.opts.leaseTtlMs ?? 15_000,
        retryPollMs: this.opts.retryPollMs ?? 5_000,
        log: this.log,
        tail: this.tail,
      },
      o,
    );
    this.consumers.set(o.group, consumer);
    consumer.start();
    this.pump ??= this.runPump();
    return consumer;
  }

  /** Stops one group's consumer in this process (its lease is released for others). */
  async stopConsumer(group: string): Promise<void> {
    const c = this.consumers.get(group);
    if (!c) return;
    this.consumers.delete(group);
    await c.stop();
  }

  /** Resolves once every consumer started so far has its group and has made its first claim on the lease. */
  async consumersStarted(): Promise<void> {
    await Promise.all([...this.consumers.values()].map((c) => c.started));
  }

  /**
   * Stops every consumer of this process (releasing their leases) but keeps
   * publishing open: a bundle calls it while in-flight requests drain, and
   * `close` once they have.
   */
  async stopConsumers(): Promise<void> {
    const all = [...this.consumers.values()];
    this.consumers.clear();
    await Promise.all(all.map((c) => c.stop()));
  }

  private wakeConsumers(): void {
    for (const c of this.consumers.values()) c.wake();
  }

  /** Wakes the frontier (new events may be visible). Local publishes call it by themselves. */
  notify(): void {
    this.signal.notify();
  }

  /** Follows the log: advances the frontier, wakes consumers, polls adaptively. */
  private async runPump(): Promise<void> {
    let delay = this.pollMin;
    let failures = 0;
    while (!this.closed) {
      try {
        const moved = await this.frontier.advance();
        failures = 0;
        if (moved) {
          for (const c of this.consumers.values()) c.wake();
          delay = this.pollMin;
        } else {
          delay = Math.min(delay * 2, this.pollMax);
        }
      } catch (err) {
        if (this.closed) break;
        failures++;
        delay = Math.min(this.pollMax * 4, 50 * 2 ** Math.min(failures, 6));
        this.log.error({ err }, "event log poll failed; retrying");
      }
      let wait = delay;
      if (this.frontier.recheckAt) wait = Math.max(0, Math.min(wait, this.frontier.recheckAt - Date.now()));
      await this.signal.wait(wait);
    }
  }

  // ---- operations -----------------------------------------------------------

  /** Lag of every group (for /metrics and `orbit events groups`). */
  lagByGroup(): Promise<GroupLag[]> {
    return lagByGroup(this.db);
  }

  listGroups(): Promise<GroupRow[]> {
    return this.groups.list();
  }

  /**
   * Re-delivers a group's events from `fromId` on (0 or 1: from the oldest
   * retained). With the projection wiped first, this rebuilds it.
   */
  async replay(group: string, fromId: bigint): Promise<GroupRow> {
    const row = await this.groups.replay(group, fromId);
    this.consumers.get(group)?.wake();
    return row;
  }

  async deadLetters(
    group: string,
    opts: { limit?: number; afterId?: bigint; state?: DeadLetterState } = {},
  ): Promise<DeadLetter[]> {
    return listDeadLetters(this.db, group, opts);
  }

  deadLetter(group: string, eventId: bigint): Promise<DeadLetter | undefined> {
    return getDeadLetter(this.db, group, eventId);
  }

  /** Marks dead letters (all of the group's, or some) for another attempt by the group's consumer. */
  async retryDeadLetters(group: string, eventIds?: readonly bigint[]): Promise<number> {
    if (!(await this.groups.load(group))) throw await this.groups.unknown(group);
    const n = await requestRetry(this.db, group, eventIds);
    this.consumers.get(group)?.wakeForRetries();
    return n;
  }

  async purgeDeadLetters(group: string, eventIds?: readonly bigint[]): Promise<number> {
    return purgeDeadLetters(this.db, group, eventIds);
  }

  /** Forgets a group (position and lease). Refused while this bus consumes it. */
  async dropGroup(group: string): Promise<void> {
    if (this.consumers.has(group)) throw new UnknownGroupError(`stop the consumer of "${group}" before dropping it`);
    await this.groups.drop(group);
  }

  /** Runs retention once now (it also runs on its own when `retention` is configured). */
  async runRetention(opts?: RetentionOptions): Promise<RetentionResult> {
    const o = opts ?? this.opts.retention;
    if (!o) throw new EventBusConfigError("runRetention: no retention options given or configured");
    return runRetention(this.db, o);
  }

  private startRetention(o: RetentionOptions & { intervalMs?: number }): void {
    const every = o.intervalMs ?? 60_000;
    this.retentionTimer = setInterval(() => {
      if (this.retentionRun) return;
      this.retentionRun = runRetention(this.db, o)
        .then((r) => r.deleted && this.log.info({ deleted: r.deleted, floor: String(r.floor) }, "retention"))
        .catch((err) => this.log.warn({ err }, "retention failed"))
        .finally(() => (this.retentionRun = null));
    }, every);
    this.retentionTimer.unref();
  }

  stats(): EventBusStats {
    return {
      frontier: this.frontier.value,
      published: this.published,
      deadIds: this.frontier.deadIds,
      pendingPublishes: this.batcher.pending,
      consumers: [...this.consumers.values()].map((c) => ({
        group: c.group,
        state: c.state,
        handled: c.handled,
        deadLettered: c.deadLettered,
      })),
    };
  }

  /** Writes pending publishes, stops this process's consumers (releasing their leases). Leaves the store open. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.batcher.close();
    await Promise.all([...this.consumers.values()].map((c) => c.stop()));
    this.consumers.clear();
    this.closed = true;
    this.signal.notify();
    await this.pump;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await this.retentionRun;
  }

  private checkOpen(): void {
    if (this.closed) throw new EventBusClosedError("the event bus is closed");
  }
}
