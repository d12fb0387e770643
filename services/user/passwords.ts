/**
 * Password hashing with scrypt (node:crypto). The stored hash records its
 * parameters, so the cost can be raised later without breaking old hashes:
 *   byte 0: version (1) · byte 1: log2 N · byte 2: r · byte 3: p · 16 B salt · 32 B key
 * Cost: log2 N from ORBIT_SCRYPT_LOG_N (default 15: 32 MiB, ~0.1 s a hash).
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";

const KEY_BYTES = 32;
const SALT_BYTES = 16;

function scrypt(password: string, salt: Uint8Array, logN: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(password.normalize("NFKC"), salt, KEY_BYTES, { N: 2 ** logN, r, p, maxmem: 512 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export function defaultLogN(): number {
  const v = Number(process.env.ORBIT_SCRYPT_LOG_N ?? 15);
  if (!Number.isInteger(v) || v < 10 || v > 20) throw new RangeError(`ORBIT_SCRYPT_LOG_N must be 10..20, got ${process.env.ORBIT_SCRYPT_LOG_N}`);
  return v;
}

export async function hashPassword(password: string, logN = defaultLogN()): Promise<Uint8Array> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, logN, 8, 1);
  return new Uint8Array(Buffer.concat([Buffer.from([1, logN, 8, 1]), salt, key]));
}

export async function verifyPassword(password: string, stored: Uint8Array): Promise<boolean> {
  if (stored.length !== 4 + SALT_BYTES + KEY_BYTES || stored[0] !== 1) return false;
  const [, logN, r, p] = stored;
  const salt = stored.subarray(4, 4 + SALT_BYTES);
  const key = await scrypt(password, salt, logN!, r!, p!);
  return timingSafeEqual(key, stored.subarray(4 + SALT_BYTES));
}

/** A hash to compare against when the handle does not exist, so timing does not tell. */
let decoy: Promise<Uint8Array> | undefined;
export function decoyHash(): Promise<Uint8Array> {
  decoy ??= hashPassword("decoy password, never matches");
  return decoy;
}
