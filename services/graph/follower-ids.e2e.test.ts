/**
 * ListFollowerIds / ListFollowingIds past their first page of 1,000 (the
 * feed's fan-out pages through them): every id once, newest follow first,
 * the page size capped at 1,000, on a real bundle over SQLite and MariaDB.
 * The follow rows are written straight into the store (1,205 sign-ups
 * through the API would only test scrypt); the ids are what the RPCs read.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBundle, type BundleProcess } from "../../test/support/bundle-process.js";
import { socialClients } from "../../test/support/social-client.js";
import { BUNDLE_ENGINES, type TestStore } from "../../test/support/stores.js";

const STAR = 7_000_000n;
const FANS = 1_205;
/** Follower i (1-based) followed at 1,000,000 + i ms: the last one is the newest. */
const fanId = (i: number) => 8_000_000n + BigInt(i);

describe.each(BUNDLE_ENGINES)("follower id lists past 1,000 rows ($name)", (engine) => {
  let store: TestStore;
  let b: BundleProcess;

  beforeAll(async () => {
    store = await engine.open();
    b = await startBundle(["--services", "social", ...engine.args(store)], { env: { ORBIT_SCRYPT_LOG_N: "12" } });
    // The bundle migrated the store; write the follows in a few multi-row statements.
    for (let from = 1; from <= FANS; from += 300) {
      const rows = Array.from({ length: Math.min(300, FANS - from + 1) }, (_, k) => from + k);
      await store.db.run(
        `INSERT INTO follows (follower_id, followee_id, created_at_ms) VALUES ${rows.map(() => "(?, ?, ?)").join(", ")}`,
        rows.flatMap((i) => [fanId(i), STAR, 1_000_000n + BigInt(i)]),
      );
    }
    // And the star follows 1,001 of them (the other direction's index).
    await store.db.run(
      `INSERT INTO follows (follower_id, followee_id, created_at_ms) VALUES ${Array.from({ length: 1_001 }, () => "(?, ?, ?)").join(", ")}`,
      Array.from({ length: 1_001 }, (_, k) => [STAR, fanId(k + 1), 2_000_000n + BigInt(k)]).flat(),
    );
  }, 90_000);
  afterAll(async () => {
    await b?.stop();
    await store?.dispose();
  });

  async function pages(
    list: (req: { userId: bigint; pageSize: number; pageToken: string }) => Promise<{
      userIds: bigint[];
      nextPageToken: string;
    }>,
    pageSize: number,
  ): Promise<bigint[][]> {
    const out: bigint[][] = [];
    let pageToken = "";
    do {
      const page = await list({ userId: STAR, pageSize, pageToken });
      out.push(page.userIds);
      pageToken = page.nextPageToken;
    } while (pageToken && out.length < 100);
    return out;
  }

  it("pages the followers 1,000 at a time: every id once, newest first", async () => {
    const graph = socialClients(b.url).graph;
    const got = await pages((r) => graph.listFollowerIds(r), 1_000);
    expect(got.map((p) => p.length)).toEqual([1_000, 205]);
    const expected = Array.from({ length: FANS }, (_, k) => fanId(FANS - k));
    expect(got.flat()).toEqual(expected);
  });

  it("pages with the default size (500) to the same list", async () => {
    const graph = socialClients(b.url).graph;
    const got = await pages((r) => graph.listFollowerIds(r), 0);
    expect(got.map((p) => p.length)).toEqual([500, 500, 205]);
    expect(new Set(got.flat()).size).toBe(FANS);
  });

  it("pages the following list past 1,000 the same way", async () => {
    const graph = socialClients(b.url).graph;
    const got = await pages((r) => graph.listFollowingIds(r), 1_000);
    expect(got.map((p) => p.length)).toEqual([1_000, 1]);
    expect(got.flat()).toEqual(Array.from({ length: 1_001 }, (_, k) => fanId(1_001 - k)));
  });

  it("refuses a page size over 1,000 and a forged page token", async () => {
    const graph = socialClients(b.url).graph;
    await expect(graph.listFollowerIds({ userId: STAR, pageSize: 1_001 })).rejects.toMatchObject({
      code: Code.InvalidArgument,
    });
    const err = await graph.listFollowerIds({ userId: STAR, pageSize: 10, pageToken: "not-a-token" }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.InvalidArgument);
  });
});
