/**
 * Lockout attempt → the owner still logs in (issue 12: ten wrong guesses by
 * anyone used to lock the owner out for 15 minutes). Against a real bundle,
 * in memory and with the limits in Redis (--redis):
 *
 *  - one address guessing, in a concurrent burst and then one by one, is
 *    slowed (doubling waits) and refused; it never gets more than a handful
 *    of guesses;
 *  - many addresses guessing once each trip the handle's cap: new addresses
 *    are refused for the rest of the window (resource_exhausted saying to use
 *    a familiar address, with retry-after);
 *  - meanwhile the owner logs in from the address they signed up / logged in
 *    from, every time, even after a typo of their own.
 *
 * Client addresses are forwarded ones (--trust-proxy 1), unique to the run.
 */
import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import { startBundle, type BundleProcess } from "../support/bundle-process.js";
import { socialClients } from "../support/social-client.js";
import { codeOf } from "../support/social-scenario.js";

const REDIS = `redis://127.0.0.1:${process.env.ORBIT_TEST_REDIS_PORT ?? 6379}`;
const HANDLE_CAP = 20;
const started: BundleProcess[] = [];

afterAll(async () => {
  for (const b of started) await b.stop();
});

for (const shared of [false, true]) {
  describe(`lockout attempt (${shared ? "limits in Redis" : "limits in memory"})`, () => {
    it("slows and refuses the attackers; the owner still logs in", async () => {
      const run = randomBytes(3).toString("hex");
      const address = (n: number) => `2001:db8:${run.slice(0, 4)}:${run.slice(4)}::${n.toString(16)}`;
      const via = (a: string) => ({ headers: { "x-forwarded-for": a } });
      const b = await startBundle(["--services", "user", "--trust-proxy", "1", ...(shared ? ["--redis", REDIS] : [])], {
        env: { ORBIT_SCRYPT_LOG_N: "10", ORBIT_USER_LOGIN_HANDLE_CAP: String(HANDLE_CAP) },
      });
      started.push(b);
      const users = socialClients(b.url).users;
      const handle = `owner${run}`;
      const password = "correct horse battery staple";
      const home = address(1);
      await users.signUp({ handle, password }, via(home));
      const ownerLogsIn = async () => {
        const r = await users.logIn({ handle, password }, via(home));
        expect(r.token).toMatch(/^orb_/);
      };

      // One address: a burst of 40 concurrent guesses, then 20 one by one.
      const attacker = address(2);
      const burst = await Promise.all(
        Array.from({ length: 40 }, (_, i) => codeOf(users.logIn({ handle, password: `burst ${i}` }, via(attacker)))),
      );
      const serial = [];
      for (let i = 0; i < 20; i++)
        serial.push(await codeOf(users.logIn({ handle, password: `serial ${i}` }, via(attacker))));
      const guesses = [...burst, ...serial];
      expect(guesses.filter((c) => c !== Code.Unauthenticated && c !== Code.ResourceExhausted)).toEqual([]);
      // 5 free failures, then waits of 1 s, 2 s, 4 s…: a handful of guesses at most.
      expect(guesses.filter((c) => c === Code.Unauthenticated).length).toBeLessThanOrEqual(10);
      await ownerLogsIn();

      // Many addresses, one guess each: past the cap, unfamiliar addresses are refused.
      const spread = [];
      for (let i = 0; i < HANDLE_CAP + 10; i++) {
        spread.push(await codeOf(users.logIn({ handle, password: `spread ${i}` }, via(address(100 + i)))));
      }
      expect(spread.filter((c) => c === Code.Unauthenticated).length).toBeLessThanOrEqual(HANDLE_CAP);
      expect(spread.slice(-10)).toEqual(Array(10).fill(Code.ResourceExhausted));
      const capped = await users.logIn({ handle, password }, via(address(999))).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect(capped?.code).toBe(Code.ResourceExhausted);
      expect(capped?.rawMessage).toMatch(
        /from unfamiliar addresses; log in from an address you used before; try again in \d+ s$/,
      );
      expect(Number(capped?.metadata.get("retry-after"))).toBeGreaterThan(0);

      // The owner, from home: in, every time, and after a typo of their own too.
      for (let i = 0; i < 3; i++) await ownerLogsIn();
      expect(await codeOf(users.logIn({ handle, password: "correct horse battery stapler" }, via(home)))).toBe(
        Code.Unauthenticated,
      );
      await ownerLogsIn();

      // Visible: one warning per episode, not one per refused request.
      const episodes = b.logs().filter((l) => l.msg.startsWith("limits: throttling"));
      expect(episodes.filter((l) => l.reason === "login_handle_cap")).toHaveLength(1);
      expect(episodes.filter((l) => l.reason === "login_backoff")).toHaveLength(1);
      expect(b.logs().some((l) => l.msg.startsWith("limits: redis unavailable"))).toBe(false);
    });
  });
}
