/**
 * The durable stream's appends on SQLite and MariaDB: several payloads, each
 * to its own users, in one transaction (appendMany, what a batch of chat
 * sends uses) give every user consecutive sequences in entry order, after
 * what it already had, and what a reader gets back is each payload once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../migrate/index.js";
import { mysqlStore, sqliteStore, type TestStore } from "../../test/support/stores.js";
import { PushStore } from "./store.js";
import { PUSH_TABLES } from "./tables.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

const engines: [string, () => Promise<TestStore>][] = [
  ["SQLite", async () => sqliteStore()],
  ["MariaDB", () => mysqlStore()],
];

describe.each(engines)("push stream appends (%s)", (_name, open) => {
  let store: TestStore;
  const push = new PushStore();
  beforeAll(async () => {
    store = await open();
    await migrate(store.db, PUSH_TABLES, { dataMigrations: [] });
  });
  afterAll(() => store.dispose());

  it("appendMany: each user's payloads on consecutive sequences, in entry order, after its earlier ones", async () => {
    await store.db.transaction((tx) => push.append(tx, [7n], 1n, bytes("before")));
    const out = await store.db.transaction((tx) =>
      push.appendMany(
        tx,
        [
          { userIds: [9n, 7n], payload: bytes("a") },
          { userIds: [8n], payload: bytes("b") },
          { userIds: [7n, 8n, 7n], payload: bytes("c") }, // a user twice in one entry: once
        ],
        2n,
      ),
    );
    expect(out).toEqual([
      { userIds: [7n, 9n], sequences: [2n, 1n] },
      { userIds: [8n], sequences: [1n] },
      { userIds: [7n, 8n], sequences: [3n, 2n] },
    ]);
    const read = async (u: bigint) => (await push.read(store.db, u, 0n, 10)).map((r) => [r.sequence, text(r.payload)]);
    expect(await read(7n)).toEqual([
      [1n, "before"],
      [2n, "a"],
      [3n, "c"],
    ]);
    expect(await read(8n)).toEqual([
      [1n, "b"],
      [2n, "c"],
    ]);
    expect(await read(9n)).toEqual([[1n, "a"]]);
    expect((await push.bounds(store.db, 7n)).last).toBe(3n);
  });

  it("appendMany over more users than one statement takes (500), and nothing for no entries", async () => {
    const users = Array.from({ length: 1_200 }, (_, i) => 10_000n + BigInt(i));
    const out = await store.db.transaction((tx) =>
      push.appendMany(
        tx,
        [
          { userIds: users, payload: bytes("x") },
          { userIds: users.slice(0, 3), payload: bytes("y") },
        ],
        3n,
      ),
    );
    expect(out[0]!.sequences.every((s) => s === 1n)).toBe(true);
    expect(out[1]!.sequences).toEqual([2n, 2n, 2n]);
    expect((await push.read(store.db, users[1_199]!, 0n, 10)).map((r) => text(r.payload))).toEqual(["x"]);
    expect((await push.read(store.db, users[0]!, 0n, 10)).map((r) => text(r.payload))).toEqual(["x", "y"]);
    expect(await store.db.transaction((tx) => push.appendMany(tx, [], 4n))).toEqual([]);
  });
});
