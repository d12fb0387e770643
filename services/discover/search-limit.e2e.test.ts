/**
 * Searches per caller (`--discover-searches-per-minute`, issue 12: expensive
 * methods are limited per user and per address): an anonymous caller is
 * limited by its address, a signed-in user by their account, each apart.
 */
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiscoverService } from "../../gen/orbit/discover/v1/discover_pb.js";
import { startBundle, type BundleProcess } from "../../test/support/bundle-process.js";
import { signUp } from "../../test/support/social-client.js";
import { codeOf } from "../../test/support/social-scenario.js";

let b: BundleProcess;

beforeAll(async () => {
  b = await startBundle(["--services", "social,discover", "--discover-searches-per-minute", "2"], {
    env: { ORBIT_SCRYPT_LOG_N: "10" },
  });
});
afterAll(async () => {
  await b?.stop();
});

function discover(token?: string) {
  return createClient(
    DiscoverService,
    createConnectTransport({
      baseUrl: b.url,
      httpVersion: "2",
      interceptors: token
        ? [
            (next) => (req) => {
              req.header.set("authorization", `Bearer ${token}`);
              return next(req);
            },
          ]
        : [],
    }),
  );
}

describe("searches per caller", () => {
  it("limits an anonymous address and a signed-in user apart", async () => {
    const ann = await signUp(b.url, "searcher");
    const anon = discover();
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push(await codeOf(anon.searchUsers({ query: "sea" })));
    expect(codes).toEqual(["ok", "ok", Code.ResourceExhausted]);
    // The user (same address) has their own budget, over both search methods.
    const me = discover(ann.token);
    expect(await codeOf(me.searchUsers({ query: "sea" }))).toBe("ok");
    expect(await codeOf(me.searchPosts({ query: "kittens" }))).toBe("ok");
    expect(await codeOf(me.searchPosts({ query: "kittens" }))).toBe(Code.ResourceExhausted);
  }, 60_000);
});
