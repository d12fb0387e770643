/**
 * `npm run bench -- events [--events N] [--latency-seconds S] [--only sqlite|mariadb]`
 *
 * The event bus on SQLite and MariaDB, in one run:
 *  1. baseline: raw multi-row INSERTs of the same encoded rows into the same
 *     log table through the raw driver (1024 rows per prepared statement);
 *  2. end-to-end: N events published through the bus's batcher and handled
 *     by a consumer group (position committed in the handler's transaction),
 *     events/s from the first publish to the last handle;
 *  3. latency: a steady 10,000 events/s for S seconds, p50/p99 from the
 *     publish call to the handler call.
 * Goals (2 cores): MariaDB ≥ 100,000 events/s end-to-end, ≥ 0.6× the raw
 * insert baseline, p99 ≤ 50 ms at 10,000 events/s.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { ContractHappenedSchema, type ContractHappened } from "../../gen/orbit/contract/v1/events_pb.js";
import { EventBus } from "../../platform/events/bus.js";
import { silentLogger } from "../../platform/events/logger.js";
import { insertSql, type LogRow } from "../../platform/events/log-writer.js";
import { ensureEventTables } from "../../platform/events/tables.js";
import type { SqlDb } from "../../platform/storage/driver.js";
import { MysqlDb } from "../../platform/storage/mysql.js";
import { openSqlStore } from "../../platform/storage/open.js";
import { SqliteDb } from "../../platform/storage/sqlite.js";
import { fmt, percentile } from "./_measure.js";
import { scratchMysql } from "./_mysql-db.js";

const CONSUMER_CHILD = new URL("./_events-consumer.ts", import.meta.url).pathname;
const BODY = new Uint8Array(32).fill(7);
const KEYS = Array.from({ length: 1000 }, (_, i) => `user-${i}`);

interface EngineFigures {
  rawInsertPerSec: number;
  endToEndPerSec: number;
  ratio: number;
  /** Producer here, consumer group in a child process. */
  splitEndToEndPerSec: number;
  splitRatio: number;
  latencyRate: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function message(seq: number): ContractHappened {
  return create(ContractHappenedSchema, {
    key: KEYS[seq % KEYS.length]!,
    producer: "bench",
    seq: BigInt(seq),
    body: BODY,
  });
}

function rowOf(seq: number): LogRow {
  const m = message(seq);
  return {
    topic: "contract.happened",
    key: m.key,
    payload: toBinary(ContractHappenedSchema, m),
    createdMs: Date.now(),
  };
}

function progress(label: string): { tick(done: number, total: number): void; end(msg: string): void } {
  let last = 0;
  return {
    tick(done, total) {
      const now = performance.now();
      if (now - last < 1000) return;
      last = now;
      process.stdout.write(`\r  ${label} … ${fmt(done)} / ${fmt(total)}   `);
    },
    end(msg) {
      process.stdout.write(`\r  ${label} … ${msg}${" ".repeat(20)}\n`);
    },
  };
}

/** Raw multi-row INSERTs of pre-encoded rows, one statement in flight, like the batcher. */
async function rawInsert(db: SqlDb, n: number): Promise<number> {
  const CHUNK = 1024;
  const rows = Array.from({ length: CHUNK * 8 }, (_, i) => rowOf(i));
  const sql = insertSql(CHUNK);
  const paramsOf = (from: number) => {
    const p: unknown[] = new Array(CHUNK * 4);
    for (let j = 0; j < CHUNK; j++) {
      const r = rows[(from + j) % rows.length]!;
      p[j * 4] = r.topic;
      p[j * 4 + 1] = r.key;
      p[j * 4 + 2] = r.payload;
      p[j * 4 + 3] = r.createdMs;
    }
    return p;
  };
  const bar = progress("raw multi-row INSERT");
  let insert: (p: unknown[]) => Promise<unknown> | unknown;
  if (db instanceof SqliteDb) {
    const stmt = db.raw.prepare(sql);
    insert = (p) => stmt.run(...(p.map((v) => (v instanceof Uint8Array ? Buffer.from(v) : v)) as never[]));
  } else {
    const pool = (db as MysqlDb).pool;
    insert = (p) => pool.execute(sql, p.map((v) => (v instanceof Uint8Array ? Buffer.from(v) : v)) as never);
  }
  await insert(paramsOf(0)); // warm-up (prepare)
  const t0 = performance.now();
  for (let i = 0; i < n; i += CHUNK) {
    await insert(paramsOf(i));
    bar.tick(i + CHUNK, n);
  }
  const perSec = Math.round(n / ((performance.now() - t0) / 1000));
  bar.end(`${fmt(perSec)} rows/s`);
  return perSec;
}

/** N events through the batcher to a consumer group; events/s from first publish to last handle. */
async function endToEnd(db: SqlDb, n: number): Promise<number> {
  const bus = await EventBus.open(db, { logger: silentLogger, owner: "bench" });
  let handled = 0;
  let checksum = 0n;
  let doneAt = 0;
  let allHandled!: () => void;
  const finished = new Promise<void>((r) => (allHandled = r));
  bus.consume({
    group: "bench.e2e",
    events: [ContractHappenedSchema],
    batchSize: 4096,
    startFrom: "latest",
    handleBatch: (events) => {
      for (const e of events) checksum += (e.message as ContractHappened).seq; // a handler reads its events
      handled += events.length;
      if (handled >= n && !doneAt) {
        doneAt = performance.now();
        allHandled();
      }
    },
  });
  await new Promise((r) => setTimeout(r, 200)); // consumer active
  const bar = progress("end-to-end publish → handle");
  const t0 = performance.now();
  const WINDOW = 8192;
  const windows: Promise<unknown>[] = [];
  for (let i = 0; i < n; i += WINDOW) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(n, i + WINDOW); j++) batch.push(bus.publish(ContractHappenedSchema, message(j)));
    windows.push(Promise.all(batch));
    if (windows.length > 2) await windows.shift(); // at most 3 windows in flight
    bar.tick(handled, n);
  }
  const ticker = setInterval(() => bar.tick(handled, n), 250);
  await Promise.all(windows);
  await finished;
  clearInterval(ticker);
  const perSec = Math.round(n / ((doneAt - t0) / 1000));
  bar.end(`${fmt(perSec)} events/s`);
  await bus.close();
  if (checksum !== (BigInt(n) * BigInt(n - 1)) / 2n) throw new Error("end-to-end run lost or doubled events");
  return perSec;
}

/**
 * End-to-end with the consumer in another process (the JavaScript work of
 * each side on its own core): events/s from the first publish here to the
 * last handle there.
 */
async function endToEndSplit(db: SqlDb, n: number): Promise<number> {
  const child = spawn(process.execPath, ["--import", "tsx", CONSUMER_CHILD, db.url, String(n)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: Array<Record<string, unknown>> = [];
  let wake: () => void = () => undefined;
  let out = "";
  child.stdout!.on("data", (d) => {
    out += String(d);
    let i;
    while ((i = out.indexOf("\n")) >= 0) {
      lines.push(JSON.parse(out.slice(0, i)) as Record<string, unknown>);
      out = out.slice(i + 1);
      wake();
    }
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => (r(code), wake())));
  const next = async () => {
    while (lines.length === 0) {
      if (child.exitCode !== null) throw new Error(`bench consumer exited with ${child.exitCode}`);
      await new Promise<void>((r) => (wake = r));
    }
    return lines.shift()!;
  };
  await next(); // ready
  const bus = await EventBus.open(db, { logger: silentLogger, owner: "bench-split-producer" });
  const bar = progress("end-to-end, consumer in another process");
  const t0 = Date.now();
  const windows: Promise<unknown>[] = [];
  for (let i = 0; i < n; i += 8192) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(n, i + 8192); j++) batch.push(bus.publish(ContractHappenedSchema, message(j)));
    windows.push(Promise.all(batch));
    if (windows.length > 2) await windows.shift();
    bar.tick(i, n);
  }
  await Promise.all(windows);
  const done = await next();
  await exited;
  await bus.close();
  if (done.checksum !== String((BigInt(n) * BigInt(n - 1)) / 2n)) throw new Error("split run lost or doubled events");
  const perSec = Math.round(n / (((done.lastMs as number) - t0) / 1000));
  bar.end(`${fmt(perSec)} events/s`);
  return perSec;
}

/** A steady `perSec` for `seconds`; latency from the publish call to the handler call. */
async function latency(db: SqlDb, perSec: number, seconds: number): Promise<{ p50: number; p99: number; max: number }> {
  const bus = await EventBus.open(db, { logger: silentLogger, owner: "bench-latency" });
  const total = Math.round(perSec * seconds);
  const sentAt = new Float64Array(total);
  const lat: number[] = [];
  bus.consume({
    group: "bench.latency",
    events: [ContractHappenedSchema],
    batchSize: 1000,
    startFrom: "latest",
    handle: (e) => {
      const seq = Number((e.message as ContractHappened).seq);
      lat.push(performance.now() - sentAt[seq]!);
    },
  });
  await new Promise((r) => setTimeout(r, 200));
  const bar = progress(`latency at ${fmt(perSec)} events/s`);
  const t0 = performance.now();
  let sent = 0;
  const pending: Promise<void>[] = [];
  while (sent < total) {
    // Drift-corrected schedule: as many as should have been sent by now.
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * perSec));
    for (; sent < due; sent++) {
      sentAt[sent] = performance.now();
      pending.push(bus.publish(ContractHappenedSchema, message(sent)));
    }
    bar.tick(lat.length, total);
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  const deadline = performance.now() + 10_000;
  while (lat.length < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  await bus.close();
  const warm = lat.slice(Math.floor(lat.length * 0.1)).sort((a, b) => a - b); // first 10% is warm-up
  const r = { p50: round(percentile(warm, 50)), p99: round(percentile(warm, 99)), max: round(warm.at(-1) ?? 0) };
  bar.end(`p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms (${fmt(lat.length)} of ${fmt(total)} handled)`);
  return r;
}

const round = (x: number) => Math.round(x * 100) / 100;

async function runEngine(
  name: string,
  fresh: () => Promise<{ db: SqlDb; dispose(): Promise<void> }>,
  n: number,
  latencySeconds: number,
): Promise<EngineFigures> {
  console.log(`${name}:`);
  const run = async <T>(fn: (db: SqlDb) => Promise<T>): Promise<T> => {
    const s = await fresh();
    try {
      await ensureEventTables(s.db);
      return await fn(s.db);
    } finally {
      await s.dispose();
    }
  };
  // Alternate baseline and bus rounds so drift in the machine's load hits both alike.
  const ROUNDS = 3;
  const per = Math.ceil(n / ROUNDS);
  let rawSec = 0;
  let busSec = 0;
  for (let r = 0; r < ROUNDS; r++) {
    rawSec += per / (await run((db) => rawInsert(db, per)));
    busSec += per / (await run((db) => endToEnd(db, per)));
  }
  const rawInsertPerSec = Math.round((per * ROUNDS) / rawSec);
  const endToEndPerSec = Math.round((per * ROUNDS) / busSec);
  console.log(
    `  raw INSERT ${fmt(rawInsertPerSec)} rows/s, end-to-end ${fmt(endToEndPerSec)} events/s (${ROUNDS} rounds each)`,
  );
  const splitPerSec = await run((db) => endToEndSplit(db, per * 2));
  const lat = await run((db) => latency(db, 10_000, latencySeconds));
  const ratio = round(endToEndPerSec / rawInsertPerSec);
  const splitRatio = round(splitPerSec / rawInsertPerSec);
  console.log(`  ratio end-to-end / raw insert: ${ratio} (consumer in another process: ${splitRatio})`);
  return {
    rawInsertPerSec,
    endToEndPerSec,
    ratio,
    splitEndToEndPerSec: splitPerSec,
    splitRatio,
    latencyRate: 10_000,
    p50Ms: lat.p50,
    p99Ms: lat.p99,
    maxMs: lat.max,
  };
}

function freshSqlite() {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "orbit-bench-events-"));
    const db = openSqlStore(`sqlite:${join(dir, "events.db")}`);
    return {
      db,
      async dispose() {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
}

function freshMysql() {
  let k = 0;
  return async () => {
    return scratchMysql(`orbit_bench_events_${process.pid}_${k++}`);
  };
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function main(args: string[]): Promise<void> {
  const n = Number(arg(args, "--events") ?? 300_000);
  const latencySeconds = Number(arg(args, "--latency-seconds") ?? 5);
  const only = arg(args, "--only");
  if (!(n > 0) || !(latencySeconds > 0)) throw new Error("--events and --latency-seconds must be positive numbers");
  console.log(`event bus: ${fmt(n)} events per throughput run, ${latencySeconds} s at 10,000 events/s`);
  const out: Record<string, unknown> = { scenario: "events", events: n };
  if (!only || only === "sqlite") out.sqlite = await runEngine("SQLite", freshSqlite(), n, latencySeconds);
  if (!only || only === "mariadb") out.mariadb = await runEngine("MariaDB", freshMysql(), n, latencySeconds);
  const main = (out.mariadb ?? out.sqlite) as EngineFigures;
  out.ratio = main.ratio;
  out.goals = {
    mariadbEndToEnd100k: out.mariadb ? (out.mariadb as EngineFigures).endToEndPerSec >= 100_000 : null,
    ratioAtLeast0_6: main.ratio >= 0.6,
    p99AtMost50ms: main.p99Ms <= 50,
  };
  console.log(JSON.stringify(out));
}
