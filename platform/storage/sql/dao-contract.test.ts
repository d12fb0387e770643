/**
 * The DAO contract suite for SQL tables: the same tests, through the
 * generated DAOs, on SQLite and on the real MariaDB.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { ENGINES, type TestStore } from "../../../test/support/stores.js";
import { migrate } from "../../migrate/index.js";
import {
  KitchenRowDao,
  KitchenRowTable,
  MixRowDao,
  MixRowTable,
  PairRowDao,
  PairRowTable,
} from "../../../gen/orbit/contract/v1/tables_db.js";
import { Mood, PointSchema } from "../../../gen/orbit/contract/v1/tables_pb.js";
import { isDuplicateKey } from "../driver.js";
import { PageOptionError } from "./page.js";
import { SqlInputError } from "./input.js";
import { checkUpserted, DeleteLimitError, MAX_DELETE_LIMIT } from "./query.js";

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

describe.each(ENGINES)("SQL DAO contract on $name", (engine) => {
  let store: TestStore;
  let kitchen: KitchenRowDao;
  let pairs: PairRowDao;
  let mix: MixRowDao;

  beforeAll(async () => {
    store = await engine.open();
    await migrate(store.db, [KitchenRowTable, PairRowTable, MixRowTable], { dataMigrations: [] });
    kitchen = new KitchenRowDao(store.db);
    pairs = new PairRowDao(store.db);
    mix = new MixRowDao(store.db);
  });
  afterAll(async () => {
    await store?.dispose();
  });
  beforeEach(async () => {
    await store.db.exec("DELETE FROM kitchen");
    await store.db.exec("DELETE FROM pairs");
    await store.db.exec("DELETE FROM mix");
  });

  it("round-trips maps, repeated messages, JSON messages, repeated int64, float and uint32", async () => {
    const full = {
      id: 1n,
      f: 0.5,
      u32: 4294967295,
      counts: { a: 1n, ü: -(2n ** 63n), "": 2n ** 63n - 1n },
      points: [create(PointSchema, { x: 1, y: 2 }), create(PointSchema, { x: -3, y: 0 })],
      pointJson: create(PointSchema, { x: 5, y: -6 }),
      ids: [0n, -1n, 2n ** 63n - 1n, -(2n ** 63n)],
      labelsJson: { k: "v", ключ: "значение" },
      pointsJson: [create(PointSchema, { x: 7 }), create(PointSchema, { y: 8 })],
    };
    await mix.insert(full);
    const got = await mix.get({ id: 1n });
    expect(got).toMatchObject({ $typeName: "orbit.contract.v1.MixRow", ...full });
    expect((await mix.list({ limit: 10 })).rows[0]).toEqual(got);
    // Absent collections read back empty; an absent message reads back undefined.
    await mix.insert({ id: 2n });
    const empty = await mix.get({ id: 2n });
    expect(empty).toMatchObject({ f: 0, u32: 0, counts: {}, points: [], ids: [], labelsJson: {}, pointsJson: [] });
    expect(empty!.pointJson).toBeUndefined();
    // Explicitly empty collections are the same as absent ones (proto3 has no presence for them).
    await mix.insert({ id: 3n, counts: {}, points: [], ids: [], labelsJson: {}, pointsJson: [] });
    expect(await mix.get({ id: 3n })).toEqual({ ...empty, id: 3n });
    await expect(mix.insert({ id: 4n, u32: -1 })).rejects.toThrow(/not a valid uint32/);
    await expect(mix.insert({ id: 4n, u32: 2 ** 32 })).rejects.toThrow(/not a valid uint32/);
  });

  it("gives float columns proto float semantics on every engine: written, read and looked up as float32", async () => {
    const f = Math.fround(0.1); // 0.10000000149011612, what protobuf reads back for 0.1
    await mix.insert({ id: 1n, f: 0.1 });
    await mix.insertMany([
      { id: 2n, f: 0.1 },
      { id: 3n, f: 1 / 3 },
    ]);
    await mix.upsert({ id: 4n, f: 0.1 });
    expect((await mix.get({ id: 1n }))?.f).toBe(f);
    expect((await mix.get({ id: 3n }))?.f).toBe(Math.fround(1 / 3));
    expect((await mix.listByF({ f: 0.1 })).rows.map((r) => r.id)).toEqual([1n, 2n, 4n]);
    expect((await mix.listByF({ f })).rows.map((r) => r.id)).toEqual([1n, 2n, 4n]);
    expect(await mix.countByF({ f: 0.1 })).toBe(3);
    const first = await mix.listByF({ f: 0.1 }, { limit: 2 });
    expect((await mix.listByF({ f: 0.1 }, { limit: 2, pageToken: first.nextPageToken })).rows.map((r) => r.id)).toEqual(
      [4n],
    );
    expect(await mix.update({ id: 3n }, { f: 0.1 })).toBe(true);
    expect(await mix.countByF({ f: 0.1 })).toBe(4);
    expect(await mix.deleteByF({ f: 0.1 }, { limit: 10 })).toBe(4);
  });

  it("binds declared column defaults for absent fields in insert, insertMany, insertIfAbsent and upsert; present values win", async () => {
    await kitchen.insert({ id: 1n, slug: "a" });
    await kitchen.insertMany([
      { id: 2n, slug: "b" },
      { id: 3n, slug: "c", score: 0 },
    ]);
    await kitchen.upsert({ id: 4n, slug: "d" });
    expect(await kitchen.insertIfAbsent({ id: 5n, slug: "e" })).toBe(true);
    await kitchen.upsertMany([
      { id: 6n, slug: "f" },
      { id: 7n, slug: "g", score: -1 },
    ]);
    const scores = (await kitchen.list({ limit: 10 })).rows.map((r) => [r.id, r.score]);
    expect(scores).toEqual([
      [1n, 7],
      [2n, 7],
      [3n, 0],
      [4n, 7],
      [5n, 7],
      [6n, 7],
      [7n, -1],
    ]);
    // Upsert overwrites every non-key column: an absent field is its default again.
    await kitchen.upsert({ id: 3n, slug: "c" });
    expect((await kitchen.get({ id: 3n }))?.score).toBe(7);
    await kitchen.update({ id: 3n }, { score: 0 });
    expect((await kitchen.get({ id: 3n }))?.score).toBe(0);

    // Defaults of several types: what the DAO binds is what the database defaults.
    const declared = { label: "it's", big: -5n, enabled: true, d: 1.5, mood: Mood.SAD, g: Math.fround(0.1) };
    await mix.insert({ id: 1n });
    await mix.insertMany([{ id: 2n }]);
    await mix.upsert({ id: 3n });
    await store.db.run("INSERT INTO mix (id) VALUES (?)", [4n]);
    for (const id of [1n, 2n, 3n, 4n]) {
      const got = await mix.get({ id });
      expect(got, String(id)).toMatchObject(declared);
      expect(Array.from(got!.raw), String(id)).toEqual([0, 255]);
    }
    const zeros = { label: "", big: 0n, enabled: false, d: 0, mood: Mood.UNSPECIFIED, g: 0 };
    await mix.insert({ id: 5n, ...zeros, raw: new Uint8Array(0) });
    expect(await mix.get({ id: 5n })).toMatchObject(zeros);
    expect((await mix.get({ id: 5n }))!.raw.length).toBe(0);
    await mix.upsert({ id: 5n, label: "x" });
    expect(await mix.get({ id: 5n })).toMatchObject({ ...declared, label: "x" });
  });

  it("keeps message presence: absent reads back undefined, set-but-empty reads back an empty message", async () => {
    const empty = create(PointSchema);
    await kitchen.insert({ id: 1n, slug: "set", point: empty });
    await kitchen.insert({ id: 2n, slug: "unset" });
    await kitchen.upsert({ id: 3n, slug: "upserted", point: empty });
    expect((await kitchen.get({ id: 1n }))?.point).toEqual(empty);
    expect((await kitchen.get({ id: 2n }))?.point).toBeUndefined();
    expect((await kitchen.get({ id: 3n }))?.point).toEqual(empty);
    expect((await kitchen.list({ limit: 10 })).rows.map((r) => r.point)).toEqual([empty, undefined, empty]);
    expect(await kitchen.update({ id: 2n }, { point: empty })).toBe(true);
    expect((await kitchen.get({ id: 2n }))?.point).toEqual(empty);
    expect(await kitchen.update({ id: 2n }, { point: null })).toBe(true);
    expect((await kitchen.get({ id: 2n }))?.point).toBeUndefined();

    await mix.insert({ id: 1n, pointJson: empty });
    await mix.insert({ id: 2n });
    expect((await mix.get({ id: 1n }))?.pointJson).toEqual(empty);
    expect((await mix.get({ id: 2n }))?.pointJson).toBeUndefined();
    expect((await mix.list({ limit: 10 })).rows.map((r) => r.pointJson)).toEqual([empty, undefined]);
    // Rows written before presence was kept: NULL still reads back undefined.
    await store.db.run("INSERT INTO mix (id, point_json) VALUES (?, NULL)", [3n]);
    expect((await mix.get({ id: 3n }))?.pointJson).toBeUndefined();
  });

  it("keeps string keys that differ only by trailing spaces apart", async () => {
    await kitchen.insert({ id: 21n, slug: "pad" });
    await kitchen.insert({ id: 22n, slug: "pad " });
    await kitchen.insert({ id: 23n, slug: "pad  " });
    expect((await kitchen.getBySlug({ slug: "pad" }))?.id).toBe(21n);
    expect((await kitchen.getBySlug({ slug: "pad " }))?.id).toBe(22n);
    expect((await kitchen.getBySlug({ slug: "pad  " }))?.id).toBe(23n);
    await expect(kitchen.insert({ id: 24n, slug: "pad " })).rejects.toSatisfy(isDuplicateKey);
  });

  it("point gets (array rows) read exactly what listing (named rows) reads, in and out of transactions", async () => {
    await kitchen.insert({
      id: 7n,
      ownerId: INT64_MIN,
      slug: "arrays",
      title: "",
      blob: new Uint8Array([9, 0, 9]),
      flag: true,
      bigUnsigned: UINT64_MAX,
      mood: Mood.SAD,
      point: create(PointSchema, { x: -1, y: 2 }),
      tags: ["x", "ÿ"],
      createdAtMs: INT64_MAX,
      score: -5,
    });
    const listed = (await kitchen.list({ limit: 10 })).rows;
    expect(listed).toHaveLength(1);
    expect(await kitchen.get({ id: 7n })).toEqual(listed[0]);
    expect(await store.db.transaction((tx) => kitchen.with(tx).get({ id: 7n }))).toEqual(listed[0]);
    expect(await kitchen.get({ id: 8n })).toBeUndefined();
    const sql = "SELECT id, slug, flag FROM kitchen WHERE id = ?";
    const values = await store.db.getValues(sql, [7n]);
    expect([BigInt(values![0] as bigint), values![1], Number(values![2])]).toEqual([7n, "arrays", 1]);
    expect(await store.db.getValues(sql, [8n])).toBeUndefined();
  });

  it("round-trips every column type", async () => {
    const blob = new Uint8Array([0, 1, 2, 255, 254]);
    await kitchen.insert({
      id: 1n,
      ownerId: 9n,
      slug: "first",
      title: "Hello",
      blob,
      flag: true,
      small: -42,
      bigUnsigned: 12345678901234567890n,
      ratio: 0.125,
      mood: Mood.SAD,
      point: create(PointSchema, { x: 3, y: -4 }),
      tags: ["anime", "番組", "🚀"],
      note: "a note",
      createdAtMs: 1_700_000_000_000n,
      score: 99,
    });
    const got = await kitchen.get({ id: 1n });
    expect(got).toMatchObject({
      $typeName: "orbit.contract.v1.KitchenRow",
      id: 1n,
      ownerId: 9n,
      slug: "first",
      title: "Hello",
      flag: true,
      small: -42,
      bigUnsigned: 12345678901234567890n,
      ratio: 0.125,
      mood: Mood.SAD,
      point: { x: 3, y: -4 },
      tags: ["anime", "番組", "🚀"],
      note: "a note",
      createdAtMs: 1_700_000_000_000n,
      score: 99,
      views: 0n,
    });
    expect(Array.from(got!.blob)).toEqual(Array.from(blob));
    expect(got!.blob).toBeInstanceOf(Uint8Array);
  });

  it("gives absent fields their zero value and optional fields undefined", async () => {
    await kitchen.insert({ id: 2n, slug: "zero" });
    const got = await kitchen.get({ id: 2n });
    expect(got).toMatchObject({
      ownerId: 0n,
      title: "",
      flag: false,
      small: 0,
      bigUnsigned: 0n,
      ratio: 0,
      mood: Mood.UNSPECIFIED,
      tags: [],
      createdAtMs: 0n,
    });
    expect(got!.point).toBeUndefined();
    expect(got!.note).toBeUndefined();
    expect(got!.blob.length).toBe(0);
  });

  it("keeps 64-bit extremes exact", async () => {
    await kitchen.insert({ id: INT64_MAX, ownerId: INT64_MIN, slug: "max", bigUnsigned: UINT64_MAX });
    await kitchen.insert({ id: INT64_MIN, ownerId: INT64_MAX, slug: "min", bigUnsigned: 0n });
    expect(await kitchen.get({ id: INT64_MAX })).toMatchObject({ ownerId: INT64_MIN, bigUnsigned: UINT64_MAX });
    expect(await kitchen.get({ id: INT64_MIN })).toMatchObject({ ownerId: INT64_MAX, bigUnsigned: 0n });
    const page = await kitchen.list({ limit: 10 });
    expect(page.rows.map((r) => r.id)).toEqual([INT64_MIN, INT64_MAX]);
  });

  it("stores unicode text and finds it by a unique index", async () => {
    const title = "進撃の巨人 — Shingeki no Kyojin 🗡️ ñ ü ß \u0000end".replace("\u0000", "");
    await kitchen.insert({ id: 3n, slug: "ショウ", title });
    expect((await kitchen.getBySlug({ slug: "ショウ" }))?.title).toBe(title);
    expect(await kitchen.getBySlug({ slug: "missing" })).toBeUndefined();
  });

  it("stores large blobs", async () => {
    const blob = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < blob.length; i++) blob[i] = (i * 7919) & 0xff;
    await kitchen.insert({ id: 4n, slug: "big", blob });
    const got = await kitchen.get({ id: 4n });
    expect(got!.blob.length).toBe(blob.length);
    expect(Buffer.compare(Buffer.from(got!.blob), Buffer.from(blob))).toBe(0);
  });

  it("rejects a duplicate key, and insertIfAbsent reports it", async () => {
    await kitchen.insert({ id: 5n, slug: "dup" });
    const err = await kitchen.insert({ id: 5n, slug: "dup2" }).catch((e: unknown) => e);
    expect(isDuplicateKey(err)).toBe(true);
    const err2 = await kitchen.insert({ id: 6n, slug: "dup" }).catch((e: unknown) => e);
    expect(isDuplicateKey(err2)).toBe(true);
    expect(await kitchen.insertIfAbsent({ id: 5n, slug: "other" })).toBe(false);
    expect(await kitchen.insertIfAbsent({ id: 7n, slug: "seven" })).toBe(true);
    expect((await kitchen.get({ id: 5n }))?.slug).toBe("dup");
  });

  it("upserts: inserts, then overwrites non-key columns but keeps counters", async () => {
    await kitchen.upsert({ id: 8n, slug: "u", title: "one", note: "n" });
    await kitchen.incrementViews({ id: 8n }, 5);
    await kitchen.upsert({ id: 8n, slug: "u", title: "two" });
    const got = await kitchen.get({ id: 8n });
    expect(got).toMatchObject({ title: "two", views: 5n });
    expect(got!.note).toBeUndefined();
    await kitchen.upsertMany([
      { id: 8n, slug: "u", title: "three" },
      { id: 9n, slug: "v", title: "nine" },
    ]);
    expect((await kitchen.get({ id: 8n }))?.title).toBe("three");
    expect((await kitchen.get({ id: 9n }))?.title).toBe("nine");
  });

  it("upsert fails, and changes nothing, when the row collides with another row on a unique index", async () => {
    await kitchen.insertMany([
      { id: 1n, slug: "a", title: "A" },
      { id: 2n, slug: "b", title: "B" },
    ]);
    await kitchen.incrementViews({ id: 1n }, 3);
    const before = (await kitchen.list({ limit: 10 })).rows;
    const fails = async (p: Promise<unknown>) => {
      const err = await p.catch((e: unknown) => e);
      expect(isDuplicateKey(err), String(err)).toBe(true);
      expect((err as Error).message).toMatch(/kitchen/);
    };
    // A new key whose slug is another row's: SQLite's ON CONFLICT (id) does not
    // apply, MySQL's ON DUPLICATE KEY would have overwritten row 1.
    await fails(kitchen.upsert({ id: 3n, slug: "a", title: "C" }));
    // An existing key moving to another row's slug.
    await fails(kitchen.upsert({ id: 2n, slug: "a", title: "B2" }));
    await fails(
      kitchen.upsertMany([
        { id: 1n, slug: "a", title: "A2" },
        { id: 4n, slug: "d" },
        { id: 5n, slug: "b" },
      ]),
    );
    await fails(
      kitchen.upsertMany([
        { id: 6n, slug: "same" },
        { id: 7n, slug: "same" },
      ]),
    );
    expect((await kitchen.list({ limit: 10 })).rows).toEqual(before);
    // Inside a transaction the error reaches the caller, whose rollback undoes the rest.
    await fails(
      store.db.transaction(async (tx) => {
        await kitchen.with(tx).upsert({ id: 8n, slug: "h" });
        await kitchen.with(tx).upsertMany([
          { id: 1n, slug: "a", title: "A3" },
          { id: 9n, slug: "b" },
        ]);
      }),
    );
    expect((await kitchen.list({ limit: 10 })).rows).toEqual(before);
    // An identical row, and a real update, are fine; counters are kept.
    await kitchen.upsert({ id: 1n, slug: "a", title: "A" });
    await kitchen.upsertMany([
      { id: 1n, slug: "a", title: "A" },
      { id: 2n, slug: "b2", title: "B" },
      { id: 10n, slug: "b" },
    ]);
    expect((await kitchen.list({ limit: 10 })).rows.map((r) => [r.id, r.slug, r.views])).toEqual([
      [1n, "a", 3n],
      [2n, "b2", 0n],
      [10n, "b", 0n],
    ]);
  });

  it("finds upserted rows by a composite key (checkUpserted, as MySQL upserts run it)", async () => {
    await pairs.insertMany([
      { leftId: 1n, rightId: 1n },
      { leftId: 1n, rightId: 2n },
    ]);
    const check = { table: "pairs", keyAt: [0, 1], uniqueIndexes: ["pairs_uniq_x"] };
    const head = `SELECT COUNT(*) AS n FROM pairs WHERE (left_id, right_id) IN`;
    await checkUpserted(store.db, head, check, [
      [1n, 1n, "a"],
      [1n, 2n, "b"],
      [1n, 1n, "c"],
    ]);
    const err = await checkUpserted(store.db, head, check, [
      [1n, 1n, "a"],
      [2n, 1n, "b"],
      [1n, 3n, "c"],
    ]).catch((e: unknown) => e);
    expect(isDuplicateKey(err)).toBe(true);
    expect((err as Error).message).toBe(
      "upsert into pairs: 2 rows collide with another row on unique index pairs_uniq_x (duplicate key)",
    );
  });

  it("upsertMany is all or nothing when it needs several statements", async () => {
    await kitchen.insert({ id: 1n, slug: "taken" });
    // 3 rows: a statement of 2, then one of 1 that fails.
    const err = await kitchen
      .upsertMany([
        { id: 2n, slug: "x" },
        { id: 3n, slug: "y" },
        { id: 4n, slug: "taken" },
      ])
      .catch((e: unknown) => e);
    expect(isDuplicateKey(err)).toBe(true);
    expect(await kitchen.count()).toBe(1);
    await pairs.upsertMany(Array.from({ length: 5 }, (_, i) => ({ leftId: 1n, rightId: BigInt(i), label: "ok" })));
    expect(await pairs.count()).toBe(5);
  });

  it("updates only the fields a patch sets, and null clears a nullable column", async () => {
    await kitchen.insert({ id: 10n, slug: "p", title: "t", note: "keep?", small: 1 });
    expect(await kitchen.update({ id: 10n }, { title: "t2" })).toBe(true);
    expect(await kitchen.get({ id: 10n })).toMatchObject({ title: "t2", note: "keep?", small: 1 });
    expect(await kitchen.update({ id: 10n }, { title: "t2" })).toBe(true); // unchanged values still "exist"
    expect(await kitchen.update({ id: 10n }, { note: null, small: 2 })).toBe(true);
    const got = await kitchen.get({ id: 10n });
    expect(got!.note).toBeUndefined();
    expect(got!.small).toBe(2);
    expect(await kitchen.update({ id: 999n }, { title: "x" })).toBe(false);
    expect(await kitchen.update({ id: 10n }, {})).toBe(true);
  });

  it("gets many rows by key in one query", async () => {
    await kitchen.insertMany(Array.from({ length: 40 }, (_, i) => ({ id: BigInt(i + 1), slug: `m${i}` })));
    const keys = [3n, 1n, 39n, 999n, 3n].map((id) => ({ id }));
    const got = await kitchen.getMany(keys);
    expect(got.map((r) => r.id).sort()).toEqual([1n, 3n, 39n]);
    expect(await kitchen.getMany([])).toEqual([]);
    const many = await kitchen.getMany(Array.from({ length: 700 }, (_, i) => ({ id: BigInt(i + 1) })));
    expect(many.length).toBe(40);
  });

  it("deletes and counts", async () => {
    await kitchen.insertMany([
      { id: 11n, slug: "a" },
      { id: 12n, slug: "b" },
    ]);
    expect(await kitchen.count()).toBe(2);
    expect(await kitchen.delete({ id: 11n })).toBe(true);
    expect(await kitchen.delete({ id: 11n })).toBe(false);
    expect(await kitchen.count()).toBe(1);
  });

  it("inserts many rows in multi-row statements", async () => {
    const rows = Array.from({ length: 1234 }, (_, i) => ({ id: BigInt(i + 1), slug: `s${i}`, ownerId: BigInt(i % 3) }));
    expect(await kitchen.insertMany(rows)).toBe(1234);
    expect(await kitchen.count()).toBe(1234);
    expect(await kitchen.countByOwnerId({ ownerId: 1n })).toBe(411);
  });

  it("pages through all rows in key order, both directions, without gaps or repeats", async () => {
    await kitchen.insertMany(
      Array.from({ length: 53 }, (_, i) => ({ id: BigInt((i * 37) % 53) * 10n + 1n, slug: `k${i}` })),
    );
    for (const order of ["asc", "desc"] as const) {
      const seen: bigint[] = [];
      let token = "";
      let pages = 0;
      do {
        const page = await kitchen.list({ limit: 10, pageToken: token, order });
        seen.push(...page.rows.map((r) => r.id));
        token = page.nextPageToken;
        pages++;
      } while (token);
      expect(pages).toBe(6);
      const sorted = [...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      expect(seen).toEqual(order === "asc" ? sorted : sorted.reverse());
      expect(new Set(seen).size).toBe(53);
    }
  });

  it("pages through an index finder ordered by its last column then the key, with ties", async () => {
    const rows = [];
    for (let i = 0; i < 25; i++)
      rows.push({ id: BigInt(100 + i), slug: `o${i}`, ownerId: 7n, createdAtMs: BigInt(1000 + Math.floor(i / 4)) });
    rows.push({ id: 500n, slug: "other", ownerId: 8n, createdAtMs: 1n });
    await kitchen.insertMany(rows);
    const got: bigint[] = [];
    let token = "";
    do {
      const page = await kitchen.listByOwnerId({ ownerId: 7n }, { limit: 4, pageToken: token, order: "desc" });
      got.push(...page.rows.map((r) => r.id));
      token = page.nextPageToken;
    } while (token);
    const expected = rows
      .filter((r) => r.ownerId === 7n)
      .sort((a, b) => (a.createdAtMs !== b.createdAtMs ? Number(b.createdAtMs - a.createdAtMs) : Number(b.id - a.id)))
      .map((r) => r.id);
    expect(got).toEqual(expected);
    const moods = await kitchen.listByMood({ mood: Mood.UNSPECIFIED }, { limit: 100 });
    expect(moods.rows.length).toBe(26);
    expect(moods.nextPageToken).toBe("");
  });

  it("handles composite primary keys", async () => {
    await pairs.insertMany([
      { leftId: 1n, rightId: 2n, label: "a" },
      { leftId: 1n, rightId: 1n, label: "b" },
      { leftId: 0n, rightId: 9n, label: "c" },
    ]);
    expect((await pairs.get({ leftId: 1n, rightId: 1n }))?.label).toBe("b");
    const all = await pairs.list({ limit: 2 });
    expect(all.rows.map((r) => [r.leftId, r.rightId])).toEqual([
      [0n, 9n],
      [1n, 1n],
    ]);
    const rest = await pairs.list({ limit: 2, pageToken: all.nextPageToken });
    expect(rest.rows.map((r) => [r.leftId, r.rightId])).toEqual([[1n, 2n]]);
    expect(rest.nextPageToken).toBe("");
    const left1 = await pairs.listByLeftId({ leftId: 1n }, { order: "desc" });
    expect(left1.rows.map((r) => r.rightId)).toEqual([2n, 1n]);
    expect(await pairs.countByLeftId({ leftId: 0n })).toBe(1);
    expect(await pairs.delete({ leftId: 1n, rightId: 2n })).toBe(true);
    expect(await pairs.count()).toBe(2);
  });

  it("deletes by an index prefix in bounded statements: only matching rows, at most limit, in index order", async () => {
    const rows = [];
    for (let i = 0; i < 25; i++)
      rows.push({ id: BigInt(100 + i), slug: `d${i}`, ownerId: 7n, createdAtMs: BigInt(2000 - i) });
    for (let i = 0; i < 5; i++) rows.push({ id: BigInt(200 + i), slug: `e${i}`, ownerId: 8n, mood: Mood.SAD });
    await kitchen.insertMany(rows);
    // The first 10 in (created_at_ms, id) order: the ten newest ids (oldest times).
    expect(await kitchen.deleteByOwnerId({ ownerId: 7n }, { limit: 10 })).toBe(10);
    const left = (await kitchen.listByOwnerId({ ownerId: 7n }, { limit: 100 })).rows.map((r) => r.id);
    expect(left).toEqual(Array.from({ length: 15 }, (_, i) => BigInt(114 - i)));
    expect(await kitchen.countByOwnerId({ ownerId: 8n })).toBe(5);
    expect(await kitchen.deleteByOwnerId({ ownerId: 7n }, { limit: 10 })).toBe(10);
    expect(await kitchen.deleteByOwnerId({ ownerId: 7n }, { limit: 10 })).toBe(5);
    expect(await kitchen.deleteByOwnerId({ ownerId: 7n }, { limit: 10 })).toBe(0);
    expect(await kitchen.deleteByOwnerId({ ownerId: 999n }, { limit: MAX_DELETE_LIMIT })).toBe(0);
    expect(await kitchen.deleteByMood({ mood: Mood.SAD }, { limit: 1 })).toBe(1);
    expect(await kitchen.count()).toBe(4);
    expect(await kitchen.countByOwnerId({ ownerId: 8n })).toBe(4);
  });

  it("deletes by a composite key prefix (a WITHOUT ROWID table on SQLite)", async () => {
    const rows = [];
    for (let r = 0; r < 30; r++) rows.push({ leftId: 1n, rightId: BigInt(r), label: "x" });
    rows.push({ leftId: 2n, rightId: 0n, label: "keep" }, { leftId: 0n, rightId: 5n, label: "keep" });
    await pairs.insertMany(rows);
    expect(await pairs.deleteByLeftId({ leftId: 1n }, { limit: 7 })).toBe(7);
    const left = (await pairs.listByLeftId({ leftId: 1n }, { limit: 100 })).rows.map((r) => r.rightId);
    expect(left).toEqual(Array.from({ length: 23 }, (_, i) => BigInt(i + 7)));
    let rounds = 0;
    let n: number;
    do {
      n = await pairs.deleteByLeftId({ leftId: 1n }, { limit: 10 });
      rounds++;
    } while (n > 0);
    expect(rounds).toBe(4); // 10 + 10 + 3 + 0
    expect(await pairs.countByLeftId({ leftId: 1n })).toBe(0);
    expect((await pairs.list({ limit: 10 })).rows.map((r) => r.label)).toEqual(["keep", "keep"]);
  });

  it("runs a bounded delete inside a transaction: rollback keeps the rows", async () => {
    await kitchen.insertMany(
      Array.from({ length: 6 }, (_, i) => ({ id: BigInt(300 + i), slug: `t${i}`, ownerId: 3n })),
    );
    const err = await store.db
      .transaction(async (tx) => {
        expect(await kitchen.with(tx).deleteByOwnerId({ ownerId: 3n }, { limit: 4 })).toBe(4);
        expect(await kitchen.with(tx).countByOwnerId({ ownerId: 3n })).toBe(2);
        throw new Error("boom");
      })
      .catch((e: Error) => e);
    expect((err as Error).message).toBe("boom");
    expect(await kitchen.countByOwnerId({ ownerId: 3n })).toBe(6);
    const n = await store.db.transaction(async (tx) => {
      const k = kitchen.with(tx);
      return (
        (await k.deleteByOwnerId({ ownerId: 3n }, { limit: 4 })) +
        (await k.deleteByOwnerId({ ownerId: 3n }, { limit: 4 }))
      );
    });
    expect(n).toBe(6);
    expect(await kitchen.countByOwnerId({ ownerId: 3n })).toBe(0);
  });

  it("rejects a bounded delete without a sane limit, deleting nothing", async () => {
    await kitchen.insertMany([
      { id: 1n, slug: "a", ownerId: 4n },
      { id: 2n, slug: "b", ownerId: 4n },
    ]);
    for (const limit of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_DELETE_LIMIT + 1, "5", 5n, undefined]) {
      const err = await kitchen.deleteByOwnerId({ ownerId: 4n }, { limit } as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeleteLimitError);
      expect((err as Error).message).toMatch(/delete limit must be an integer in 1\.\.10000/);
    }
    await expect(kitchen.deleteByOwnerId({ ownerId: 4n }, undefined as never)).rejects.toThrow(DeleteLimitError);
    expect(await kitchen.countByOwnerId({ ownerId: 4n })).toBe(2);
  });

  it("keeps counters exact under concurrent increments", async () => {
    await kitchen.insert({ id: 20n, slug: "c" });
    await Promise.all(Array.from({ length: 200 }, () => kitchen.incrementViews({ id: 20n })));
    await kitchen.incrementViews({ id: 20n }, -50);
    expect((await kitchen.get({ id: 20n }))?.views).toBe(150n);
    expect(await kitchen.incrementViews({ id: 21n })).toBe(false);
  });

  it("runs any method inside a transaction: commit keeps, rollback discards", async () => {
    await store.db.transaction(async (tx) => {
      const k = kitchen.with(tx);
      await k.insert({ id: 30n, slug: "tx1" });
      await k.incrementViews({ id: 30n }, 3);
    });
    expect((await kitchen.get({ id: 30n }))?.views).toBe(3n);
    const err = await store.db
      .transaction(async (tx) => {
        await kitchen.with(tx).insert({ id: 31n, slug: "tx2" });
        await kitchen.with(tx).update({ id: 30n }, { title: "changed" });
        throw new Error("boom");
      })
      .catch((e: Error) => e);
    expect((err as Error).message).toBe("boom");
    expect(await kitchen.get({ id: 31n })).toBeUndefined();
    expect((await kitchen.get({ id: 30n }))?.title).toBe("");
  });

  it("enforces declared VARCHAR lengths in characters (code points) on every engine", async () => {
    const fits = "🚀".repeat(64); // 64 characters, 128 UTF-16 units, 256 UTF-8 bytes
    await kitchen.insert({ id: 1n, slug: fits });
    expect((await kitchen.get({ id: 1n }))?.slug).toBe(fits);
    for (const slug of ["x".repeat(65), "🚀".repeat(65)]) {
      const err = await kitchen.insert({ id: 2n, slug }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SqlInputError);
      expect((err as Error).message).toMatch(/^kitchen\.slug: text of 65 characters is longer than the column's 64/);
      await expect(kitchen.upsert({ id: 1n, slug })).rejects.toThrow(SqlInputError);
      await expect(
        kitchen.insertMany([
          { id: 3n, slug: "ok" },
          { id: 4n, slug },
        ]),
      ).rejects.toThrow(SqlInputError);
      await expect(kitchen.update({ id: 1n }, { slug })).rejects.toThrow(/kitchen\.slug/);
    }
    expect(await kitchen.count()).toBe(1);
    expect((await kitchen.get({ id: 1n }))?.slug).toBe(fits);
  });

  it("rejects 64-bit values out of range on every engine, naming table and column", async () => {
    const bad: [Record<string, bigint>, RegExp][] = [
      [{ ownerId: INT64_MAX + 1n }, /^kitchen\.owner_id: 9223372036854775808n is not a valid int64/],
      [{ createdAtMs: INT64_MIN - 1n }, /^kitchen\.created_at_ms: -9223372036854775809n is not a valid int64/],
      [{ bigUnsigned: -1n }, /^kitchen\.big_unsigned: -1n is not a valid uint64/],
      [{ bigUnsigned: UINT64_MAX + 1n }, /^kitchen\.big_unsigned: 18446744073709551616n is not a valid uint64/],
    ];
    for (const [fields, msg] of bad) {
      const err = await kitchen.insert({ id: 1n, slug: "r", ...fields }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SqlInputError);
      expect((err as Error).message).toMatch(msg);
    }
    await expect(kitchen.get({ id: INT64_MAX + 1n })).rejects.toThrow(/^kitchen\.id: .* is not a valid int64/);
    await kitchen.insert({ id: 1n, slug: "r" });
    await expect(kitchen.update({ id: 1n }, { bigUnsigned: -1n })).rejects.toThrow(SqlInputError);
    expect((await kitchen.get({ id: 1n }))?.bigUnsigned).toBe(0n);
    expect(await kitchen.count()).toBe(1);
  });

  it("rejects a missing key or finder field with an error naming it, on every engine", async () => {
    await kitchen.insert({ id: 1n, slug: "k" });
    const cases: [() => Promise<unknown>, string][] = [
      [() => kitchen.get({} as never), "kitchen.id: key field id is missing"],
      [() => kitchen.delete({} as never), "kitchen.id: key field id is missing"],
      [() => kitchen.update({} as never, { title: "x" }), "kitchen.id: key field id is missing"],
      [() => kitchen.incrementViews({} as never), "kitchen.id: key field id is missing"],
      [() => kitchen.getMany([{ id: 1n }, {} as never]), "kitchen.id: key field id is missing"],
      [() => kitchen.getBySlug({} as never), "kitchen.slug: key field slug is missing"],
      [() => kitchen.listByOwnerId({} as never), "kitchen.owner_id: key field ownerId is missing"],
      [() => kitchen.countByOwnerId({} as never), "kitchen.owner_id: key field ownerId is missing"],
      [() => kitchen.deleteByOwnerId({} as never, { limit: 1 }), "kitchen.owner_id: key field ownerId is missing"],
      [() => pairs.get({ leftId: 1n } as never), "pairs.right_id: key field rightId is missing"],
    ];
    for (const [call, msg] of cases) {
      const err = await call().catch((e: unknown) => e);
      expect(err, msg).toBeInstanceOf(SqlInputError);
      expect((err as Error).message).toBe(msg);
    }
    expect(await kitchen.count()).toBe(1);
  });

  it("answers bad paging and out-of-range values with clear errors", async () => {
    await expect(kitchen.list({ limit: 0 })).rejects.toThrow(PageOptionError);
    await expect(kitchen.list({ limit: 1001 })).rejects.toThrow(/1\.\.1000/);
    await expect(kitchen.list({ pageToken: "garbage!!" })).rejects.toThrow(/malformed/);
    await kitchen.insertMany([
      { id: 1n, slug: "a" },
      { id: 2n, slug: "b" },
    ]);
    const first = await kitchen.list({ limit: 1 });
    await expect(kitchen.list({ limit: 1, pageToken: first.nextPageToken, order: "desc" })).rejects.toThrow(
      /other sort order/,
    );
    await expect(kitchen.listByOwnerId({ ownerId: 0n }, { pageToken: first.nextPageToken })).rejects.toThrow(
      /another query/,
    );
    await expect(kitchen.insert({ id: 40n, slug: "r", small: 2 ** 31 })).rejects.toThrow(
      /^kitchen\.small: 2147483648 is not a valid int32/,
    );
    await expect(kitchen.insert({ id: 40n, slug: "r", small: 2 ** 31 })).rejects.toThrow(SqlInputError);
    expect(await kitchen.get({ id: 40n })).toBeUndefined();
  });
});
