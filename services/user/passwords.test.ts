import { describe, expect, it } from "vitest";
import { decoyHash, DEFAULT_LOG_N, hashPassword, MAX_LOG_N, verifyPassword } from "./passwords.js";

const LOG_N = 10; // the cheapest cost: these tests check behaviour, not strength

describe("passwords (scrypt)", () => {
  it("verifies the right password and refuses others", async () => {
    const h = await hashPassword("correct horse battery", LOG_N);
    expect(await verifyPassword("correct horse battery", h)).toBe(true);
    expect(await verifyPassword("correct horse batterY", h)).toBe(false);
    expect(await verifyPassword("", h)).toBe(false);
  });

  it("records version, cost and a random salt in the hash", async () => {
    const a = await hashPassword("same password", LOG_N);
    const b = await hashPassword("same password", 11);
    expect(a.length).toBe(4 + 16 + 32);
    expect([...a.subarray(0, 4)]).toEqual([1, LOG_N, 8, 1]);
    expect([...b.subarray(0, 4)]).toEqual([1, 11, 8, 1]);
    expect(Buffer.from(a.subarray(4, 20)).equals(Buffer.from(b.subarray(4, 20)))).toBe(false);
    // Each hash verifies with the cost it records, whatever the current setting.
    expect(await verifyPassword("same password", a)).toBe(true);
    expect(await verifyPassword("same password", b)).toBe(true);
  });

  it("compares passwords after NFKC normalisation", async () => {
    const h = await hashPassword("caf\u00e9 \ufb01ne", LOG_N); // precomposed é, "ﬁ" ligature
    expect(await verifyPassword("cafe\u0301 fine", h)).toBe(true);
  });

  it("refuses damaged hashes without throwing", async () => {
    const h = await hashPassword("pw", LOG_N);
    const flip = (i: number, v: number) => {
      const c = new Uint8Array(h);
      c[i] = v;
      return c;
    };
    expect(await verifyPassword("pw", h.subarray(0, 40))).toBe(false);
    expect(await verifyPassword("pw", new Uint8Array())).toBe(false);
    expect(await verifyPassword("pw", flip(0, 2))).toBe(false); // unknown version
    expect(await verifyPassword("pw", flip(1, 0))).toBe(false); // N = 1
    expect(await verifyPassword("pw", flip(1, 40))).toBe(false); // absurd memory
    expect(await verifyPassword("pw", flip(2, 0))).toBe(false); // r = 0
    expect(await verifyPassword("pw", flip(30, h[30]! ^ 1))).toBe(false); // key bit
    expect(await verifyPassword("pw", flip(10, h[10]! ^ 1))).toBe(false); // salt bit
  });

  it("hashes at the default cost unless told, within a range scrypt can run", async () => {
    expect(DEFAULT_LOG_N).toBe(15);
    expect([...(await hashPassword("pw", 12)).subarray(0, 4)]).toEqual([1, 12, 8, 1]);
    await expect(hashPassword("pw", MAX_LOG_N + 1)).rejects.toThrow(RangeError);
    await expect(hashPassword("pw", 9)).rejects.toThrow(RangeError);
  });

  it("keeps one decoy hash that matches no ordinary password", async () => {
    const d = await decoyHash(LOG_N);
    expect(await decoyHash(LOG_N)).toBe(d);
    expect(d[1]).toBe(LOG_N);
    expect(await verifyPassword("", d)).toBe(false);
    expect(await verifyPassword("password", d)).toBe(false);
  });
});
