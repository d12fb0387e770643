import { describe, expect, it } from "vitest";
import {
  ExpiringRowCql,
  ExpiringRowTable,
  TallyRowCql,
  TallyRowTable,
  TimelineRowCql,
  TimelineRowTable,
} from "../../../gen/orbit/contract/v1/tables_wide.js";
import { HomeFeedRowCql, HomeFeedRowTable } from "../../../gen/orbit/feed/v1/tables_wide.js";
import { PostCounterRowCql, PostCounterRowTable } from "../../../gen/orbit/post/v1/tables_wide.js";
import { cqlIdent, createKeyspaceCql, createTableCql, dropTableCql, scanCql, wideCql } from "./cql.js";

describe("createTableCql", () => {
  it("builds the DDL of the contract tables, qualified with the keyspace", () => {
    expect(createTableCql(TimelineRowTable, "orbit")).toBe(
      [
        "CREATE TABLE IF NOT EXISTS orbit.timeline (",
        "  owner_id bigint,",
        "  bucket int,",
        "  item_id bigint,",
        "  body text,",
        "  payload blob,",
        "  note text,",
        "  big varint,",
        "  PRIMARY KEY ((owner_id), bucket, item_id)",
        ") WITH CLUSTERING ORDER BY (bucket ASC, item_id DESC)",
      ].join("\n"),
    );
    expect(createTableCql(ExpiringRowTable, "orbit")).toBe(
      [
        "CREATE TABLE IF NOT EXISTS orbit.expiring (",
        "  key text,",
        "  seq bigint,",
        "  value text,",
        "  PRIMARY KEY ((key), seq)",
        ") WITH CLUSTERING ORDER BY (seq ASC)",
        "  AND default_time_to_live = 3600",
      ].join("\n"),
    );
    expect(createTableCql(TallyRowTable, "orbit")).toBe(
      [
        "CREATE TABLE IF NOT EXISTS orbit.tallies (",
        "  owner_id bigint,",
        "  name text,",
        "  hits counter,",
        "  misses counter,",
        "  PRIMARY KEY ((owner_id), name)",
        ") WITH CLUSTERING ORDER BY (name ASC)",
      ].join("\n"),
    );
    expect(createTableCql(HomeFeedRowTable, "feed_ks")).toBe(
      "CREATE TABLE IF NOT EXISTS feed_ks.home_feed (\n  user_id bigint,\n  post_id bigint,\n  author_id bigint,\n" +
        "  PRIMARY KEY ((user_id), post_id)\n) WITH CLUSTERING ORDER BY (post_id DESC)",
    );
    expect(createTableCql(PostCounterRowTable)).toBe(
      "CREATE TABLE IF NOT EXISTS post_counters (\n  post_id bigint,\n  likes counter,\n  comments counter,\n  PRIMARY KEY ((post_id))\n)",
    );
    expect(dropTableCql(TimelineRowTable, "orbit")).toBe("DROP TABLE IF EXISTS orbit.timeline");
  });

  // Guards gen/ against the runtime: the walker writes these constants with the
  // same function, so this fails when gen/ is stale, not when the DDL is wrong
  // (the literal text above checks that).
  it("is what the generated createTable constants hold", () => {
    expect(TimelineRowCql.createTable).toBe(createTableCql(TimelineRowTable));
    expect(HomeFeedRowCql.createTable).toBe(createTableCql(HomeFeedRowTable));
  });

  it("rejects a bad keyspace name", () => {
    expect(() => createTableCql(TimelineRowTable, "bad-name")).toThrow(/invalid Cassandra keyspace name "bad-name"/);
    expect(() => createKeyspaceCql("x;drop", { class: "SimpleStrategy", replicationFactor: 1 })).toThrow(/invalid/);
  });
});

describe("createKeyspaceCql", () => {
  it("spells out the replication", () => {
    expect(createKeyspaceCql("orbit", { class: "SimpleStrategy", replicationFactor: 3 })).toBe(
      "CREATE KEYSPACE IF NOT EXISTS orbit WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
    );
    expect(createKeyspaceCql("orbit", { class: "NetworkTopologyStrategy", dataCenters: { dc1: 3, dc2: 2 } })).toBe(
      "CREATE KEYSPACE IF NOT EXISTS orbit WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}",
    );
  });
});

describe("wideCql", () => {
  it("prepares reviewed statements: full key in WHERE, tuple relations on the clustering key, counters by UPDATE", () => {
    const cols = "owner_id, bucket, item_id, body, payload, note, big";
    expect(wideCql(TimelineRowTable)).toEqual({
      insert: `INSERT INTO timeline (${cols}) VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ?`,
      selectByKey: `SELECT ${cols} FROM timeline WHERE owner_id = ? AND bucket = ? AND item_id = ?`,
      scanPartition: `SELECT ${cols} FROM timeline WHERE owner_id = ?`,
      scanRange: `SELECT ${cols} FROM timeline WHERE owner_id = ? AND (bucket, item_id) >= (?, ?) AND (bucket, item_id) <= (?, ?)`,
      deleteRow: "DELETE FROM timeline WHERE owner_id = ? AND bucket = ? AND item_id = ?",
      deletePartition: "DELETE FROM timeline WHERE owner_id = ?",
    });
    expect(wideCql(TallyRowTable)).toEqual({
      selectByKey: "SELECT owner_id, name, hits, misses FROM tallies WHERE owner_id = ? AND name = ?",
      scanPartition: "SELECT owner_id, name, hits, misses FROM tallies WHERE owner_id = ?",
      scanRange:
        "SELECT owner_id, name, hits, misses FROM tallies WHERE owner_id = ? AND (name) >= (?) AND (name) <= (?)",
      deleteRow: "DELETE FROM tallies WHERE owner_id = ? AND name = ?",
      deletePartition: "DELETE FROM tallies WHERE owner_id = ?",
      increment: "UPDATE tallies SET hits = hits + ?, misses = misses + ? WHERE owner_id = ? AND name = ?",
    });
  });

  // Guards gen/ against the runtime (a stale gen/ fails here); the reviewed text is the test above.
  it("is exactly what the generated constants show (the runtime prepares the same text)", () => {
    const { createTable: _t, ...timeline } = TimelineRowCql;
    expect(wideCql(TimelineRowTable)).toEqual(timeline);
    const { createTable: _e, ...expiring } = ExpiringRowCql;
    expect(wideCql(ExpiringRowTable)).toEqual(expiring);
    const { createTable: _c, ...tallies } = TallyRowCql;
    expect(wideCql(TallyRowTable)).toEqual(tallies);
    const { createTable: _p, ...posts } = PostCounterRowCql;
    expect(wideCql(PostCounterRowTable)).toEqual(posts);
  });

  it("inserts with a TTL, updates counters and never inserts into counter tables", () => {
    expect(TimelineRowCql.insert).toBe(
      "INSERT INTO timeline (owner_id, bucket, item_id, body, payload, note, big) VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ?",
    );
    expect(TallyRowCql.increment).toBe(
      "UPDATE tallies SET hits = hits + ?, misses = misses + ? WHERE owner_id = ? AND name = ?",
    );
    expect("insert" in TallyRowCql).toBe(false);
    expect(HomeFeedRowCql.deletePartition).toBe("DELETE FROM home_feed WHERE user_id = ?");
  });
});

describe("scanCql", () => {
  it("uses tuple relations on clustering prefixes and ORDER BY for the reverse order", () => {
    expect(
      scanCql(TimelineRowTable, {
        from: { length: 1, inclusive: false },
        to: { length: 2, inclusive: true },
        order: "reverse",
      }),
    ).toBe(
      "SELECT owner_id, bucket, item_id, body, payload, note, big FROM timeline WHERE owner_id = ? AND (bucket) > (?) " +
        "AND (bucket, item_id) <= (?, ?) ORDER BY bucket DESC, item_id ASC",
    );
    expect(scanCql(HomeFeedRowTable, { to: { length: 1, inclusive: false }, order: "clustering" })).toBe(
      "SELECT user_id, post_id, author_id FROM home_feed WHERE user_id = ? AND (post_id) < (?)",
    );
    expect(scanCql(PostCounterRowTable, { order: "reverse" })).toBe(
      "SELECT post_id, likes, comments FROM post_counters WHERE post_id = ?",
    );
  });

  it("quotes reserved words only", () => {
    expect(cqlIdent("token")).toBe('"token"');
    expect(cqlIdent("order")).toBe('"order"');
    expect(cqlIdent("key")).toBe("key");
    for (const w of ["default", "unset", "mbean", "mbeans"]) expect(cqlIdent(w)).toBe(`"${w}"`);
    expect(cqlIdent("name")).toBe("name");
  });
});
