import { describe, expect, it } from "vitest";
import { EchoService } from "../../gen/orbit/testing/v1/echo_pb.js";
import { MODULES, registry } from "../../services/registry.js";
import { Registry, RegistryError, UnknownServiceError } from "./registry.js";
import { defineGroup, defineService } from "./service.js";

const svc = (name: string, deps: string[] = []) => defineService({ name, deps });

describe("Registry", () => {
  const reg = new Registry([
    defineGroup("all", "", ["feed", "post", "user"]),
    svc("feed", ["post", "user"]),
    svc("post", ["user"]),
    defineGroup("social", "", ["feed"]),
    svc("user"),
  ]);

  it("expands groups and pulls in dependencies, dependencies first", () => {
    expect(reg.resolve(["social"]).local.map((s) => s.name)).toEqual(["user", "post", "feed"]);
    expect(reg.resolve(["all"]).local.map((s) => s.name)).toEqual(["user", "post", "feed"]);
    expect(reg.resolve(["post"]).local.map((s) => s.name)).toEqual(["user", "post"]);
  });

  it("leaves a dependency given with --peer to the network", () => {
    const r = reg.resolve(["feed"], { post: "http://p:1", user: "http://u:1" });
    expect(r.local.map((s) => s.name)).toEqual(["feed"]);
    expect([...r.remote]).toEqual([
      ["post", "http://p:1"],
      ["user", "http://u:1"],
    ]);
    expect(r.unusedPeers).toEqual([]);
    expect(reg.resolve(["user"], { feed: "http://f:1" }).unusedPeers).toEqual(["feed"]);
  });

  it("rejects unknown names with the known ones", () => {
    const err = (() => {
      try {
        reg.resolve(["feed", "chat", "dm"]);
      } catch (e) {
        return e as UnknownServiceError;
      }
    })();
    expect(err).toBeInstanceOf(UnknownServiceError);
    expect(err?.message).toBe('unknown services "chat", "dm"; known services: feed, post, user; groups: all, social');
    expect(() => reg.resolve(["user"], { social: "http://x" })).toThrow('unknown peer service "social"');
  });

  it("refuses a service both local and remote", () => {
    expect(() => reg.resolve(["feed"], { feed: "http://x" })).toThrow(RegistryError);
  });

  it("checks the table itself", () => {
    expect(() => new Registry([svc("a"), svc("a")])).toThrow("module a is declared twice");
    expect(() => new Registry([svc("a", ["b"])])).toThrow("service a depends on unknown module b");
    expect(() => new Registry([svc("a", ["g"]), defineGroup("g", "", [])])).toThrow("services depend on services");
    expect(() => new Registry([svc("a", ["b"]), svc("b", ["c"]), svc("c", ["a"])])).toThrow(
      "dependency cycle: a → b → c → a",
    );
    const e1 = defineService({ name: "e1", api: [EchoService] });
    const e2 = defineService({ name: "e2", api: [EchoService] });
    expect(() => new Registry([e1, e2])).toThrow("orbit.testing.v1.EchoService is implemented by both e1 and e2");
    expect(() => defineService({ name: "Bad Name" })).toThrow("must be lowercase");
  });

  it("finds the owner of a Connect service", () => {
    expect(registry.ownerOf(EchoService)?.name).toBe("echo");
    expect(registry.ownerOf("no.such.Service")).toBeUndefined();
  });
});

describe("services/registry.ts", () => {
  it("is one table sorted by name", () => {
    const names = MODULES.map((m) => m.name);
    expect(names).toEqual([...names].sort());
  });

  it("puts every product service in `all`, and no fixture", () => {
    const fixtures = new Set(registry.expand("testing").map((s) => s.name));
    const all = new Set(registry.expand("all").map((s) => s.name));
    for (const s of registry.services()) expect(all.has(s.name) || fixtures.has(s.name)).toBe(true);
    for (const f of fixtures) expect(all.has(f)).toBe(false);
  });
});
