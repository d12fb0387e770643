import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ClusterSigner } from "./cluster-signer.js";

const SECRET = "a-cluster-secret-of-some-length";
const PROC = "/orbit.testing.v1.EchoService/WhoAmI";

function rejects(fn: () => unknown, message: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
    expect((err as ConnectError).rawMessage).toContain(message);
    return;
  }
  throw new Error("expected Unauthenticated");
}

describe("ClusterSigner", () => {
  it("verifies what it signed", () => {
    const s = new ClusterSigner(SECRET);
    expect(s.verify(s.sign({ userId: "42" }, PROC), PROC)).toEqual({ userId: "42" });
  });

  it("carries the session id with the user (LogOut in another bundle ends that session)", () => {
    const s = new ClusterSigner(SECRET);
    expect(s.verify(s.sign({ userId: "42", sessionId: "7" }, PROC), PROC)).toEqual({ userId: "42", sessionId: "7" });
  });

  it("refuses another secret, another method, tampering and garbage", () => {
    const s = new ClusterSigner(SECRET);
    const header = s.sign({ userId: "42" }, PROC);
    rejects(() => new ClusterSigner("another-secret-entirely").verify(header, PROC), "bad signature");
    rejects(() => s.verify(header, "/orbit.testing.v1.EchoService/Echo"), "signed for another method");
    const [v, body, mac] = header.split(".");
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(body!, "base64url").toString()), u: "1" }),
    ).toString("base64url");
    rejects(() => s.verify(`${v}.${forged}.${mac}`, PROC), "bad signature");
    rejects(() => s.verify("v2.a.b", PROC), "malformed");
    rejects(() => s.verify("", PROC), "malformed");
    rejects(() => s.verify("v1..", PROC), "bad signature");
  });

  it("refuses an expired header", () => {
    let now = 1_000_000;
    const s = new ClusterSigner(SECRET, { ttlMs: 60_000, skewMs: 30_000, now: () => now });
    const header = s.sign({ userId: "7" }, PROC);
    now += 89_000;
    expect(s.verify(header, PROC)?.userId).toBe("7");
    now += 2_000;
    rejects(() => s.verify(header, PROC), "expired");
  });

  it("signs a call made for no user (a service acting on its own) when the secret is shared", () => {
    const s = new ClusterSigner(SECRET);
    expect(s.shared).toBe(true);
    expect(ClusterSigner.random().shared).toBe(false);
    expect(s.verify(s.sign(undefined, PROC), PROC)).toBeUndefined();
    rejects(() => new ClusterSigner("another-secret-entirely").verify(s.sign(undefined, PROC), PROC), "bad signature");
  });

  it("needs a secret of at least 16 bytes", () => {
    expect(() => new ClusterSigner("short")).toThrow("at least 16 bytes");
    const a = ClusterSigner.random();
    const b = ClusterSigner.random();
    rejects(() => b.verify(a.sign({ userId: "1" }, PROC), PROC), "bad signature");
  });
});
