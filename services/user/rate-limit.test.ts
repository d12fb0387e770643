import { Code, ConnectError } from "@connectrpc/connect";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { Limits } from "../../platform/limits/limits.js";
import { MemoryLimitStore } from "../../platform/limits/store.js";
import { silentLogger } from "../../platform/log.js";
import { DEFAULT_LOGIN_RULES, FAILURE_WINDOW_MS, LoginThrottle, type LoginRules } from "./rate-limit.js";

const RULES: LoginRules = {
  ...DEFAULT_LOGIN_RULES,
  logInPerMinute: 1_000,
  freeFailures: 3,
  maxDelayMs: 60_000,
  failuresPerAddress: 10,
  handleCap: 6,
};

function throttle(rules = RULES) {
  const clock = { t: 1_000_000 };
  const registry = new Registry();
  const limits = new Limits(new MemoryLimitStore(), silentLogger(), registry, () => clock.t);
  return { th: new LoginThrottle(limits.view("user"), rules), clock, registry };
}

async function refused(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
  expect(Number((err as ConnectError).metadata.get("retry-after"))).toBeGreaterThan(0);
  return (err as ConnectError).rawMessage;
}

async function fail(th: LoginThrottle, handle: string, address: string | undefined) {
  await (await th.begin(undefined, handle, address)).failed();
}

describe("LoginThrottle", () => {
  it("backs off one handle from one address exponentially; the owner elsewhere logs in", async () => {
    const { th, clock, registry } = throttle({ ...RULES, handleCap: 100 });
    for (let i = 0; i < 4; i++) await fail(th, "ann", "6.6.6.6");
    expect(await refused(th.begin(undefined, "ann", "6.6.6.6"))).toBe("too many failed logins; try again in 1 s");
    // The owner, from their own address, is not slowed at all.
    await (await th.begin(undefined, "ann", "10.0.0.1")).succeeded();
    clock.t += 1_000;
    await fail(th, "ann", "6.6.6.6");
    expect(await refused(th.begin(undefined, "ann", "6.6.6.6"))).toContain("try again in 2 s");
    clock.t += 2_000;
    await fail(th, "ann", "6.6.6.6");
    expect(await refused(th.begin(undefined, "ann", "6.6.6.6"))).toContain("try again in 4 s");
    const metric = await registry.getSingleMetricAsString("orbit_limits_throttled_total");
    expect(metric).toContain('reason="login_backoff"} 3');
  });

  it("counts attempts in flight: a burst of concurrent guesses cannot pass the free failures", async () => {
    const { th } = throttle();
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => th.begin(undefined, "ann", "6.6.6.6")));
    // The free ones, and the one that starts the first penalty.
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(4);
  });

  it("a success from an address forgets its failures there", async () => {
    const { th } = throttle();
    for (let i = 0; i < 3; i++) await fail(th, "ann", "a");
    await (await th.begin(undefined, "ann", "a")).succeeded();
    for (let i = 0; i < 4; i++) await fail(th, "ann", "a");
    await refused(th.begin(undefined, "ann", "a"));
  });

  it("the global cap per handle refuses unfamiliar addresses; an address that logged in before still may", async () => {
    const { th, clock } = throttle();
    await (await th.begin(undefined, "ann", "home")).succeeded();
    // A distributed attack: many addresses, one guess each.
    for (let i = 0; i < 6; i++) await fail(th, "ann", `6.6.6.${i}`);
    expect(await refused(th.begin(undefined, "ann", "6.6.6.99"))).toMatch(
      /unfamiliar addresses; .* try again in 900 s/,
    );
    // The owner's familiar address is never capped, even after wrong passwords of its own.
    await fail(th, "ann", "home");
    await (await th.begin(undefined, "ann", "home")).succeeded();
    // Other handles are untouched; the cap lifts when its window ends.
    await (await th.begin(undefined, "bob", "6.6.6.99")).succeeded();
    clock.t += FAILURE_WINDOW_MS;
    await (await th.begin(undefined, "ann", "6.6.6.99")).succeeded();
  });

  it("backs off an address spraying many handles, whatever the handle", async () => {
    const { th } = throttle();
    for (let i = 0; i < 11; i++) await fail(th, `user${i}`, "6.6.6.6");
    expect(await refused(th.begin(undefined, "someone", "6.6.6.6"))).toBe(
      "too many failed logins from your address; try again in 1 s",
    );
    await (await th.begin(undefined, "someone", "10.0.0.1")).succeeded();
  });

  it("limits every log-in attempt and every sign-up per address", async () => {
    const { th, clock } = throttle({ ...RULES, logInPerMinute: 2, signUpPerHour: 2 });
    await (await th.begin(undefined, "ann", "a")).succeeded();
    await (await th.begin(undefined, "ann", "a")).succeeded();
    expect(await refused(th.begin(undefined, "ann", "a"))).toBe(
      "too many log-ins from your address; try again in 30 s",
    );
    await (await th.begin(undefined, "ann", "b")).succeeded();
    await th.signUp(undefined, "a");
    await th.signUp(undefined, "a");
    expect(await refused(th.signUp(undefined, "a"))).toBe("too many sign-ups from your address; try again in 1800 s");
    await th.signUp(undefined, "b");
    await th.signUp(undefined, undefined); // in-process: no address, no per-address limit
    clock.t += 1_800_000;
    await th.signUp(undefined, "a");
  });

  it("a limit of 0 is off", async () => {
    const { th } = throttle({ ...RULES, signUpPerHour: 0, logInPerMinute: 0, handleCap: 0 });
    for (let i = 0; i < 50; i++) await th.signUp(undefined, "a");
    for (let i = 0; i < 20; i++) await fail(th, "ann", `6.6.${i}.1`);
    await (await th.begin(undefined, "ann", "6.6.99.1")).succeeded();
  });
});
