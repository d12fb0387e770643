/**
 * Abuse limits of SignUp and LogIn against real bundles (issue 12): an
 * attacker guessing from one address is slowed there while the owner logs
 * in from another; a sign-up flood from one address is refused past its
 * limit while another address signs up; throttling is counted in
 * orbit_limits_throttled_total and logged once per episode; with --redis two
 * bundles share the limits, and a Redis outage (a proxy the test cuts) does
 * not take logins down. Client addresses are forwarded ones (--trust-proxy 1),
 * unique to this run, so runs sharing the Redis never meet.
 */
import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBundle, type BundleProcess } from "../../test/support/bundle-process.js";
import { TcpProxy } from "../../test/support/tcp-proxy.js";
import { socialClients } from "../../test/support/social-client.js";
import { codeOf } from "../../test/support/social-scenario.js";

const run = randomBytes(2).toString("hex");
/** A client address of this run. */
const address = (n: number) => `2001:db8:${run}::${n.toString(16)}`;
const via = (a: string) => ({ headers: { "x-forwarded-for": a } });
const TOKEN = "abuse-limits-metrics-token-0123";
const REDIS = `redis://127.0.0.1:${process.env.ORBIT_TEST_REDIS_PORT ?? 6379}`;

const env = {
  ORBIT_SCRYPT_LOG_N: "10",
  ORBIT_USER_SIGN_UP_PER_ADDRESS: "3",
  ORBIT_USER_LOG_IN_PER_ADDRESS: "4",
  ORBIT_USER_LOGIN_FREE_FAILURES: "3",
};
const started: BundleProcess[] = [];

async function bundle(...extra: string[]): Promise<BundleProcess> {
  const b = await startBundle(["--services", "user", "--trust-proxy", "1", "--metrics-token", TOKEN, ...extra], {
    env,
  });
  started.push(b);
  return b;
}

async function refusal(p: Promise<unknown>): Promise<ConnectError> {
  const err = await p.then(
    () => new Error("expected resource_exhausted, the call succeeded"),
    (e: unknown) => ConnectError.from(e),
  );
  if (!(err instanceof ConnectError) || err.code !== Code.ResourceExhausted) throw err;
  return err;
}

async function metrics(b: BundleProcess): Promise<string> {
  return (await fetch(`${b.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
}

afterAll(async () => {
  for (const b of started) await b.stop();
});

describe("abuse limits in one bundle", () => {
  let b: BundleProcess;
  beforeAll(async () => {
    b = await bundle("--user-log-in-per-address", "100");
  });

  it("an attacker's address is slowed on a handle; the owner from another address still logs in", async () => {
    const users = socialClients(b.url).users;
    const [owner, attacker] = [address(1), address(2)];
    await users.signUp({ handle: `ann${run}`, password: "correct horse battery" }, via(owner));
    // Guess until refused: three free failures, then doubling waits (1 s, 2 s, 4 s…).
    const codes: (Code | "ok")[] = [];
    for (let i = 0; i < 30 && codes.at(-1) !== Code.ResourceExhausted; i++) {
      codes.push(await codeOf(users.logIn({ handle: `ann${run}`, password: `guess ${i}` }, via(attacker))));
    }
    expect(codes.at(-1)).toBe(Code.ResourceExhausted);
    const failed = codes.filter((c) => c === Code.Unauthenticated).length;
    expect(failed).toBeGreaterThanOrEqual(4);
    expect(failed).toBeLessThanOrEqual(10);
    const err = await refusal(users.logIn({ handle: `ann${run}`, password: "guess again" }, via(attacker))).catch(
      () => undefined, // the wait may have just ended: then this guess was admitted (and failed)
    );
    if (err) {
      expect(err.rawMessage).toMatch(/^too many failed logins; try again in \d+ s$/);
      expect(Number(err.metadata.get("retry-after"))).toBeGreaterThan(0);
    }
    // The owner, from their own address, right now.
    const me = await users.logIn({ handle: `ann${run}`, password: "correct horse battery" }, via(owner));
    expect(me.token).toMatch(/^orb_/);
    // One log line for the episode, however many refusals; the metric counts each.
    const lines = b.logs().filter((l) => l.msg.startsWith("limits: throttling login_backoff"));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe("warn");
    expect(lines[0]!.key).toBe(`ann${run}|${attacker}`);
    expect(await metrics(b)).toMatch(
      /orbit_limits_throttled_total\{service="user",method="LogIn",reason="login_backoff"\} [1-9]/,
    );
  }, 60_000);

  it("a sign-up flood from one address is refused past the limit; another address signs up", async () => {
    const users = socialClients(b.url).users;
    const flood = address(3);
    for (let i = 0; i < 3; i++) await users.signUp({ handle: `f${i}${run}`, password: "flood password" }, via(flood));
    const err = await refusal(users.signUp({ handle: `f3${run}`, password: "flood password" }, via(flood)));
    expect(err.rawMessage).toMatch(/^too many sign-ups from your address; try again in \d+ s$/);
    expect(Number(err.metadata.get("retry-after"))).toBeGreaterThan(1_000); // 3 an hour: one every 20 min
    await refusal(users.signUp({ handle: `f4${run}`, password: "flood password" }, via(flood)));
    // Nothing was created for the refused ones; another address is not affected.
    expect((await users.checkHandle({ handle: `f3${run}` })).available).toBe(true);
    await users.signUp({ handle: `other${run}`, password: "other password" }, via(address(4)));
    expect(await metrics(b)).toMatch(
      /orbit_limits_throttled_total\{service="user",method="SignUp",reason="sign_up_per_address"\} 2/,
    );
    expect(b.logs().filter((l) => l.msg.startsWith("limits: throttling sign_up_per_address"))).toHaveLength(1);
  }, 60_000);
});

describe("abuse limits shared by two bundles over Redis (--redis)", () => {
  let a: BundleProcess;
  let c: BundleProcess;
  beforeAll(async () => {
    // Each on its own SQLite: only the limits are shared.
    [a, c] = await Promise.all([bundle("--redis", REDIS), bundle("--redis", REDIS)]);
  });

  it("sign-ups counted in one bundle are refused in the other", async () => {
    const [ua, uc] = [socialClients(a.url).users, socialClients(c.url).users];
    const from = via(address(10));
    await ua.signUp({ handle: `s1${run}`, password: "shared password" }, from);
    await uc.signUp({ handle: `s2${run}`, password: "shared password" }, from);
    await ua.signUp({ handle: `s3${run}`, password: "shared password" }, from);
    await refusal(uc.signUp({ handle: `s4${run}`, password: "shared password" }, from));
    await refusal(ua.signUp({ handle: `s5${run}`, password: "shared password" }, from));
    await uc.signUp({ handle: `s6${run}`, password: "shared password" }, via(address(11)));
  }, 60_000);

  it("log-in attempts counted in one bundle are refused in the other", async () => {
    const [ua, uc] = [socialClients(a.url).users, socialClients(c.url).users];
    const from = via(address(12));
    const codes = [];
    for (const u of [ua, uc, ua, uc])
      codes.push(await codeOf(u.logIn({ handle: `nobody${run}`, password: "x" }, from)));
    expect(codes).toEqual(Array(4).fill(Code.Unauthenticated));
    await refusal(ua.logIn({ handle: `nobody${run}`, password: "x" }, from));
    await refusal(uc.logIn({ handle: `nobody${run}`, password: "x" }, from));
    expect(a.logs().some((l) => l.msg.startsWith("limits: redis unavailable"))).toBe(false);
  }, 60_000);
});

describe("a Redis outage does not take logins down", () => {
  it("logs in and signs up on local limits while Redis is cut, logged once", async () => {
    const port = Number(process.env.ORBIT_TEST_REDIS_PORT ?? 6379);
    const proxy = await TcpProxy.start("127.0.0.1", port);
    try {
      const b = await bundle("--redis", `redis://127.0.0.1:${proxy.port}`);
      const users = socialClients(b.url).users;
      const home = via(address(20));
      await users.signUp({ handle: `out${run}`, password: "outage password" }, home);
      proxy.cut();
      for (let i = 0; i < 3; i++) {
        expect((await users.logIn({ handle: `out${run}`, password: "outage password" }, home)).token).toMatch(/^orb_/);
      }
      // Limits still apply, from the bundle's own memory (a budget of 3 sign-ups of its own).
      for (let i = 2; i <= 4; i++) await users.signUp({ handle: `out${i}${run}`, password: "outage password" }, home);
      await refusal(users.signUp({ handle: `out5${run}`, password: "outage password" }, home));
      expect(b.logs().filter((l) => l.msg.startsWith("limits: redis unavailable"))).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
