/**
 * The verified-session cache: a hit until its TTL, every token of a session
 * forgotten when it is revoked, and a lookup that began before a revocation
 * cannot put the session back. (The e2e side, LogOut, RevokeSession and a
 * replaced device session refusing a token that was just cached, is in
 * test/support/social-scenario.ts.)
 */
import { describe, expect, it } from "vitest";
import { SessionCache } from "./session-cache.js";

const ann = { userId: "1", sessionId: "10" };

describe("SessionCache", () => {
  it("answers until the TTL, then forgets", () => {
    const c = new SessionCache(5_000);
    c.set("orb_a", ann, Date.now());
    expect(c.get("orb_a")).toEqual(ann);
    expect(c.get("orb_b")).toBeUndefined();
    expect(c.get("orb_a", Date.now() + 5_001)).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it("forgets every token of a revoked session, and refuses a lookup older than the revocation", () => {
    const c = new SessionCache(5_000);
    const startedAt = Date.now() - 1;
    c.set("orb_a", ann, startedAt);
    c.set("orb_a2", ann, startedAt);
    c.set("orb_b", { userId: "2", sessionId: "20" }, startedAt);
    c.revoke("10");
    expect(c.get("orb_a")).toBeUndefined();
    expect(c.get("orb_a2")).toBeUndefined();
    expect(c.get("orb_b")).toEqual({ userId: "2", sessionId: "20" });
    // A verification that read the session before it ended answers late: not remembered.
    c.set("orb_a", ann, startedAt);
    expect(c.get("orb_a")).toBeUndefined();
  });

  it("remembers nothing with a TTL of 0, and stays within its bound", () => {
    const off = new SessionCache(0);
    off.set("orb_a", ann, Date.now());
    expect(off.get("orb_a")).toBeUndefined();
    const small = new SessionCache(5_000, 3);
    for (let i = 0; i < 10; i++) small.set(`orb_${i}`, { userId: "1", sessionId: String(i) }, Date.now());
    expect(small.size).toBeLessThanOrEqual(3);
  });
});
