import { describe, expect, it } from "vitest";
import { normalizeAddress, resolveClientAddress } from "./client-address.js";

describe("resolveClientAddress", () => {
  it("uses the socket's peer and ignores X-Forwarded-For without trusted proxies", () => {
    expect(resolveClientAddress("10.0.0.9", "1.2.3.4", 0)).toBe("10.0.0.9");
    expect(resolveClientAddress("::ffff:127.0.0.1", undefined, 0)).toBe("127.0.0.1");
  });

  it("takes the address the outermost trusted proxy saw", () => {
    // client → proxy A (appends client) → proxy B (appends A) → bundle
    expect(resolveClientAddress("10.0.0.2", "203.0.113.7, 10.0.0.1", 2)).toBe("203.0.113.7");
    expect(resolveClientAddress("10.0.0.1", "203.0.113.7", 1)).toBe("203.0.113.7");
  });

  it("does not believe entries a client wrote left of the trusted ones", () => {
    // The client sent "X-Forwarded-For: 6.6.6.6"; one proxy appended the real address.
    expect(resolveClientAddress("10.0.0.1", "6.6.6.6, 203.0.113.7", 1)).toBe("203.0.113.7");
    expect(resolveClientAddress("10.0.0.1", ["6.6.6.6", "203.0.113.7"], 1)).toBe("203.0.113.7");
  });

  it("stops at the leftmost entry when fewer hops arrived than are trusted", () => {
    expect(resolveClientAddress("10.0.0.1", undefined, 2)).toBe("10.0.0.1");
    expect(resolveClientAddress("10.0.0.1", "203.0.113.7", 3)).toBe("203.0.113.7");
    expect(resolveClientAddress("10.0.0.1", " , ,", 1)).toBe("10.0.0.1");
  });

  it("is unknown without a socket address or with garbage", () => {
    expect(resolveClientAddress(undefined, undefined, 0)).toBeUndefined();
    expect(resolveClientAddress("10.0.0.1", "x".repeat(100), 1)).toBeUndefined();
  });
});

describe("normalizeAddress", () => {
  it("removes IPv4-mapped prefixes, brackets and ports and lower-cases", () => {
    expect(normalizeAddress("::FFFF:192.0.2.1")).toBe("192.0.2.1");
    expect(normalizeAddress("[2001:DB8::1]:443")).toBe("2001:db8::1");
    expect(normalizeAddress("192.0.2.1:8080")).toBe("192.0.2.1");
    expect(normalizeAddress("2001:db8::1")).toBe("2001:db8::1");
  });
});
