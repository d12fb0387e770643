/**
 * `npm run bench -- dao [seconds]`: point get and insert through the
 * generated DAO vs. the raw driver running the same statement, on SQLite and
 * MariaDB, in one run. Goal: DAO ≥ 0.9× raw. On MariaDB also an insert made
 * as a handler makes it (in a call with a deadline, through the commit guard:
 * its own transaction). Each figure comes with the bench process's CPU time
 * per op (µs), the client side's cost, which moves less with load than ops/s.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KitchenRowDao, KitchenRowSql, KitchenRowTable } from "../../gen/orbit/contract/v1/tables_db.js";
import type { SqlDb } from "../../platform/storage/driver.js";
import { MysqlDb } from "../../platform/storage/mysql.js";
import { openSqlStore } from "../../platform/storage/open.js";
import { SqliteDb } from "../../platform/storage/sqlite.js";
import { migrate } from "../../platform/migrate/index.js";
import { runInCall, type CallScope } from "../../platform/rpc/call-scope.js";
import { guardCommits } from "../../platform/rpc/commit-guard.js";
import { silentLogger } from "../../platform/log.js";
import { scratchMysql } from "./_mysql-db.js";
import { fmt, paired, rate, rateSync, type Rate } from "./_measure.js";

const ROWS = 10_000;

function row(id: bigint) {
  return {
    id,
    ownerId: id % 100n,
    slug: `slug-${id}`,
    title: "A title of modest length",
    createdAtMs: 1_700_000_000_000n + id,
    score: 7,
  };
}

/** Parameters exactly as the DAO binds them (same statement, same values). */
function params(id: bigint): unknown[] {
  const r = row(id);
  return [r.id, r.ownerId, r.slug, r.title, Buffer.alloc(0), 0, 0, 0n, 0, 0, null, "[]", null, r.createdAtMs, r.score];
}

interface Result {
  getDao: Rate;
  getRaw: Rate;
  insertDao: Rate;
  insertRaw: Rate;
  /** MariaDB: an insert made for an RPC (under its deadline, through the commit guard) and the raw insert beside it. */
  inCall?: { dao: Rate; raw: Rate };
}

function report(engine: string, r: Result) {
  const g = r.getDao.opsPerSec / r.getRaw.opsPerSec;
  const ins = r.insertDao.opsPerSec / r.insertRaw.opsPerSec;
  console.log(
    `${engine}: point get  DAO ${fmt(r.getDao.opsPerSec)}/s  raw ${fmt(r.getRaw.opsPerSec)}/s  ratio ${g.toFixed(2)}`,
  );
  console.log(
    `${engine}: insert     DAO ${fmt(r.insertDao.opsPerSec)}/s  raw ${fmt(r.insertRaw.opsPerSec)}/s  ratio ${ins.toFixed(2)}`,
  );
  console.log(
    `${engine}: bench-process CPU per op, µs: get DAO ${r.getDao.cpuUsPerOp} raw ${r.getRaw.cpuUsPerOp}; insert DAO ${r.insertDao.cpuUsPerOp} raw ${r.insertRaw.cpuUsPerOp}`,
  );
  const inCall = r.inCall && r.inCall.dao.opsPerSec / r.inCall.raw.opsPerSec;
  if (r.inCall) {
    console.log(
      `${engine}: insert in a call (deadline, commit guard)  DAO ${fmt(r.inCall.dao.opsPerSec)}/s  raw ${fmt(r.inCall.raw.opsPerSec)}/s  ratio ${inCall!.toFixed(2)}  (CPU µs/op ${r.inCall.dao.cpuUsPerOp} / ${r.inCall.raw.cpuUsPerOp})`,
    );
  }
  return {
    ...(r.inCall && {
      insertInCall: {
        dao: r.inCall.dao.opsPerSec,
        raw: r.inCall.raw.opsPerSec,
        ratio: +inCall!.toFixed(3),
        cpuUsPerOp: { dao: r.inCall.dao.cpuUsPerOp, raw: r.inCall.raw.cpuUsPerOp },
      },
    }),
    getDao: r.getDao.opsPerSec,
    getRaw: r.getRaw.opsPerSec,
    getRatio: +g.toFixed(3),
    insertDao: r.insertDao.opsPerSec,
    insertRaw: r.insertRaw.opsPerSec,
    insertRatio: +ins.toFixed(3),
    cpuUsPerOp: {
      getDao: r.getDao.cpuUsPerOp,
      getRaw: r.getRaw.cpuUsPerOp,
      insertDao: r.insertDao.cpuUsPerOp,
      insertRaw: r.insertRaw.cpuUsPerOp,
    },
  };
}

async function seed(db: SqlDb, dao: KitchenRowDao) {
  await migrate(db, [KitchenRowTable], { dataMigrations: [] });
  process.stdout.write(`  seeding ${fmt(ROWS)} rows … `);
  const rows = Array.from({ length: ROWS }, (_, i) => row(BigInt(i + 1)));
  for (let i = 0; i < rows.length; i += 1000) await dao.insertMany(rows.slice(i, i + 1000));
  console.log("done");
}

async function benchSqlite(seconds: number): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), "orbit-bench-"));
  const db = openSqlStore(`sqlite:${join(dir, "bench.db")}`) as SqliteDb;
  try {
    const dao = new KitchenRowDao(db);
    console.log("SQLite:");
    await seed(db, dao);
    const getStmt = db.raw.prepare(KitchenRowSql.sqlite.get).safeIntegers(true);
    const insStmt = db.raw.prepare(KitchenRowSql.sqlite.insert);
    const id = (i: number) => BigInt((i % ROWS) + 1);
    process.stdout.write("  point get … ");
    const [getRaw, getDao] = await paired(
      () => rateSync((i) => getStmt.get(id(i)), seconds / 3),
      () => rate((i) => dao.get({ id: id(i) }), seconds / 3),
    );
    console.log("done");
    process.stdout.write("  insert … ");
    let next = 1_000_000n;
    const [insertRaw, insertDao] = await paired(
      () => rateSync(() => insStmt.run(...(params(next++) as never[])), seconds / 3),
      () => rate(() => dao.insert(row(next++)), seconds / 3),
    );
    console.log("done");
    return { getDao, getRaw, insertDao, insertRaw };
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchMysql(seconds: number, concurrency: number): Promise<Result> {
  const scratch = await scratchMysql(`orbit_bench_dao_${process.pid}`, { pool: concurrency });
  const db = scratch.db;
  try {
    const dao = new KitchenRowDao(db);
    console.log(`MariaDB (${concurrency} in flight):`);
    await seed(db, dao);
    const id = (i: number) => BigInt((i % ROWS) + 1);
    const sqlGet = KitchenRowSql.mysql.get;
    const sqlIns = KitchenRowSql.mysql.insert;
    process.stdout.write("  point get … ");
    const [getRaw, getDao] = await paired(
      () => rate((i) => db.pool.execute(sqlGet, [id(i).toString()]), seconds / 3, concurrency),
      () => rate((i) => dao.get({ id: id(i) }), seconds / 3, concurrency),
    );
    console.log("done");
    process.stdout.write("  insert … ");
    let next = 1_000_000n;
    const [insertRaw, insertDao] = await paired(
      () =>
        rate(
          () => db.pool.execute(sqlIns, params(next++).map((v) => (typeof v === "bigint" ? v.toString() : v)) as never),
          seconds / 3,
          concurrency,
        ),
      () => rate(() => dao.insert(row(next++)), seconds / 3, concurrency),
    );
    console.log("done");
    // As a handler writes: inside a call with a deadline, through the commit guard (a single write
    // then commits in a transaction of its own, so it cannot commit after the caller gave up).
    process.stdout.write("  insert in a call … ");
    const guarded = new KitchenRowDao(guardCommits(db));
    const scope: CallScope = {
      procedure: "/bench.Dao/Insert",
      protocol: "in-process",
      requestId: "bench",
      trace: { traceId: "0".repeat(32), spanId: "0".repeat(16), sampled: false } as never,
      identity: undefined,
      fromService: true,
      deadline: Date.now() + 3_600_000,
      signal: new AbortController().signal,
      failedEarly: undefined,
      log: silentLogger(),
    };
    const [inCallRaw, inCallDao] = await paired(
      () =>
        rate(
          () => db.pool.execute(sqlIns, params(next++).map((v) => (typeof v === "bigint" ? v.toString() : v)) as never),
          seconds / 3,
          concurrency,
        ),
      () => rate(() => runInCall(scope, () => guarded.insert(row(next++))), seconds / 3, concurrency),
    );
    console.log("done");
    return { getDao, getRaw, insertDao, insertRaw, inCall: { dao: inCallDao, raw: inCallRaw } };
  } finally {
    await scratch.dispose();
  }
}

export async function main(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 3);
  const sqlite = report("sqlite", await benchSqlite(seconds));
  const mariadb = report("mariadb", await benchMysql(seconds, 16));
  const worst = Math.min(sqlite.getRatio, sqlite.insertRatio, mariadb.getRatio, mariadb.insertRatio);
  console.log(JSON.stringify({ scenario: "dao", seconds, sqlite, mariadb, worstRatio: worst, goal: 0.9 }));
}
