/**
 * The bus's own platform tables, for both dialects, created idempotently by
 * `ensureEventTables(db)` (CREATE TABLE IF NOT EXISTS). The migrator handles
 * proto-declared tables only; these are the event bus's.
 *
 *   orbit_event_log           the append-only log (id order = delivery order)
 *   orbit_event_groups        one row per consumer group: durable position,
 *                             lease (owner, lease_until_ms, epoch), retry state
 *   orbit_event_dead_letters  events a group gave up on (payload copied)
 *   orbit_event_processed     the inbox of `firstDelivery()` (idempotent handlers)
 *   orbit_event_meta          named integers (retention floor)
 */
import { isDuplicateKey, type Dialect, type SqlExecutor } from "../storage/driver.js";

export const LOG = "orbit_event_log";
export const GROUPS = "orbit_event_groups";
export const DEAD = "orbit_event_dead_letters";
export const PROCESSED = "orbit_event_processed";
export const META = "orbit_event_meta";

const SQLITE: readonly string[] = [
  // AUTOINCREMENT: ids are never reused, even after retention empties the table.
  `CREATE TABLE IF NOT EXISTS ${LOG} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    event_key TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_ms INTEGER NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS ${GROUPS} (
    group_name TEXT NOT NULL PRIMARY KEY,
    position INTEGER NOT NULL,
    topics TEXT NOT NULL,
    owner TEXT,
    lease_until_ms INTEGER NOT NULL DEFAULT 0,
    epoch INTEGER NOT NULL DEFAULT 0,
    retry_event_id INTEGER,
    retry_attempts INTEGER NOT NULL DEFAULT 0,
    retry_error TEXT,
    handled INTEGER NOT NULL DEFAULT 0,
    updated_ms INTEGER NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS ${DEAD} (
    group_name TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    topic TEXT NOT NULL,
    event_key TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT NOT NULL,
    state TEXT NOT NULL,
    failed_ms INTEGER NOT NULL,
    PRIMARY KEY (group_name, event_id)
  )`,
  `CREATE TABLE IF NOT EXISTS ${PROCESSED} (
    scope TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    PRIMARY KEY (scope, event_id)
  )`,
  `CREATE TABLE IF NOT EXISTS ${META} (
    name TEXT NOT NULL PRIMARY KEY,
    value INTEGER NOT NULL
  )`,
];

const MYSQL_TAIL = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
const MYSQL: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS ${LOG} (
    id BIGINT NOT NULL AUTO_INCREMENT,
    topic VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    event_key VARCHAR(255) NOT NULL,
    payload MEDIUMBLOB NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (id)
  ) ${MYSQL_TAIL}`,
  `CREATE TABLE IF NOT EXISTS ${GROUPS} (
    group_name VARCHAR(128) NOT NULL,
    position BIGINT NOT NULL,
    topics TEXT NOT NULL,
    owner VARCHAR(255) NULL,
    lease_until_ms BIGINT NOT NULL DEFAULT 0,
    epoch BIGINT NOT NULL DEFAULT 0,
    retry_event_id BIGINT NULL,
    retry_attempts INT NOT NULL DEFAULT 0,
    retry_error TEXT NULL,
    handled BIGINT NOT NULL DEFAULT 0,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (group_name)
  ) ${MYSQL_TAIL}`,
  `CREATE TABLE IF NOT EXISTS ${DEAD} (
    group_name VARCHAR(128) NOT NULL,
    event_id BIGINT NOT NULL,
    topic VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    event_key VARCHAR(255) NOT NULL,
    payload MEDIUMBLOB NOT NULL,
    created_ms BIGINT NOT NULL,
    attempts INT NOT NULL,
    error TEXT NOT NULL,
    state VARCHAR(16) NOT NULL,
    failed_ms BIGINT NOT NULL,
    PRIMARY KEY (group_name, event_id)
  ) ${MYSQL_TAIL}`,
  `CREATE TABLE IF NOT EXISTS ${PROCESSED} (
    scope VARCHAR(128) NOT NULL,
    event_id BIGINT NOT NULL,
    PRIMARY KEY (scope, event_id)
  ) ${MYSQL_TAIL}`,
  `CREATE TABLE IF NOT EXISTS ${META} (
    name VARCHAR(64) NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (name)
  ) ${MYSQL_TAIL}`,
];

/** The DDL of the bus's tables for one dialect (what ensureEventTables runs). */
export function eventTablesDdl(dialect: Dialect): readonly string[] {
  return dialect === "mysql" ? MYSQL : SQLITE;
}

/** Creates the bus's tables if they do not exist. Safe to call from many processes at once. */
export async function ensureEventTables(db: SqlExecutor): Promise<void> {
  for (const ddl of eventTablesDdl(db.dialect)) await db.exec(ddl);
  const floor = await db.get(`SELECT 1 AS one FROM ${META} WHERE name = 'retention_floor'`);
  if (!floor) {
    try {
      await db.run(`INSERT INTO ${META} (name, value) VALUES ('retention_floor', 0)`);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err; // another process got there first
    }
  }
}

/** SQL for "now" in milliseconds on the database clock (leases use one clock for every process). */
export function nowMsSql(dialect: Dialect): string {
  return dialect === "mysql"
    ? "CAST(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 AS SIGNED)"
    : "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";
}

/** A BIGINT column value as bigint (SQLite returns bigint, MySQL a string). */
export function big(v: unknown): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return BigInt(v);
  if (typeof v === "string" && v !== "") return BigInt(v);
  if (v === null || v === undefined) return 0n;
  throw new TypeError(`expected an integer column value, got ${typeof v}`);
}

/** A BIGINT column value as a JS number (for ms timestamps and counts). */
export function num(v: unknown): number {
  if (typeof v === "number") return v;
  if (v === null || v === undefined) return 0;
  return Number(v);
}
