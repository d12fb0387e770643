/**
 * Password hashing with scrypt (node:crypto). The stored hash records its
 * parameters, so the cost can be raised later without breaking old hashes:
 *   byte 0: version (1) · byte 1: log2 N · byte 2: r · byte 3: p · 16 B salt · 32 B key
 * Cost: log2 N from the user service's setting (settings.ts: --user-scrypt-log-n, or the older
 * --scrypt-log-n / ORBIT_SCRYPT_LOG_N), 10..18 (default 15: 32 MiB, ~0.1 s a
 * hash; 18 is 256 MiB: with r = 8 scrypt needs 128·N·r bytes, and more than
 * that per login would be an easy way to exhaust the server's memory).
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";

const KEY_BYTES = 32;
const SALT_BYTES = 16;
export const MIN_LOG_N = 10;
export const MAX_LOG_N = 18;
/** scrypt's memory for the largest cost allowed (128·N·r bytes). */
const MAX_MEMORY = 128 * 2 ** MAX_LOG_N * 8;
const MAXMEM = 2 * MAX_MEMORY;

function scrypt(password: string, salt: Uint8Array, logN: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(password.normalize("NFKC"), salt, KEY_BYTES, { N: 2 ** logN, r, p, maxmem: MAXMEM }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** The cost when none is configured (the user service's scryptLogN setting). */
export const DEFAULT_LOG_N = 15;

export async function hashPassword(password: string, logN = DEFAULT_LOG_N): Promise<Uint8Array> {
  if (!Number.isInteger(logN) || logN < MIN_LOG_N || logN > MAX_LOG_N)
    throw new RangeError(`log2 N must be ${MIN_LOG_N}..${MAX_LOG_N}, got ${logN}`);
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, logN, 8, 1);
  return new Uint8Array(Buffer.concat([Buffer.from([1, logN, 8, 1]), salt, key]));
}

export async function verifyPassword(password: string, stored: Uint8Array): Promise<boolean> {
  if (stored.length !== 4 + SALT_BYTES + KEY_BYTES || stored[0] !== 1) return false;
  const [, logN, r, p] = stored;
  // A damaged hash must not make scrypt throw or allocate without bound.
  if (!logN || !r || !p || p > 16 || 128 * 2 ** logN * r > MAX_MEMORY) return false;
  const salt = stored.subarray(4, 4 + SALT_BYTES);
  const key = await scrypt(password, salt, logN!, r!, p!);
  return timingSafeEqual(key, stored.subarray(4 + SALT_BYTES));
}

/**
 * A hash to compare against when the handle does not exist, so timing does
 * not tell: one per cost, made at the cost new hashes get.
 */
const decoys = new Map<number, Promise<Uint8Array>>();
export function decoyHash(logN = DEFAULT_LOG_N): Promise<Uint8Array> {
  let d = decoys.get(logN);
  if (!d) decoys.set(logN, (d = hashPassword("decoy password, never matches", logN)));
  return d;
}
