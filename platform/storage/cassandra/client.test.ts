import { createRequire } from "node:module";
import { policies, types } from "cassandra-driver";
import { describe, expect, it } from "vitest";
import type { ColumnSpec } from "../schema.js";
import { CASSANDRA_CONSISTENCIES, parseCassandraUrl } from "../open.js";
import { fromCql, toCql } from "../wide/cassandra-values.js";
import type { WideValue } from "../wide/store.js";
import { CassandraClient, cassandraClientOptions, consistencyCode } from "./client.js";

describe("cassandraClientOptions", () => {
  it("routes token-aware within the local DC, prepares, and maps 64-bit ints to bigint", () => {
    const o = cassandraClientOptions(
      parseCassandraUrl("cassandra://app:s3cret@10.0.0.1,10.0.0.2:9043/orbit?dc=eu-west&consistency=localOne"),
    );
    expect(o.contactPoints).toEqual(["10.0.0.1", "10.0.0.2:9043"]);
    expect(o.protocolOptions).toEqual({ port: 9043 });
    expect(o.localDataCenter).toBe("eu-west");
    expect(o.keyspace).toBe("orbit");
    expect(o.credentials).toEqual({ username: "app", password: "s3cret" });
    expect(o.policies!.loadBalancing).toBeInstanceOf(policies.loadBalancing.TokenAwarePolicy);
    expect(o.queryOptions).toEqual({ consistency: types.consistencies.localOne, prepare: true });
    expect(o.encoding).toEqual({ useBigIntAsLong: true, useBigIntAsVarint: true });
  });

  it("defaults to localQuorum and datacenter1, and can leave the keyspace out", () => {
    const o = cassandraClientOptions(parseCassandraUrl("cassandra://db1/orbit"), { noKeyspace: true });
    expect(o.queryOptions!.consistency).toBe(types.consistencies.localQuorum);
    expect(o.localDataCenter).toBe("datacenter1");
    expect(o.keyspace).toBeUndefined();
    expect(o.credentials).toBeUndefined();
    expect(o.protocolOptions).toBeUndefined();
  });

  it("rejects an unknown consistency with the list of valid ones", () => {
    expect(() => parseCassandraUrl("cassandra://db1/orbit?consistency=most")).toThrow(
      /consistency "most" is not one of any, one, .*localQuorum/,
    );
    expect(() => consistencyCode("most")).toThrow(
      /unknown Cassandra consistency "most" \(use one of any, one, .*localQuorum/,
    );
    expect(consistencyCode("quorum")).toBe(types.consistencies.quorum);
  });

  it("checks URLs against the driver's own consistency names", () => {
    expect([...CASSANDRA_CONSISTENCIES].sort()).toEqual(Object.keys(types.consistencies).sort());
  });

  it("fails to open with a message naming the hosts when nothing listens", async () => {
    await expect(
      CassandraClient.open("cassandra://127.0.0.1:1/orbit?dc=dc1", { connectTimeoutMs: 1000 }),
    ).rejects.toThrow(/cannot connect to Cassandra at 127\.0\.0\.1:1 \(dc dc1, keyspace orbit\)/);
  });
});

describe("Cassandra value mapping", () => {
  // The driver's own encoder with the client's encoding options: values go
  // through the same bytes as on the wire.
  const Encoder = createRequire(import.meta.url)("cassandra-driver/lib/encoder.js") as new (
    v: number,
    o: object,
  ) => { encode(v: unknown, t: string): Buffer; decode(b: Buffer, t: { code: number }): unknown };
  const encoder = new Encoder(4, cassandraClientOptions(parseCassandraUrl("cassandra://h/ks")));
  const codes = types.dataTypes as unknown as Record<string, number>;
  const col = (cql: string, encoding: ColumnSpec["encoding"], extra: Partial<ColumnSpec> = {}): ColumnSpec => ({
    name: "c",
    field: "c",
    encoding,
    sqlite: "",
    mysql: "",
    cql,
    nullable: true,
    ...extra,
  });
  const cases: [ColumnSpec, WideValue[]][] = [
    [col("int", "int"), [-2147483648, 0, 2147483647]],
    [col("int", "enum"), [0, 2]],
    [col("bigint", "int", { unsigned: true }), [0, 4294967295]],
    [col("bigint", "bigint"), [-(2n ** 63n), -1n, 0n, 2n ** 63n - 1n]],
    [col("varint", "bigint", { unsigned: true }), [0n, 2n ** 63n, 2n ** 64n - 1n]],
    [col("counter", "bigint", { counter: true }), [-5n, 2n ** 63n - 1n]],
    [col("double", "double"), [-0.5, 1e308]],
    [col("float", "double"), [1.5, -2]],
    [col("boolean", "bool"), [true, false]],
    [col("text", "string"), ["", "héllo 中文 🚀"]],
    [col("text", "json"), ['{"x":1}']],
    [col("blob", "bytes"), [new Uint8Array(0), new Uint8Array([0, 255, 7])]],
    [col("blob", "proto"), [new Uint8Array([8, 1])]],
  ];
  it.each(cases)("round-trips %s values through the driver's encoder", (c, values) => {
    for (const v of values) {
      const wire = encoder.encode(toCql(c, v), c.cql);
      expect(fromCql(c, encoder.decode(wire, { code: codes[c.cql]! }))).toEqual(v);
    }
    expect(toCql(c, null)).toBeNull();
    expect(fromCql(c, null)).toBeNull();
  });
});
