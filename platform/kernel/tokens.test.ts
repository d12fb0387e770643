import { describe, expect, it } from "vitest";
import type { TokenVerifier } from "../rpc/identity.js";
import type { ServiceContext } from "./context.js";
import { Registry, RegistryError } from "./registry.js";
import { defineService } from "./service.js";
import { create } from "@bufbuild/protobuf";
import { SessionEndedSchema } from "../../gen/orbit/user/v1/events_pb.js";
import { chooseTokenVerifier, revocationConsumer } from "./tokens.js";

const answering = (userId: string): TokenVerifier => ({ verify: async () => ({ userId }) });

const auth = defineService({
  name: "auth",
  verifiesTokens: { local: (ctx) => answering(`local:${ctx.service}`), remote: () => answering("remote") },
});
const other = defineService({ name: "other" });
const registry = new Registry([auth, other]);
const ctxOf = (name: string) => ({ service: name }) as ServiceContext;
const signal = new AbortController().signal;

function choose(o: { given?: TokenVerifier; local?: boolean; remote?: boolean; devTokens?: Record<string, string> }) {
  return chooseTokenVerifier({
    given: o.given,
    registry,
    local: new Map(o.local ? [[auth, ctxOf("auth")]] : [[other, ctxOf("other")]]),
    remote: new Map(o.remote ? [["auth", "http://auth:1"]] : []),
    devTokens: o.devTokens ?? {},
    client: () => {
      throw new Error("no client needed");
    },
  });
}

describe("the bundle's token check", () => {
  it("is the one given, then the provider's local check, then dev tokens, then its remote check, else none", async () => {
    const given = choose({ given: answering("given"), local: true, devTokens: { t: "1" } });
    expect(given.source).toBe("given");
    expect(await given.verifier.verify("x", signal)).toEqual({ userId: "given" });

    const local = choose({ local: true, devTokens: { t: "1" } });
    expect(local.source).toBe("auth (local)");
    expect(await local.verifier.verify("x", signal)).toEqual({ userId: "local:auth" });

    const dev = choose({ remote: true, devTokens: { t: "1" } });
    expect(dev.source).toBe("dev tokens");
    expect(await dev.verifier.verify("t", signal)).toEqual({ userId: "1" });
    expect(await dev.verifier.verify("x", signal)).toBeUndefined();

    const remote = choose({ remote: true });
    expect(remote.source).toBe("auth (remote)");
    expect(await remote.verifier.verify("x", signal)).toEqual({ userId: "remote" });

    const none = choose({});
    expect(none.source).toBe("none");
    expect(await none.verifier.verify("x", signal)).toBeUndefined();
  });

  it("gives the provider's remote check the provider's own settings, resolved in this bundle", async () => {
    const seen: unknown[] = [];
    const configured = defineService({
      name: "auth",
      verifiesTokens: {
        local: () => answering("local"),
        remote: (_client, settings) => (seen.push(settings), answering("remote")),
      },
    });
    const choice = chooseTokenVerifier({
      given: undefined,
      registry: new Registry([configured]),
      local: new Map(),
      remote: new Map([["auth", "http://auth:1"]]),
      devTokens: {},
      client: () => {
        throw new Error("no client needed");
      },
      settingsOf: (def) => ({ of: def.name, cacheMs: 0 }),
    });
    expect(choice.source).toBe("auth (remote)");
    expect(seen).toEqual([{ of: "auth", cacheMs: 0 }]);
  });

  it("is provided by one service of a registry at most", () => {
    const again = defineService({ name: "again", verifiesTokens: auth.verifiesTokens });
    expect(() => new Registry([auth, again])).toThrow(RegistryError);
    expect(() => new Registry([auth, again])).toThrow("auth and again both declare verifiesTokens");
    expect(registry.tokenProvider()).toBe(auth);
  });
});

describe("revocations", () => {
  const revocations = {
    group: "auth.sessions",
    events: [SessionEndedSchema],
    sessionOf: (m: unknown) => String((m as { sessionId: bigint }).sessionId),
  };

  it("come with the choice only when the verifier caches (has forgetSession)", () => {
    const forgotten: string[] = [];
    const caching = defineService({
      name: "auth",
      verifiesTokens: {
        local: () => ({ ...answering("1"), forgetSession: (s: string) => void forgotten.push(s) }),
        remote: () => answering("remote"),
        revocations,
      },
    });
    const pick = (local: boolean) =>
      chooseTokenVerifier({
        given: undefined,
        registry: new Registry([caching]),
        local: new Map(local ? [[caching, ctxOf("auth")]] : []),
        remote: new Map([["auth", "http://auth:1"]]),
        devTokens: {},
        client: () => {
          throw new Error("no client needed");
        },
      });
    const local = pick(true);
    expect(local.revocations).toBe(revocations);
    expect(pick(false).revocations).toBeUndefined();

    const c = revocationConsumer(local.revocations!, local.verifier, 7);
    expect(c).toMatchObject({ group: "auth.sessions.n7", startFrom: "latest", commit: "after" });
    const event = (message: unknown) =>
      ({ id: 1n, topic: "t", key: "", message, publishedAtMs: 0, attempt: 1 }) as never;
    c.handle!(event(create(SessionEndedSchema, { userId: 1n, sessionId: 42n })), {} as never);
    expect(forgotten).toEqual(["42"]);
  });
});
