/**
 * The verified-session cache: a hit until its TTL, every token of a session
 * forgotten when it is revoked, and a lookup that began before a revocation
 * cannot put the session back. (The e2e side, LogOut, RevokeSession and a
 * replaced device session refusing a token that was just cached, is in
 * test/support/social-scenario.ts.)
 */
import { describe, expect, it } from "vitest";
import { SessionCache } from "./session-cache.js";
import { remoteVerifier } from "./sessions.js";
import { userTokens } from "./token-check.js";
import { newToken } from "./tokens.js";

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

describe("remoteVerifier", () => {
  const token = newToken();
  const signal = new AbortController().signal;

  it("remembers VerifyToken's answer and asks again once the session is forgotten", async () => {
    let asked = 0;
    let valid = true;
    const v = remoteVerifier(async () => (asked++, valid ? { userId: 1n, sessionId: 10n } : undefined), 60_000);
    expect(await v.verify(token, signal)).toEqual(ann);
    expect(await v.verify(token, signal)).toEqual(ann);
    expect(asked).toBe(1);
    valid = false;
    v.forgetSession!("20"); // another session: still remembered
    expect(await v.verify(token, signal)).toEqual(ann);
    v.forgetSession!("10");
    expect(await v.verify(token, signal)).toBeUndefined();
    expect(asked).toBe(2);
    // A refused token is remembered as refused too.
    expect(await v.verify(token, signal)).toBeUndefined();
    expect(asked).toBe(2);
  });

  it("follows --user-session-cache-ms in a bundle without the user service (0: asks every time)", async () => {
    const asks: string[] = [];
    const client = (() => ({
      verifyToken: async ({ token: t }: { token: string }) => (asks.push(t), { userId: 1n, sessionId: 10n }),
    })) as unknown as Parameters<typeof userTokens.remote>[0];
    const never = userTokens.remote(client, { sessionCacheMs: 0 });
    await never.verify(token, signal);
    await never.verify(token, signal);
    expect(asks.length).toBe(2);
    const cached = userTokens.remote(client, { sessionCacheMs: 60_000 });
    await cached.verify(token, signal);
    await cached.verify(token, signal);
    expect(asks.length).toBe(3);
  });

  it("refuses what is not a token without asking", async () => {
    const v = remoteVerifier(async () => {
      throw new Error("not asked");
    });
    expect(await v.verify("orb_short", signal)).toBeUndefined();
  });
});
