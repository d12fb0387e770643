/**
 * SendBatcher's queueing (sends.ts) without a store: the gather window
 * (--chat-send-gather-ms) starts a batch once as many sends are queued as the
 * last batch held, or when the window has passed; every send is written once
 * and answered with its own outcome; the batch's one block check refuses the
 * blocked direct sends alone.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { SendBatcher, type SendDeps, type SendOutcome, type SendRequest } from "./sends.js";

/** A batcher whose writes are recorded and held until released; outcome: the request's number as a message id. */
class Recorded extends SendBatcher {
  readonly batches: SendRequest[][] = [];
  readonly blockChecks: (readonly (readonly [bigint, bigint])[])[] = [];
  private held: (() => void)[] = [];
  hold = false;

  constructor(gatherMs: number, writers = 1, blocked: readonly string[] = []) {
    const deps = {
      checkBlocks: async (pairs: readonly (readonly [bigint, bigint])[]) => {
        this.blockChecks.push(pairs);
        return pairs.map(([a, b]) => blocked.includes(`${a}/${b}`));
      },
    } as unknown as SendDeps;
    super(deps, writers, gatherMs);
  }

  override async write(reqs: readonly SendRequest[]): Promise<(SendOutcome | Error)[]> {
    this.batches.push([...reqs]);
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    return reqs.map((r) => BigInt(r.clientMessageId));
  }

  release(): void {
    const h = this.held;
    this.held = [];
    for (const r of h) r();
  }
}

const req = (n: number, other?: bigint, me = 1n): SendRequest => ({
  me,
  conversationId: 7n,
  clientMessageId: String(n),
  text: "t",
  mediaIds: [],
  replyToId: 0n,
  other,
});

describe("SendBatcher gather window", () => {
  it("starts a batch when as many sends are queued as the last batch held, else waits", async () => {
    const b = new Recorded(60_000);
    b.hold = true;
    // The first send: the last batch held one (the start), so it goes at once.
    const first = b.send(req(1));
    await expect.poll(() => b.batches.length).toBe(1);
    // Queued while the writer is busy; taken together when it comes free (5 ≥ 1).
    const next = [2, 3, 4, 5, 6].map((n) => b.send(req(n)));
    b.release();
    await first;
    await expect.poll(() => b.batches.length).toBe(2);
    expect(b.batches[1]!.map((r) => r.clientMessageId)).toEqual(["2", "3", "4", "5", "6"]);
    b.release();
    await Promise.all(next);
    // The last batch held five: three wait (the window is a minute)…
    const more = [7, 8, 9].map((n) => b.send(req(n)));
    expect(b.batches.length).toBe(2);
    // …until the fifth arrives.
    more.push(b.send(req(10)), b.send(req(11)));
    await expect.poll(() => b.batches.length).toBe(3);
    expect(b.batches[2]!.map((r) => r.clientMessageId)).toEqual(["7", "8", "9", "10", "11"]);
    b.release();
    expect(await Promise.all(more)).toEqual([7n, 8n, 9n, 10n, 11n]);
  });

  it("a send queued alone goes once the window has passed", async () => {
    const b = new Recorded(1);
    await Promise.all([1, 2, 3].map((n) => b.send(req(n))));
    const lone = b.send(req(4));
    expect(await lone).toBe(4n);
    expect(b.batches.at(-1)!.map((r) => r.clientMessageId)).toEqual(["4"]);
  });

  it("with 0 a free writer never waits", async () => {
    const b = new Recorded(0);
    await Promise.all([1, 2, 3].map((n) => b.send(req(n))));
    expect(await b.send(req(4))).toBe(4n);
    expect(b.batches.at(-1)!.map((r) => r.clientMessageId)).toEqual(["4"]);
  });

  it("many sends over several writers: each written once and answered with its own outcome", async () => {
    const b = new Recorded(2, 3);
    const n = 2000;
    const answers = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        if (i % 7 === 0) await new Promise((r) => setImmediate(r));
        return b.send(req(i));
      }),
    );
    expect(answers).toEqual(Array.from({ length: n }, (_, i) => BigInt(i)));
    const written = b.batches.flat().map((r) => Number(r.clientMessageId));
    expect(written.sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(Math.max(...b.batches.map((x) => x.length))).toBeLessThanOrEqual(256);
  });

  it("one block check per batch: blocked direct sends are refused alone, the others written", async () => {
    // 1 and 2 blocked (either way: pairs are asked as (low, high)).
    const b = new Recorded(60_000, 1, ["1/2"]);
    b.hold = true;
    const warm = b.send(req(0));
    await expect.poll(() => b.batches.length).toBe(1);
    const sends = [
      b.send(req(1, 2n, 1n)),
      b.send(req(2, 1n, 2n)),
      b.send(req(3, 3n, 1n)),
      b.send(req(4)), // a group: no block check
      b.send(req(5, 3n, 1n)),
    ].map((p) =>
      p.then(
        (v) => v as SendOutcome | Code,
        (e: unknown) => ConnectError.from(e).code,
      ),
    );
    b.release();
    await warm;
    await expect.poll(() => b.batches.length).toBe(2);
    b.release();
    expect(await Promise.all(sends)).toEqual([Code.PermissionDenied, Code.PermissionDenied, 3n, 4n, 5n]);
    expect(b.batches[1]!.map((r) => r.clientMessageId)).toEqual(["3", "4", "5"]);
    // One call for the batch, each pair once.
    expect(b.blockChecks).toEqual([
      [
        [1n, 2n],
        [1n, 3n],
      ],
    ]);
  });
});
