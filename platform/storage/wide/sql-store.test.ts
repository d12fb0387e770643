/**
 * What only the SQL store does: the SQL it runs, physical TTL sweeping, and
 * page-token checking. (Behaviour shared with Cassandra is in the contract.)
 */
import { describe, expect, it } from "vitest";
import {
  ExpiringRowDao,
  ExpiringRowTable,
  TimelineRowTable,
  wideTables,
} from "../../../gen/orbit/contract/v1/tables_wide.js";
import { ENGINES } from "../../../test/support/stores.js";
import { encodePageToken } from "../sql/page.js";
import { createWideSqlTables } from "../../../test/support/wide/sql-tables.js";
import { decodeWideToken, encodeWideToken } from "./sql-page-token.js";
import { SqlWideStore } from "./sql-store.js";
import { wideSql } from "./sql-text.js";
import { startWideSweeper } from "./sweeper.js";

describe("wideSql", () => {
  it("spells scans as key-range comparisons in clustering order", () => {
    const sql = wideSql(TimelineRowTable, "sqlite");
    expect(sql.scan({ from: { length: 2, inclusive: true }, order: "clustering", after: true })).toBe(
      'SELECT "owner_id", "bucket", "item_id", "body", "payload", "note", "big" FROM "timeline" WHERE "owner_id" = ? ' +
        'AND ("bucket" >= ? AND ("bucket" > ? OR ("bucket" = ? AND "item_id" >= ?))) ' +
        'AND ("bucket" >= ? AND ("bucket" > ? OR ("bucket" = ? AND "item_id" < ?))) ' +
        'AND ("_expires_at_ms" IS NULL OR "_expires_at_ms" > ?) ORDER BY "bucket" ASC, "item_id" DESC LIMIT ?',
    );
    expect(wideSql(TimelineRowTable, "mysql").put).toBe(
      "INSERT INTO `timeline` (`owner_id`, `bucket`, `item_id`, `body`, `payload`, `note`, `big`, `_expires_at_ms`) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE `body` = VALUES(`body`), `payload` = VALUES(`payload`), " +
        "`note` = VALUES(`note`), `big` = VALUES(`big`), `_expires_at_ms` = VALUES(`_expires_at_ms`)",
    );
  });
});

describe("SQL page tokens", () => {
  it("round-trip a clustering key and refuse tokens of another table, order or type", () => {
    const token = encodeWideToken(TimelineRowTable, "clustering", [3, -(2n ** 63n)]);
    expect(decodeWideToken(TimelineRowTable, "clustering", token, "t")).toEqual([3, -(2n ** 63n)]);
    expect(() => decodeWideToken(TimelineRowTable, "reverse", token, "t")).toThrow(
      /t: bad page token \(page_token: made for the other sort order\)/,
    );
    expect(() => decodeWideToken(ExpiringRowTable, "clustering", token, "t")).toThrow(
      /bad page token \(page_token: belongs to another query\)/,
    );
    const forged = encodePageToken("wide:timeline", "asc", ["x", 1n]);
    expect(() => decodeWideToken(TimelineRowTable, "clustering", forged, "t")).toThrow(
      /its bucket value does not fit the column/,
    );
    expect(() => decodeWideToken(TimelineRowTable, "clustering", "%%%", "t")).toThrow(/bad page token/);
  });
});

describe.each(ENGINES)("SQL wide store on $name", (engine) => {
  it("puts many rows with multi-row upserts (chunks of 256 and powers of two); a later row with the same key wins", async () => {
    const store = await engine.open();
    try {
      await createWideSqlTables(store.db, wideTables);
      const dao = new ExpiringRowDao(new SqlWideStore(store.db));
      // 700 = 256 + 256 + 128 + 32 + 16 + 8 + 4 rows; seq 5 is given twice.
      const rows = Array.from({ length: 699 }, (_, i) => ({ key: "k", seq: BigInt(i), value: `v${i}` }));
      rows.push({ key: "k", seq: 5n, value: "again" });
      await dao.putMany(rows, { ttlSeconds: 0 });
      await dao.putMany(
        [
          { key: "k", seq: 6n, value: "six" },
          { key: "j", seq: 1n, value: "j1" },
        ],
        { ttlSeconds: 0 },
      );
      const all = [];
      let token = "";
      do {
        const page = await dao.scan({ key: "k" }, { limit: 500, pageToken: token });
        all.push(...page.rows);
        token = page.nextPageToken;
      } while (token);
      expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 699 }, (_, i) => BigInt(i)));
      expect(all[5]!.value).toBe("again");
      expect(all[6]!.value).toBe("six");
      expect(all[698]!.value).toBe("v698");
      expect((await dao.get({ key: "j", seq: 1n }))?.value).toBe("j1");
      expect(wideSql(ExpiringRowTable, "sqlite").putRows(2)).toBe(
        'INSERT INTO "expiring" ("key", "seq", "value", "_expires_at_ms") VALUES (?, ?, ?, ?), (?, ?, ?, ?) ' +
          'ON CONFLICT ("key", "seq") DO UPDATE SET "value" = excluded."value", "_expires_at_ms" = excluded."_expires_at_ms"',
      );
    } finally {
      await store.dispose();
    }
  });

  it("sweeps expired rows away in batches, leaving live ones", async () => {
    const store = await engine.open();
    try {
      await createWideSqlTables(store.db, wideTables);
      let now = 1_700_000_000_000;
      const wide = new SqlWideStore(store.db, { now: () => now });
      const dao = new ExpiringRowDao(wide);
      const rows = Array.from({ length: 25 }, (_, i) => ({ key: "k", seq: BigInt(i), value: `v${i}` }));
      await dao.putMany(rows, { ttlSeconds: 10 });
      await dao.putMany(
        [
          { key: "k", seq: 100n },
          { key: "k", seq: 101n },
        ],
        { ttlSeconds: 0 },
      );
      await dao.put({ key: "k", seq: 102n }); // default TTL: one hour
      const count = async () => Number((await store.db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM expiring"))!.n);
      expect(await wide.sweepExpired(ExpiringRowTable)).toBe(0);
      now += 10_000;
      expect((await dao.scan({ key: "k" })).rows.map((r) => r.seq)).toEqual([100n, 101n, 102n]);
      expect(await count()).toBe(28); // invisible, not yet deleted
      expect(await wide.sweepExpired(ExpiringRowTable, { batchSize: 10, maxRows: 15 })).toBe(15);
      expect(await wide.sweepExpired(ExpiringRowTable, { batchSize: 4 })).toBe(10);
      expect(await count()).toBe(3);
      now += 3600_000;
      const sweeper = startWideSweeper(wide, wideTables, { intervalMs: 3600_000 });
      expect(await sweeper.sweepNow()).toBe(1);
      await sweeper.stop();
      expect(await count()).toBe(2);
      await expect(wide.sweepExpired(ExpiringRowTable, { batchSize: 0 })).rejects.toThrow(
        /batchSize must be a positive integer/,
      );
    } finally {
      await store.dispose();
    }
  });
});
