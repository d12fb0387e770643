/**
 * A bundle without a node id leases one (logged), and two bundles on one
 * store get different ones; a bundle whose lease is taken by another owner
 * makes no more ids, tells onFatal and stops by itself; a clean stop releases
 * the id. A bundle given --node-id holds that id as a lease too (when free):
 * claimers skip it, and other nodes see when it is gone.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { EchoService } from "../../gen/orbit/testing/v1/echo_pb.js";
import { echo } from "../../services/echo/service.js";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { waitFor } from "../../test/support/wait.js";
import { DEFAULT_CONFIG } from "../config/config.js";
import { silentLogger } from "../log.js";
import { expiredNodeIds, NODE_LEASES } from "../node-lease.js";
import { Bundle } from "./bundle.js";
import { Registry } from "./registry.js";

const stores: TestStore[] = [];
const bundles: Bundle[] = [];
afterEach(async () => {
  for (const b of bundles.splice(0)) await b.stop();
  for (const s of stores.splice(0)) await s.dispose();
});

function start(store: TestStore, opts: { nodeLeaseTtlMs?: number; onFatal?: (err: Error) => void } = {}) {
  return Bundle.start({
    registry: new Registry([echo]),
    config: { ...DEFAULT_CONFIG, services: ["echo"] },
    db: store.db,
    listen: false,
    log: silentLogger(),
    ...opts,
  }).then((b) => (bundles.push(b), b));
}

const nodeOf = (id: bigint) => Number((id >> 12n) & 1023n);

describe("node id leases in a bundle", () => {
  it("gives two bundles on one store different node ids, and frees them on stop", async () => {
    const store = sqliteStore();
    stores.push(store);
    const [a, b] = await Promise.all([start(store), start(store)]);
    const ids = await Promise.all([a, b].map((x) => x.client(EchoService).note({ text: "hi" })));
    expect(new Set(ids.map((r) => nodeOf(r.id))).size).toBe(2);
    await Promise.all([a.stop(), b.stop()]);
    expect(await store.db.all(`SELECT node_id FROM ${NODE_LEASES} WHERE owner IS NOT NULL`)).toEqual([]);
  });

  it("warns when a --node-id is leased by another bundle of the store", async () => {
    const store = sqliteStore();
    stores.push(store);
    const leased = await start(store);
    const { id } = await leased.client(EchoService).note({ text: "hi" });
    const warnings: string[] = [];
    const log = silentLogger();
    log.warn = ((_o: unknown, msg: string) => void warnings.push(msg)) as typeof log.warn;
    const explicit = await Bundle.start({
      registry: new Registry([echo]),
      config: { ...DEFAULT_CONFIG, services: ["echo"], nodeId: nodeOf(id) },
      db: store.db,
      listen: false,
      log,
    });
    bundles.push(explicit);
    expect(warnings.some((w) => /is also leased by .* ids may collide/.test(w))).toBe(true);
  });

  it("holds a --node-id as a lease while it runs: claimers skip it, and it reads as gone once stopped", async () => {
    const store = sqliteStore();
    stores.push(store);
    const explicit = await Bundle.start({
      registry: new Registry([echo]),
      config: { ...DEFAULT_CONFIG, services: ["echo"], nodeId: 0 },
      db: store.db,
      listen: false,
      log: silentLogger(),
      nodeLeaseTtlMs: 600,
    });
    const { id } = await explicit.client(EchoService).note({ text: "hi" });
    expect(nodeOf(id)).toBe(0);
    expect(await expiredNodeIds(store.db, [0])).toEqual(new Set());
    // Renewed within its TTL: still live well after the first 600 ms.
    await new Promise((r) => setTimeout(r, 900));
    expect(await expiredNodeIds(store.db, [0])).toEqual(new Set());
    const auto = await start(store);
    const { id: other } = await auto.client(EchoService).note({ text: "hi" });
    expect(nodeOf(other)).toBe(1); // the lowest free id: 0 is held
    await explicit.stop();
    expect(await expiredNodeIds(store.db, [0])).toEqual(new Set([0]));
    // A later holder of the id starts after the last id the explicit bundle made.
    const after = await Bundle.start({
      registry: new Registry([echo]),
      config: { ...DEFAULT_CONFIG, services: ["echo"], nodeId: 0 },
      db: store.db,
      listen: false,
      log: silentLogger(),
    });
    bundles.push(after);
    const { id: next } = await after.client(EchoService).note({ text: "hi" });
    expect(next > id).toBe(true);
    expect(await expiredNodeIds(store.db, [0])).toEqual(new Set());
  });

  it("stops, and makes no more ids, once its lease is taken by another owner", async () => {
    const store = sqliteStore();
    stores.push(store);
    const fatal: Error[] = [];
    const b = await start(store, { nodeLeaseTtlMs: 600, onFatal: (e) => fatal.push(e) });
    const client = b.client(EchoService);
    const { id } = await client.note({ text: "before" });
    // Another process claimed the id (as after this one's lease expired).
    await store.db.run(`UPDATE ${NODE_LEASES} SET owner = 'someone else', epoch = epoch + 1 WHERE node_id = ?`, [
      nodeOf(id),
    ]);
    await waitFor(() => fatal.length === 1, "the next renewal to find the lease lost");
    expect(fatal[0]!.message).toMatch(/lease was lost/);
    await waitFor(() => b.state === "stopped", "the bundle to stop by itself");
    const err = await client.note({ text: "after" }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
  });
});
