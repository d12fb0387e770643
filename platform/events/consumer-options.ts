/**
 * What a consumer group is told: which events, which handler, how position
 * commits, how failures retry. `resolveConsumerOptions` checks the options and
 * fills in defaults, with a clear error for each inconsistency.
 */
import type { DescMessage, Message } from "@bufbuild/protobuf";
import type { SqlDb, SqlTx } from "../storage/driver.js";
import { EventBusConfigError } from "./errors.js";

/** One event as a handler sees it. */
export interface Delivered<M extends Message = Message> {
  /** Position in the log: unique, increasing in delivery order. Use it as an idempotency key. */
  readonly id: bigint;
  readonly topic: string;
  /** The ordering key ("" for events without a key field). */
  readonly key: string;
  /** The decoded message; narrow it with `isMessage(event.message, SomeSchema)`. */
  readonly message: M;
  /** When it was published (ms since epoch, publisher's clock). */
  readonly publishedAtMs: number;
  /** 1 on the first attempt, then 2, 3, … while it is retried. */
  readonly attempt: number;
}

export interface HandlerContext {
  readonly group: string;
  /**
   * The store the bus runs on, for handlers with commit: "after" (which run
   * their own transactions). With commit: "transaction" use `tx` instead:
   * reading `db` throws (on SQLite the store would wait for this very
   * transaction).
   */
  readonly db: SqlDb;
  /**
   * The transaction the group's position commits in (commit: "transaction").
   * Write the projection through it: its effects and the position commit
   * together, so each event takes effect exactly once.
   */
  readonly tx: SqlTx;
}

export type CommitMode = "transaction" | "after";

export interface ConsumerOptions {
  /** Group name: one durable position; one process at a time consumes it. */
  readonly group: string;
  /** Event types (schemas) or topic names to consume. */
  readonly events: readonly (DescMessage | string)[];
  /** Handles one event; events of a batch are handled in id order (or per key with `concurrency`). */
  readonly handle?: (event: Delivered, ctx: HandlerContext) => unknown;
  /** Handles a whole batch at once (instead of `handle`). */
  readonly handleBatch?: (events: readonly Delivered[], ctx: HandlerContext) => unknown;
  /**
   * "transaction" (default): handler and position commit in one transaction
   * on the bus's store (ctx.tx). "after": the handler runs on its own and the
   * position is saved afterwards: at-least-once, so make the handler
   * idempotent (e.g. with `firstDelivery`).
   */
  readonly commit?: CommitMode;
  /** Events per batch. Default 500. */
  readonly batchSize?: number;
  /** Attempts before an event goes to the dead letters. Default 5. */
  readonly maxAttempts?: number;
  /** Backoff between attempts: initialMs · factor^(n-1), capped at maxMs. */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number; readonly factor?: number };
  /** Where a new group starts: "earliest" (default, every retained event) or "latest". */
  readonly startFrom?: "earliest" | "latest";
  /**
   * commit "after" with `handle` only: how many keys are handled at once.
   * Events with the same key stay in order. Default 1.
   */
  readonly concurrency?: number;
}

export interface ResolvedConsumerOptions {
  readonly group: string;
  readonly events: readonly (DescMessage | string)[];
  readonly handle: ConsumerOptions["handle"];
  readonly handleBatch: ConsumerOptions["handleBatch"];
  readonly commit: CommitMode;
  readonly batchSize: number;
  readonly maxAttempts: number;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number; readonly factor: number };
  readonly startFrom: "earliest" | "latest";
  readonly concurrency: number;
}

const GROUP_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function resolveConsumerOptions(o: ConsumerOptions): ResolvedConsumerOptions {
  const fail = (msg: string): never => {
    throw new EventBusConfigError(`consumer "${o?.group}": ${msg}`);
  };
  if (!o || typeof o.group !== "string" || !GROUP_PATTERN.test(o.group)) {
    throw new EventBusConfigError(
      `consumer group name ${JSON.stringify(o?.group)} is not valid (letters, digits, ".", "_", ":", "-"; at most 128)`,
    );
  }
  if (!Array.isArray(o.events) || o.events.length === 0) fail("give at least one event type in `events`");
  if (!!o.handle === !!o.handleBatch) fail("give exactly one of `handle` or `handleBatch`");
  const commit = o.commit ?? "transaction";
  if (commit !== "transaction" && commit !== "after") fail(`commit must be "transaction" or "after", not "${commit}"`);
  const int = (v: number | undefined, def: number, name: string, min: number) => {
    const x = v ?? def;
    if (!Number.isInteger(x) || x < min) fail(`${name} must be an integer >= ${min}, got ${x}`);
    return x;
  };
  const concurrency = int(o.concurrency, 1, "concurrency", 1);
  if (concurrency > 1 && (commit !== "after" || !o.handle)) {
    fail(
      'concurrency > 1 needs commit: "after" and a per-event `handle` (one transaction runs one statement at a time)',
    );
  }
  const startFrom = o.startFrom ?? "earliest";
  if (startFrom !== "earliest" && startFrom !== "latest") fail(`startFrom must be "earliest" or "latest"`);
  return {
    group: o.group,
    events: o.events,
    handle: o.handle,
    handleBatch: o.handleBatch,
    commit,
    batchSize: int(o.batchSize, 500, "batchSize", 1),
    maxAttempts: int(o.maxAttempts, 5, "maxAttempts", 1),
    backoff: {
      initialMs: o.backoff?.initialMs ?? 100,
      maxMs: o.backoff?.maxMs ?? 30_000,
      factor: o.backoff?.factor ?? 2,
    },
    startFrom,
    concurrency,
  };
}

/** Delay before attempt `attempt + 1`, after `attempt` failures (with ±20% jitter). */
export function backoffMs(b: ResolvedConsumerOptions["backoff"], attempt: number): number {
  const base = Math.min(b.maxMs, b.initialMs * b.factor ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}
