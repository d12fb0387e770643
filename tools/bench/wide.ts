/**
 * `npm run bench -- wide [seconds]`: wide-table put and partition scan (first
 * page of 20) through the generated wide DAO (HomeFeedRowDao on SqlWideStore
 * or CassandraWideStore) vs. the raw driver running the same statement with
 * the same values, on SQLite, MariaDB and — when a node answers
 * (CASSANDRA_CONTACT_POINTS, else 127.0.0.1:9042) — Cassandra, in one run.
 * Last line: one JSON object; `worstRatio` is the lowest DAO/raw ratio.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HomeFeedRowCql, HomeFeedRowDao, HomeFeedRowTable } from "../../gen/orbit/feed/v1/tables_wide.js";
import { consistencyCode } from "../../platform/storage/cassandra/client.js";
import { CassandraWideStore } from "../../platform/storage/wide/cassandra-store.js";
import type { SqlDb } from "../../platform/storage/driver.js";
import type { MysqlDb } from "../../platform/storage/mysql.js";
import { openSqlStore } from "../../platform/storage/open.js";
import type { SqliteDb } from "../../platform/storage/sqlite.js";
import { createWideSqlTables } from "../../test/support/wide/sql-tables.js";
import { SqlWideStore } from "../../platform/storage/wide/sql-store.js";
import { wideSql } from "../../platform/storage/wide/sql-text.js";
import { benchCassandraPoints, scratchCassandra } from "./_cassandra-db.js";
import { scratchMysql } from "./_mysql-db.js";
import { fmt, paired, rate, rateSync, type Rate } from "./_measure.js";

const PARTITION_ROWS = 1_000;
const PAGE = 20;
const SCAN_USER = 1n;

interface Result {
  putDao: Rate;
  putRaw: Rate;
  scanDao: Rate;
  scanRaw: Rate;
}

function report(engine: string, r: Result) {
  const put = r.putDao.opsPerSec / r.putRaw.opsPerSec;
  const scan = r.scanDao.opsPerSec / r.scanRaw.opsPerSec;
  console.log(
    `${engine}: put          DAO ${fmt(r.putDao.opsPerSec)}/s  raw ${fmt(r.putRaw.opsPerSec)}/s  ratio ${put.toFixed(2)}`,
  );
  console.log(
    `${engine}: scan (${PAGE} rows) DAO ${fmt(r.scanDao.opsPerSec)}/s  raw ${fmt(r.scanRaw.opsPerSec)}/s  ratio ${scan.toFixed(2)}`,
  );
  return {
    putDao: r.putDao.opsPerSec,
    putRaw: r.putRaw.opsPerSec,
    putRatio: +put.toFixed(3),
    scanDao: r.scanDao.opsPerSec,
    scanRaw: r.scanRaw.opsPerSec,
    scanRatio: +scan.toFixed(3),
  };
}

async function seed(db: SqlDb, dao: HomeFeedRowDao): Promise<void> {
  await createWideSqlTables(db, [HomeFeedRowTable]);
  process.stdout.write(`  seeding a partition of ${fmt(PARTITION_ROWS)} rows … `);
  const rows = Array.from({ length: PARTITION_ROWS }, (_, i) => ({
    userId: SCAN_USER,
    postId: BigInt(i + 1),
    authorId: 7n,
  }));
  await dao.putMany(rows);
  console.log("done");
}

/** The same statements and parameters SqlWideStore runs. */
function statements(db: SqlDb) {
  const sql = wideSql(HomeFeedRowTable, db.dialect);
  return { put: sql.put, scan: sql.scan({ order: "clustering", after: false }) };
}

async function benchSqlite(seconds: number): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), "orbit-bench-wide-"));
  const db = openSqlStore(`sqlite:${join(dir, "bench.db")}`) as SqliteDb;
  try {
    const dao = new HomeFeedRowDao(new SqlWideStore(db));
    console.log("SQLite:");
    await seed(db, dao);
    const text = statements(db);
    const put = db.raw.prepare(text.put);
    const scan = db.raw.prepare(text.scan).safeIntegers(true);
    let next = 1_000_000n;
    process.stdout.write("  put … ");
    const [putRaw, putDao] = await paired(
      () => rateSync(() => put.run(2n, next++, 7n, null), seconds / 4),
      () => rate(() => dao.put({ userId: 2n, postId: next++, authorId: 7n }), seconds / 4),
    );
    console.log("done");
    process.stdout.write("  scan … ");
    const [scanRaw, scanDao] = await paired(
      () => rateSync(() => scan.all(SCAN_USER, Date.now(), PAGE + 1), seconds / 4),
      () => rate(() => dao.scan({ userId: SCAN_USER }, { limit: PAGE }), seconds / 4),
    );
    console.log("done");
    return { putDao, putRaw, scanDao, scanRaw };
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchMysql(seconds: number, concurrency: number): Promise<Result> {
  const scratch = await scratchMysql(`orbit_bench_wide_${process.pid}`, { pool: concurrency });
  const db = scratch.db;
  try {
    const dao = new HomeFeedRowDao(new SqlWideStore(db));
    console.log(`MariaDB (${concurrency} in flight):`);
    await seed(db, dao);
    const text = statements(db);
    let next = 1_000_000n;
    process.stdout.write("  put … ");
    const [putRaw, putDao] = await paired(
      () => rate(() => db.pool.execute(text.put, ["2", (next++).toString(), "7", null]), seconds / 4, concurrency),
      () => rate(() => dao.put({ userId: 2n, postId: next++, authorId: 7n }), seconds / 4, concurrency),
    );
    console.log("done");
    process.stdout.write("  scan … ");
    const [scanRaw, scanDao] = await paired(
      () =>
        rate(() => db.pool.execute(text.scan, [SCAN_USER.toString(), Date.now(), PAGE + 1]), seconds / 4, concurrency),
      () => rate(() => dao.scan({ userId: SCAN_USER }, { limit: PAGE }), seconds / 4, concurrency),
    );
    console.log("done");
    return { putDao, putRaw, scanDao, scanRaw };
  } finally {
    await scratch.dispose();
  }
}

/** The DAO on CassandraWideStore vs. cassandra-driver running the same prepared statements. */
async function benchCassandra(points: string[], seconds: number, concurrency: number): Promise<Result> {
  const scratch = await scratchCassandra(points, `orbit_bench_wide_${process.pid}`);
  try {
    const { client } = scratch;
    await client.run(HomeFeedRowCql.createTable);
    const dao = new HomeFeedRowDao(new CassandraWideStore(client));
    console.log(`Cassandra at ${points.join(",")} (${concurrency} in flight):`);
    process.stdout.write(`  seeding a partition of ${fmt(PARTITION_ROWS)} rows … `);
    await dao.putMany(
      Array.from({ length: PARTITION_ROWS }, (_, i) => ({ userId: SCAN_USER, postId: BigInt(i + 1), authorId: 7n })),
    );
    console.log("done");
    // What CassandraWideStore sends: the same text, prepared, at the client's consistency.
    const consistency = consistencyCode(client.consistency);
    const driver = client.driver;
    let next = 1_000_000n;
    process.stdout.write("  put … ");
    const [putRaw, putDao] = await paired(
      () =>
        rate(
          () =>
            driver.execute(HomeFeedRowCql.insert, [2n, next++, 7n, 0], {
              prepare: true,
              consistency,
              isIdempotent: true,
            }),
          seconds / 4,
          concurrency,
        ),
      () => rate(() => dao.put({ userId: 2n, postId: next++, authorId: 7n }), seconds / 4, concurrency),
    );
    console.log("done");
    process.stdout.write("  scan … ");
    const [scanRaw, scanDao] = await paired(
      () =>
        rate(
          () =>
            driver.execute(HomeFeedRowCql.scanPartition, [SCAN_USER], {
              prepare: true,
              consistency,
              fetchSize: PAGE,
              isIdempotent: true,
            }),
          seconds / 4,
          concurrency,
        ),
      () => rate(() => dao.scan({ userId: SCAN_USER }, { limit: PAGE }), seconds / 4, concurrency),
    );
    console.log("done");
    return { putDao, putRaw, scanDao, scanRaw };
  } finally {
    await scratch.dispose();
  }
}

export async function main(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 3);
  const sqlite = report("sqlite", await benchSqlite(seconds));
  const mariadb = report("mariadb", await benchMysql(seconds, 16));
  const points = await benchCassandraPoints();
  if (!points)
    console.log("cassandra: no node answers (npm run cassandra:start, or set CASSANDRA_CONTACT_POINTS): skipped");
  const cassandra = points ? report("cassandra", await benchCassandra(points, seconds, 16)) : undefined;
  const ratios = [sqlite, mariadb, ...(cassandra ? [cassandra] : [])].flatMap((r) => [r.putRatio, r.scanRatio]);
  const worst = Math.min(...ratios);
  console.log(
    JSON.stringify({
      scenario: "wide",
      seconds,
      sqlite,
      mariadb,
      cassandra: cassandra ?? null,
      worstRatio: worst,
      ratio: worst,
    }),
  );
}
