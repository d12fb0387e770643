/**
 * Crash test: producer and consumer child processes are killed with SIGKILL
 * at random points, 20 times per engine, and restarted (a child that exits
 * any other way fails the test; a producer is killed only after it has
 * committed a write in that life, so its kills land mid-loop). After each
 * kill, no group's stored position may be ahead of the work its projection
 * shows. At the end a consumer in this process drains the log and:
 *  - every committed business write has its event, and every event its write;
 *  - every acknowledged batched publish is in the log;
 *  - both projections hold every event exactly once (hits = 1).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { fromBinary } from "@bufbuild/protobuf";
import { ENGINES, type TestStore } from "../support/stores.js";
import { ContractHappenedSchema } from "../../gen/orbit/contract/v1/events_pb.js";
import { EventBus } from "../../platform/events/bus.js";
import { GROUPS, LOG } from "../../platform/events/tables.js";
import { BUS_OPTIONS, createCrashTables, startConsumers } from "../support/events/crash-roles.js";
import { sleep, waitFor } from "../support/wait.js";

const CHILD = fileURLToPath(new URL("../support/events/crash-child.ts", import.meta.url));
/** Four children (two producers, two consumers competing for the groups), each killed this often. */
const KILLS_PER_CHILD = 5;

interface Child {
  proc: ChildProcess;
  ready: Promise<void>;
  exited: Promise<void>;
}

function spawnChild(role: string, url: string, name: string): Child {
  const proc = spawn(process.execPath, ["--import", "tsx", CHILD, role, url, name], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  proc.stderr!.on("data", (d) => (err += String(d)));
  const ready = new Promise<void>((resolve, reject) => {
    proc.stdout!.on("data", (d) => String(d).includes("ready") && resolve());
    proc.on("exit", (code, sig) => reject(new Error(`${role} ${name} exited (${code ?? sig}) before ready: ${err}`)));
  });
  const exited = new Promise<void>((resolve, reject) =>
    proc.on("exit", (code, sig) =>
      sig === "SIGKILL" ? resolve() : reject(new Error(`${role} ${name} died on its own (${code ?? sig}): ${err}`)),
    ),
  );
  exited.catch(() => undefined);
  return { proc, ready, exited };
}

describe.each(ENGINES)("crash test on $name", ({ open }) => {
  let store: TestStore;
  const children = new Set<Child>();
  afterEach(async () => {
    for (const c of children) c.proc.kill("SIGKILL");
    await Promise.all([...children].map((c) => c.exited.catch(() => undefined)));
    children.clear();
    await store.dispose();
  });

  it("loses nothing and never has a position ahead of the work done", { timeout: 240_000 }, async () => {
    store = await open();
    const db = store.db;
    await createCrashTables(db);
    // The bus's tables exist before the children race to create them.
    await (await EventBus.open(db, BUS_OPTIONS)).close();

    /** Events at or below a group's stored position that its projection lacks. */
    const aheadOfWork = async () => {
      const out: Record<string, number> = {};
      for (const [group, table] of [
        ["tx", "projection_tx"],
        ["after", "projection_after"],
      ] as const) {
        const pos = await db.get<{ p: unknown }>(`SELECT position AS p FROM ${GROUPS} WHERE group_name = ?`, [group]);
        if (!pos) continue;
        const missing = await db.get<{ n: unknown }>(
          `SELECT COUNT(*) AS n FROM ${LOG} l WHERE l.id <= ? AND NOT EXISTS (SELECT 1 FROM ${table} p WHERE p.event_id = l.id)`,
          [pos.p as bigint],
        );
        out[group] = Number(missing!.n);
      }
      return out;
    };

    let kills = 0;
    const violations: string[] = [];
    const producedBy = async (name: string) =>
      Number((await db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM produced WHERE producer = ?", [name]))!.n);
    const killLoop = async (role: "producer" | "consumer", name: string) => {
      for (let i = 0; i < KILLS_PER_CHILD; i++) {
        const before = role === "producer" ? await producedBy(name) : 0;
        const child = spawnChild(role, store.url, name);
        children.add(child);
        await child.ready;
        // A producer is killed only once it has committed a write of its own,
        // so every producer kill lands inside its write loop, not before it.
        if (role === "producer")
          await waitFor(async () => (await producedBy(name)) > before, `${name} to write`, 30_000);
        await sleep(Math.random() * 200);
        child.proc.kill("SIGKILL");
        await child.exited;
        children.delete(child);
        kills++;
        const ahead = await aheadOfWork();
        if (Object.values(ahead).some((n) => n > 0)) violations.push(`after kill ${kills}: ${JSON.stringify(ahead)}`);
      }
    };
    await Promise.all([
      killLoop("producer", "p1"),
      killLoop("producer", "p2"),
      killLoop("consumer", "c1"),
      killLoop("consumer", "c2"),
    ]);
    expect(violations).toEqual([]);

    // Drain with a consumer in this process (it takes the groups over once the
    // killed consumer's lease expires).
    const bus = await EventBus.open(db, { ...BUS_OPTIONS, owner: "drain" });
    try {
      startConsumers(db, bus);
      const total = Number((await db.get<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${LOG}`))!.n);
      expect(total).toBeGreaterThan(0);
      const count = async (t: string) => Number((await db.get<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${t}`))!.n);
      await waitFor(
        async () => (await count("projection_tx")) >= total && (await count("projection_after")) >= total,
        `both projections to hold ${total} events`,
        30_000,
      );
    } finally {
      await bus.close();
    }
    expect(await aheadOfWork()).toEqual({ tx: 0, after: 0 });

    const events = new Set<string>();
    const doubled: string[] = [];
    for (const r of await db.all<{ payload: Uint8Array }>(`SELECT payload FROM ${LOG}`)) {
      const m = fromBinary(ContractHappenedSchema, r.payload);
      const k = `${m.producer}/${m.seq}`;
      if (events.has(k)) doubled.push(k);
      events.add(k);
    }
    expect(doubled).toEqual([]); // one event per write
    const keys = async (sql: string) => new Set((await db.all<{ k: string }>(sql)).map((r) => String(r.k)));
    const concat = store.db.dialect === "mysql" ? "CONCAT(producer, '/', seq)" : "producer || '/' || seq";
    const produced = await keys(`SELECT ${concat} AS k FROM produced`);
    const acked = await keys(
      `SELECT ${store.db.dialect === "mysql" ? "CONCAT(producer, '.b/', seq)" : "producer || '.b/' || seq"} AS k FROM acked`,
    );
    const txEvents = new Set([...events].filter((k) => !k.includes(".b/")));
    expect([...produced].filter((k) => !txEvents.has(k))).toEqual([]); // write committed → event exists
    expect([...txEvents].filter((k) => !produced.has(k))).toEqual([]); // event exists → write committed
    expect([...acked].filter((k) => !events.has(k))).toEqual([]); // acknowledged batched publishes survive
    for (const t of ["projection_tx", "projection_after"]) {
      expect(await db.all(`SELECT event_id, hits FROM ${t} WHERE hits <> 1`)).toEqual([]);
      expect(await count2(t)).toBe(events.size);
    }
    async function count2(t: string) {
      return Number((await db.get<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${t}`))!.n);
    }
  });
});
