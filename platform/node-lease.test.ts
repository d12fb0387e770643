/**
 * Node id leases on both real stores: concurrent claimers get different ids,
 * an expired lease is taken over (and its holder finds it lost and stops),
 * a renewed one is kept, a released one is reused after its last id, and a
 * holder that cannot renew stops making ids at its ceiling.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idTimeMs } from "./ids.js";
import { silentLogger } from "./log.js";
import { NODE_LEASES, NodeLease, type NodeLeaseOptions } from "./node-lease.js";
import { isStoreUnavailable } from "./storage/unavailable.js";
import { mysqlStore, sqliteStore, type TestStore } from "../test/support/stores.js";
import { waitFor } from "../test/support/wait.js";

const log = silentLogger();

describe.each([
  ["sqlite", async () => sqliteStore()],
  ["mysql", mysqlStore],
] as const)("node id leases on %s", (_name, open) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(async () => {
    await store?.dispose();
  });

  /** Each test on its own empty table. */
  async function fresh(): Promise<void> {
    await store.db.exec(`DROP TABLE IF EXISTS ${NODE_LEASES}`);
  }

  const claim = (opts: Partial<NodeLeaseOptions> = {}) => NodeLease.claim(store.db, { log, ...opts });

  /** Whether node id `id`'s lease has run out on the database's clock. */
  async function expired(id: number): Promise<boolean> {
    const now =
      store.db.dialect === "mysql"
        ? "CAST(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 AS SIGNED)"
        : "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";
    const r = await store.db.get<{ e: unknown }>(
      `SELECT CASE WHEN lease_until_ms < ${now} THEN 1 ELSE 0 END AS e FROM ${NODE_LEASES} WHERE node_id = ?`,
      [id],
    );
    return Number(r?.e) === 1;
  }

  it("gives concurrent claimers different ids, lowest first", async () => {
    await fresh();
    const leases = await Promise.all(Array.from({ length: 8 }, () => claim()));
    expect(leases.map((l) => l.nodeId).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const ids = leases.flatMap((l) => Array.from({ length: 100 }, () => l.ids.next()));
    expect(new Set(ids).size).toBe(ids.length);
    await Promise.all(leases.map((l) => l.release()));
  });

  it("lets a new claimer take an expired lease; the old holder finds it lost and makes no more ids", async () => {
    await fresh();
    const lost: Error[] = [];
    const a = await claim({ ttlMs: 300, onLost: (e) => lost.push(e) });
    expect(a.nodeId).toBe(0);
    const aIds = Array.from({ length: 50 }, () => a.ids.next());
    const busy = await claim(); // while a's lease runs: another id
    expect(busy.nodeId).toBe(1);
    await waitFor(() => expired(0), "node 0's lease to expire");
    const b = await claim();
    expect(b.nodeId).toBe(0);
    const first = b.ids.next();
    // Same node id, yet b's ids come after every id a made (and a's ceiling): no collision possible.
    expect(aIds.every((id) => id < first)).toBe(true);
    expect(idTimeMs(first)).toBeGreaterThan(idTimeMs(aIds.at(-1)!));
    await a.renew();
    expect(a.held).toBe(false);
    expect(lost).toHaveLength(1);
    expect(() => a.ids.next()).toThrow(/lease was lost/);
    // The new holder keeps renewing.
    await b.renew();
    expect(b.held).toBe(true);
    await Promise.all([b.release(), busy.release(), a.release()]);
  });

  it("keeps a lease that is renewed", async () => {
    await fresh();
    const a = await claim({ ttlMs: 400 });
    const until = async () =>
      Number((await store.db.get<{ u: unknown }>(`SELECT lease_until_ms AS u FROM ${NODE_LEASES}`))?.u);
    const before = await until();
    // Renew until the database's clock is past the first lease's end: the lease must still hold.
    await waitFor(async () => {
      await a.renew();
      return (await until()) > before + 400;
    }, "renewals to carry the lease past its first end");
    expect(await expired(0)).toBe(false);
    expect(a.held).toBe(true);
    const b = await claim();
    expect(b.nodeId).toBe(1);
    a.ids.next();
    await Promise.all([a.release(), b.release()]);
  });

  it("reuses a released id, starting after the last id its holder made", async () => {
    await fresh();
    let t = Date.now() + 60_000; // a holder whose clock runs a minute ahead
    const a = await claim({ now: () => t });
    const last = Array.from({ length: 10 }, () => a.ids.next()).at(-1)!;
    await a.release();
    expect(() => a.ids.next()).toThrow(/released/);
    t = Date.now();
    const b = await claim(); // its own clock a minute behind a's
    expect(b.nodeId).toBe(0);
    expect(b.ids.next() > last).toBe(true);
    await b.release();
  });

  it("stops making ids at its ceiling when renewals fail, and resumes once one succeeds", async () => {
    await fresh();
    let t = Date.now();
    const a = await claim({ ttlMs: 1_000, now: () => t });
    a.ids.next();
    t += 1_001; // a renewal's worth of time passed with no renewal (the store was unreachable)
    let err: unknown;
    try {
      a.ids.next();
    } catch (e) {
      err = e;
    }
    expect(isStoreUnavailable(err)).toBe(true); // calls answer unavailable, not a colliding id
    await a.renew();
    expect(a.held).toBe(true);
    expect(idTimeMs(a.ids.next())).toBe(t);
    await a.release();
  });

  it("refuses to claim when all 1024 ids are held", async () => {
    await fresh();
    const held = await claim();
    const rows = Array.from({ length: 1023 }, (_, i) => `(${i + 1}, 'someone', 1, 9000000000000, 0, 0)`);
    await store.db.exec(
      `INSERT INTO ${NODE_LEASES} (node_id, owner, epoch, lease_until_ms, ceiling_ms, updated_ms) VALUES ${rows.join(",")}`,
    );
    await expect(claim()).rejects.toThrow(/no node id is free/);
    await held.release();
    expect((await claim()).nodeId).toBe(0);
  });
});
