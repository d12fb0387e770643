import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { LoginLimiter, type LoginLimits } from "./rate-limit.js";

const LIMITS: LoginLimits = { windowMs: 60_000, perHandle: 3, perAddress: 5 };

function limiter(limits = LIMITS) {
  const clock = { t: 1_000_000 };
  return { l: new LoginLimiter(limits, () => clock.t), clock };
}

function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    return (err as ConnectError).rawMessage;
  }
  throw new Error("expected ResourceExhausted");
}

describe("LoginLimiter", () => {
  it("refuses a handle after perHandle failures, saying when to retry", () => {
    const { l, clock } = limiter();
    for (let i = 0; i < 3; i++) {
      l.begin("ann", `10.0.0.${i}`);
      clock.t += 1_000;
    }
    expect(refused(() => l.begin("ann", "10.0.0.9"))).toBe("too many failed logins; try again in 57 s");
    // Other handles are not affected.
    expect(() => l.begin("bob", "10.0.0.9")).not.toThrow();
  });

  it("refuses an address after perAddress failures, whatever the handle", () => {
    const { l } = limiter();
    for (let i = 0; i < 5; i++) l.begin(`user${i}`, "10.0.0.1");
    refused(() => l.begin("someone-else", "10.0.0.1"));
    expect(() => l.begin("someone-else", "10.0.0.2")).not.toThrow();
  });

  it("applies only the per-handle limit when the address is unknown", () => {
    const { l } = limiter();
    for (let i = 0; i < 20; i++) l.begin(`user${i}`, undefined);
    expect(() => l.begin("ann", undefined)).not.toThrow();
    l.begin("ann", undefined);
    l.begin("ann", undefined).succeeded();
    for (let i = 0; i < 3; i++) l.begin("ann", undefined);
    refused(() => l.begin("ann", undefined));
  });

  it("says when the limit that refused frees a slot", () => {
    const { l, clock } = limiter();
    for (let i = 0; i < 5; i++) l.begin(`user${i}`, "a"); // address "a" full, oldest at t0
    clock.t += 20_000;
    for (let i = 0; i < 3; i++) l.begin("ann", "b"); // handle "ann" full, oldest at t0 + 20 s
    expect(refused(() => l.begin("ann", "c"))).toContain("try again in 60 s");
    expect(refused(() => l.begin("bob", "a"))).toContain("try again in 40 s");
    expect(refused(() => l.begin("ann", "a"))).toContain("try again in 60 s");
  });

  it("counts attempts in flight: a burst of concurrent guesses cannot pass the limit", () => {
    const { l } = limiter();
    // Begun, not yet finished (the password hash is still running).
    const started = [];
    let refusedCount = 0;
    for (let i = 0; i < 20; i++) {
      try {
        started.push(l.begin("ann", `10.0.${i}.1`));
      } catch {
        refusedCount++;
      }
    }
    expect(started).toHaveLength(3);
    expect(refusedCount).toBe(17);
  });

  it("forgets failures as they leave the sliding window", () => {
    const { l, clock } = limiter();
    l.begin("ann", "a");
    clock.t += 30_000;
    l.begin("ann", "a");
    l.begin("ann", "a");
    refused(() => l.begin("ann", "a"));
    clock.t += 30_000; // the first failure is now exactly windowMs old
    expect(() => l.begin("ann", "a")).not.toThrow();
    refused(() => l.begin("ann", "a"));
  });

  it("a success clears the handle's failures; the address keeps its earlier ones", () => {
    const { l } = limiter();
    l.begin("ann", "a");
    l.begin("ann", "a");
    l.begin("ann", "a").succeeded();
    // The handle starts afresh: three more failures before it is refused.
    for (let i = 0; i < 3; i++) l.begin("ann", "b");
    refused(() => l.begin("ann", "c"));
    // Address "a" still has its two failures: three more reach perAddress (5).
    for (const h of ["x", "y", "z"]) l.begin(h, "a");
    refused(() => l.begin("w", "a"));
  });

  it("a success removes only its own attempt from the address", () => {
    const { l } = limiter({ windowMs: 60_000, perHandle: 100, perAddress: 2 });
    const ok = l.begin("ann", "a");
    l.begin("bob", "a");
    ok.succeeded();
    expect(() => l.begin("cat", "a")).not.toThrow();
    refused(() => l.begin("dan", "a"));
  });
});
