/**
 * The generated code runs: inline protos with every column kind go through
 * protoc-gen-es and the Cassandra walker (in process, as buf would run them),
 * the output is written to a temp dir and imported, and the DAO round-trips
 * rows and keeps clustering order on the real SQL stores and on the live
 * Cassandra node (when CASSANDRA_CONTACT_POINTS is set).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { create, type DescMessage, type Message } from "@bufbuild/protobuf";
import { protocGenEs } from "@bufbuild/protoc-gen-es/dist/cjs/src/protoc-gen-es-plugin.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileProto } from "../../test/support/compile-proto.js";
import { CASSANDRA_SKIP } from "../../test/support/cassandra.js";
import { ENGINES } from "../../test/support/stores.js";
import type { WideTableSpec } from "../../platform/storage/schema.js";
import { SqlWideStore } from "../../platform/storage/wide/sql-store.js";
import type { WideStore } from "../../platform/storage/wide/store.js";
import { cassandraWideEnv } from "../../test/support/wide/engines.js";
import { createWideSqlTables } from "../../test/support/wide/sql-tables.js";
import { plugin } from "./main.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const proto = `syntax = "proto3";
package demo.v1;
import "orbit/options/v1/options.proto";
enum Color { COLOR_UNSPECIFIED = 0; COLOR_RED = 1; COLOR_BLUE = 2; }
message Pt { int32 x = 1; int32 y = 2; }
message KitchenWideRow {
  option (orbit.options.v1.table) = { wide: { name: "kitchen_wide" partition_key: ["k", "color"]
    clustering: { column: "flag" } clustering: { column: "ratio" order: ORDER_DESC } clustering: { column: "bin" } } };
  string k = 1; Color color = 2; bool flag = 3; double ratio = 4; bytes bin = 5;
  Pt pt = 6; repeated string tags = 7; map<string, int32> counts = 8;
  repeated Pt pts = 9 [(orbit.options.v1.column).json = true];
  Pt pt_json = 10 [(orbit.options.v1.column).json = true];
  uint32 u = 11; optional int64 maybe = 12; float f = 13; sint64 s = 14; fixed64 fx = 15;
}`;

interface Dao {
  put(row: unknown, opts?: unknown): Promise<void>;
  get(key: unknown): Promise<Message | undefined>;
  scan(partition: unknown, opts?: unknown): Promise<{ rows: Message[]; nextPageToken: string }>;
}

let dir: string;
let mod: {
  KitchenWideRowDao: new (store: unknown) => Dao;
  KitchenWideRowTable: WideTableSpec;
  wideTables: WideTableSpec[];
};
let schema: DescMessage;

beforeAll(async () => {
  const { request } = compileProto({ "demo/v1/kitchen.proto": proto });
  dir = mkdtempSync(join(tmpdir(), "orbit-wide-gen-"));
  // The generated files import ../platform/… and @bufbuild/protobuf from gen/'s parent.
  symlinkSync(join(root, "platform"), join(dir, "platform"));
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  mkdirSync(join(dir, "gen"));
  symlinkSync(join(root, "gen", "orbit"), join(dir, "gen", "orbit")); // options_pb.ts
  for (const p of [protocGenEs, plugin]) {
    const res = p.run(request);
    if (res.error) throw new Error(res.error);
    for (const f of res.file) {
      mkdirSync(dirname(join(dir, "gen", f.name)), { recursive: true });
      writeFileSync(join(dir, "gen", f.name), f.content);
    }
  }
  mod = await import(pathToFileURL(join(dir, "gen/demo/v1/kitchen_wide.ts")).href);
  const pb = await import(pathToFileURL(join(dir, "gen/demo/v1/kitchen_pb.ts")).href);
  schema = pb.KitchenWideRowSchema as DescMessage;
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Each engine as a wide store with the generated tables created, and how to dispose of it. */
const WIDE_STORES: { name: string; skip?: string; open(): Promise<{ store: WideStore; dispose(): Promise<void> }> }[] =
  [
    ...ENGINES.map((engine) => ({
      name: engine.name,
      async open() {
        const test = await engine.open();
        await createWideSqlTables(test.db, mod.wideTables);
        return { store: new SqlWideStore(test.db), dispose: () => test.dispose() };
      },
    })),
    { name: "cassandra", skip: CASSANDRA_SKIP, open: () => cassandraWideEnv(mod.wideTables, "orbit_gen") },
  ];

describe.each(WIDE_STORES)("generated wide DAO on $name", (engine) => {
  it.skipIf(engine.skip !== undefined)(
    "round-trips every column kind and orders bool, double DESC and bytes clustering columns",
    async () => {
      const { store, dispose } = await engine.open();
      try {
        const dao = new mod.KitchenWideRowDao(store);
        const full = create(schema, {
          k: "kitchen",
          color: 2,
          flag: true,
          ratio: -0.5,
          bin: new Uint8Array([0xff, 0x00]),
          pt: { x: 1, y: -2 },
          tags: ["a", "β"],
          counts: { one: 1, two: 2 },
          pts: [
            { x: 3, y: 4 },
            { x: 5, y: 6 },
          ],
          ptJson: { x: 7, y: 8 },
          u: 4294967295,
          maybe: -9n,
          f: 1.5,
          s: -(2n ** 63n),
          fx: 2n ** 64n - 1n,
        } as never);
        await dao.put(full);
        const key = { k: "kitchen", color: 2, flag: true, ratio: -0.5, bin: new Uint8Array([0xff, 0x00]) };
        expect(await dao.get(key)).toEqual(full);
        const bare = { k: "kitchen", color: 2, flag: false, ratio: 0, bin: new Uint8Array(0) };
        await dao.put(bare);
        expect(await dao.get(bare)).toEqual(create(schema, bare as never));
        const keys: [boolean, number, number[]][] = [
          [true, 2.5, [1]],
          [false, 1, [0xff]],
          [false, 1, [0x00, 0x01]],
          [true, 2.5, [0]],
          [false, 3, []],
        ];
        for (const [flag, ratio, bin] of keys)
          await dao.put({ k: "order", color: 1, flag, ratio, bin: new Uint8Array(bin) });
        const page = await dao.scan({ k: "order", color: 1 });
        const got = page.rows.map((r) => {
          const x = r as unknown as { flag: boolean; ratio: number; bin: Uint8Array };
          return [x.flag, x.ratio, [...x.bin]];
        });
        expect(got).toEqual([
          [false, 3, []],
          [false, 1, [0x00, 0x01]],
          [false, 1, [0xff]],
          [true, 2.5, [0]],
          [true, 2.5, [1]],
        ]);
      } finally {
        await dispose();
      }
    },
  );
});
