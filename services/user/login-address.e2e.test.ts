/**
 * The per-address login limit against a real bundle: the address is the
 * socket's peer unless `--trust-proxy` says proxies write X-Forwarded-For,
 * so a client cannot escape the limit by inventing forwarded addresses, and
 * behind a proxy the clients it forwards are counted one by one.
 */
import { Code } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import { startBundle, type BundleProcess } from "../../test/support/bundle-process.js";
import { codeOf } from "../../test/support/social-scenario.js";
import { socialClients } from "../../test/support/social-client.js";

/** Log-in attempts per address per minute (`--user-log-in-per-address`), lowered so the test is short. */
const PER_ADDRESS = 5;
const env = { ORBIT_SCRYPT_LOG_N: "10", ORBIT_USER_LOG_IN_PER_ADDRESS: String(PER_ADDRESS) };
const started: BundleProcess[] = [];

async function bundle(...extra: string[]): Promise<BundleProcess> {
  const b = await startBundle(["--services", "user", ...extra], { env });
  started.push(b);
  return b;
}

/** Failed logins for distinct unknown handles (no per-handle limit), each claiming another forwarded address. */
async function failedLogins(b: BundleProcess, n: number, forwarded: (i: number) => string): Promise<(Code | "ok")[]> {
  const anon = socialClients(b.url);
  const codes: (Code | "ok")[] = [];
  for (let i = 0; i < n; i++) {
    const call = anon.users.logIn(
      { handle: `nobody${i}`, password: "wrong password" },
      { headers: { "x-forwarded-for": forwarded(i) } },
    );
    codes.push(await codeOf(call));
  }
  return codes;
}

afterAll(async () => {
  for (const b of started) await b.stop();
});

describe("login limit per client address", () => {
  const n = PER_ADDRESS + 1;

  it("ignores X-Forwarded-For without --trust-proxy: one socket address, limited", async () => {
    const b = await bundle();
    const codes = await failedLogins(b, n, (i) => `198.51.100.${i}`);
    expect(codes.slice(0, n - 1).every((c) => c === Code.Unauthenticated)).toBe(true);
    expect(codes[n - 1]).toBe(Code.ResourceExhausted);
  }, 60_000);

  it("behind one trusted proxy counts each forwarded client, and ignores what the client prepended", async () => {
    const b = await bundle("--trust-proxy", "1");
    const distinct = await failedLogins(b, n, (i) => `203.0.113.1, 198.51.100.${i}`);
    expect(distinct.filter((c) => c !== Code.Unauthenticated)).toEqual([]);
    // One client (the rightmost entry) inventing addresses to the left is still one address.
    const same = await failedLogins(b, n, (i) => `198.51.100.${i}, 203.0.113.9`);
    expect(same.slice(0, n - 1).every((c) => c === Code.Unauthenticated)).toBe(true);
    expect(same[n - 1]).toBe(Code.ResourceExhausted);
  }, 60_000);

  it("refuses a bad --trust-proxy value with a clear error", async () => {
    await expect(startBundle(["--services", "user", "--trust-proxy", "eleven"], { env })).rejects.toThrow(
      /trust-proxy/,
    );
  }, 30_000);
});
