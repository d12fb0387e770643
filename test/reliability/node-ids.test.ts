/**
 * Two bundles on one MariaDB database with no --node-id (issue 12: with the
 * old default node id 0 they collided, 292 failed writes in 30 s): started at
 * the same time, each leases its own node id, and concurrent writes to both
 * (EchoService.Note, one id each) all succeed with distinct ids. A clean stop
 * releases the leases. A bundle whose lease is taken from it exits 1.
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EchoService } from "../../gen/orbit/testing/v1/echo_pb.js";
import { NODE_LEASES } from "../../platform/node-lease.js";
import { startBundle, type BundleProcess } from "../support/bundle-process.js";
import { mysqlStore, type TestStore } from "../support/stores.js";

const WRITERS = 8;
const WRITES = 1_000; // per bundle

let store: TestStore;
let bundles: BundleProcess[] = [];
beforeAll(async () => {
  store = await mysqlStore();
  bundles = await Promise.all(
    [0, 1].map(() => startBundle(["--services", "echo", "--mysql", store.url], { readyTimeoutMs: 60_000 })),
  );
}, 90_000);
afterAll(async () => {
  await Promise.all(bundles.map((b) => b.stop()));
  await store?.dispose();
});

function leasedNodeId(b: BundleProcess): number | undefined {
  const line = b.logs().find((l) => /^node id \d+ \(leased/.test(l.msg));
  return line ? Number(line.nodeId) : undefined;
}

describe("two bundles on one database, no --node-id", () => {
  it("lease different node ids and lose no write under concurrent load", async () => {
    const nodes = bundles.map(leasedNodeId);
    expect(nodes.every((n) => n !== undefined)).toBe(true);
    expect(new Set(nodes).size).toBe(2);

    const failures: string[] = [];
    const ids: bigint[] = [];
    await Promise.all(
      bundles.map(async (b, n) => {
        const client = createClient(EchoService, createConnectTransport({ baseUrl: b.url, httpVersion: "2" }));
        let next = 0;
        await Promise.all(
          Array.from({ length: WRITERS }, async () => {
            while (next < WRITES) {
              const i = next++;
              try {
                ids.push((await client.note({ text: `b${n} #${i}` }, { timeoutMs: 10_000 })).id);
              } catch (err) {
                failures.push(`b${n} #${i}: ${(err as Error).message}`);
              }
            }
          }),
        );
      }),
    );
    expect(failures).toEqual([]);
    expect(ids).toHaveLength(2 * WRITES);
    expect(new Set(ids).size).toBe(ids.length);
    const row = await store.db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM testing_echo_notes");
    expect(Number(row?.n)).toBe(2 * WRITES);
    // Each id carries its bundle's node id.
    const byNode = new Set(ids.map((id) => Number((id >> 12n) & 1023n)));
    expect([...byNode].sort()).toEqual([...nodes].sort());

    // A clean stop frees both ids for the next bundles.
    await Promise.all(bundles.map((b) => b.stop()));
    const held = await store.db.all(`SELECT node_id FROM ${NODE_LEASES} WHERE owner IS NOT NULL`);
    expect(held).toEqual([]);
  }, 60_000);

  it("a bundle whose leased node id is taken by another owner exits 1 without making another id", async () => {
    const b = await startBundle(["--services", "echo", "--mysql", store.url], { readyTimeoutMs: 60_000 });
    bundles.push(b);
    const node = leasedNodeId(b);
    expect(node).toBe(0); // the two above released theirs
    // Another process claimed it (as if this one had been cut off past its lease); the next
    // renewal (every 10 s) finds it.
    await store.db.run(`UPDATE ${NODE_LEASES} SET owner = 'someone else', epoch = epoch + 1 WHERE node_id = ?`, [
      node!,
    ]);
    const exit = await b.exited;
    expect(exit.code).toBe(1);
    expect(b.logs().some((l) => /lease was lost.*stopping the bundle/.test(l.msg))).toBe(true);
  }, 60_000);
});
