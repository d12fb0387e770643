/**
 * Runs a consumer's handler over a batch and says where it failed. With
 * `concurrency` > 1 the batch is split by key: keys run side by side, the
 * events of one key one after another, so per-key order holds.
 */
import type { Delivered, HandlerContext, ResolvedConsumerOptions } from "./consumer-options.js";

/** A handler threw. `index` is the first failed event in the batch (-1: a batch handler, unknown). */
export class HandlerFailure extends Error {
  override readonly name = "HandlerFailure";
  constructor(
    readonly index: number,
    override readonly cause: unknown,
  ) {
    super(errorText(cause), { cause });
  }
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}

export async function runHandlers(
  o: ResolvedConsumerOptions,
  events: readonly Delivered[],
  ctx: HandlerContext,
): Promise<void> {
  if (o.handleBatch) {
    try {
      await o.handleBatch(events, ctx);
    } catch (err) {
      throw new HandlerFailure(-1, err);
    }
    return;
  }
  const handle = o.handle!;
  if (o.concurrency <= 1 || events.length <= 1) {
    for (let i = 0; i < events.length; i++) {
      try {
        await handle(events[i]!, ctx);
      } catch (err) {
        throw new HandlerFailure(i, err);
      }
    }
    return;
  }
  // Per key, in order; keys in parallel. Every event before the first failure
  // (by index) has succeeded: a key stops at its own first failure, which is
  // after every earlier event of that key.
  const byKey = new Map<string, number[]>();
  events.forEach((e, i) => {
    const list = byKey.get(e.key);
    if (list) list.push(i);
    else byKey.set(e.key, [i]);
  });
  const queues = [...byKey.values()];
  let failedAt = Infinity;
  let failure: unknown;
  let next = 0;
  const worker = async () => {
    while (next < queues.length) {
      const q = queues[next++]!;
      for (const i of q) {
        if (i > failedAt) break;
        try {
          await handle(events[i]!, ctx);
        } catch (err) {
          if (i < failedAt) {
            failedAt = i;
            failure = err;
          }
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, queues.length) }, worker));
  if (failedAt !== Infinity) throw new HandlerFailure(failedAt, failure);
}
