/**
 * A session ended in one bundle is refused promptly by the others on the same store, though
 * they remember verified tokens for 60 s: every bundle consumes user.session_ended in a group
 * of its own node id (`user.sessions.n<id>`, platform/kernel/tokens.ts) and its token cache
 * forgets the session — the local cache of another bundle running the user service, and the
 * remote check of a bundle that reaches it with --peer. The per-node groups stay bounded: a
 * bundle that starts drops those of node ids whose lease ended.
 */
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lagByGroup } from "../../platform/events/lag.js";
import { startBundle, type BundleProcess } from "../../test/support/bundle-process.js";
import { codeOf } from "../../test/support/social-scenario.js";
import { signUp, socialClients } from "../../test/support/social-client.js";
import { BUNDLE_ENGINES, type TestStore } from "../../test/support/stores.js";

const env = { ORBIT_SCRYPT_LOG_N: "10", ORBIT_USER_SESSION_CACHE_MS: "60000" };

function nodeIdOf(b: BundleProcess): number {
  const line = b.logs().find((l) => typeof l.nodeId === "number" && l.msg.startsWith("node id"));
  if (!line) throw new Error("the bundle logged no node id");
  return line.nodeId as number;
}

async function sessionGroups(store: TestStore): Promise<string[]> {
  return (await lagByGroup(store.db)).map((g) => g.group).filter((g) => g.startsWith("user.sessions."));
}

/** Waits until `group` has handled every event in the log. */
async function caughtUp(store: TestStore, group: string): Promise<void> {
  await expect
    .poll(async () => (await lagByGroup(store.db)).find((g) => g.group === group)?.pending, { timeout: 20_000 })
    .toBe(0);
}

describe.each(BUNDLE_ENGINES)("session revocation across bundles ($name)", (engine) => {
  let store: TestStore;
  const started: BundleProcess[] = [];
  let a: BundleProcess; // user
  let b: BundleProcess; // user, on the same store
  let c: BundleProcess; // graph, verifying tokens through a's VerifyToken

  const start = async (args: string[]) => {
    const p = await startBundle([...args, ...engine.args(store)], { env });
    started.push(p);
    return p;
  };

  beforeAll(async () => {
    store = await engine.open();
    a = await start(["--services", "user"]);
    b = await start(["--services", "user"]);
    c = await start(["--services", "graph", "--peer", `user=${a.url}`]);
  }, 180_000);

  afterAll(async () => {
    for (const p of started) await p.stop();
    await store?.dispose();
  }, 60_000);

  it("LogOut in one bundle: the others refuse the token before their 60 s cache would", async () => {
    const me = await signUp(a.url, `rev${engine.name.toLowerCase()}`);
    const onB = socialClients(b.url, me.token);
    const onC = socialClients(c.url, me.token);
    // Both bundles verify the token now and remember it.
    expect((await onB.users.getMe({})).user?.id).toBe(me.user!.id);
    expect((await onC.graph.getFollowCounts({ userIds: [me.user!.id] })).counts).toHaveLength(1);
    expect(await codeOf(onB.users.getMe({}))).toBe("ok");

    await me.api.users.logOut({});
    expect(await codeOf(me.api.users.getMe({}))).toBe(Code.Unauthenticated);

    // Without the event, b would accept the token from its cache for 60 s.
    await expect.poll(() => codeOf(onB.users.getMe({})), { timeout: 20_000 }).toBe(Code.Unauthenticated);
    // c remembers for 5 s: once its group has handled the end, the next call is refused.
    await caughtUp(store, `user.sessions.n${nodeIdOf(c)}`);
    expect(await codeOf(onC.graph.getFollowCounts({ userIds: [me.user!.id] }))).toBe(Code.Unauthenticated);
  }, 90_000);

  it("RevokeSession from another device: the revoked token is refused elsewhere", async () => {
    const me = await signUp(a.url, `rvk${engine.name.toLowerCase()}`);
    const other = await socialClients(a.url).users.logIn({
      handle: `rvk${engine.name.toLowerCase()}`,
      password: `pw-rvk${engine.name.toLowerCase()}-secret`,
      deviceName: "laptop",
    });
    // a remembers the token; the revocation is served by b.
    expect(await codeOf(me.api.users.getMe({}))).toBe("ok");
    const fromLaptop = socialClients(b.url, other.token);
    const listed = await fromLaptop.users.listSessions({});
    const first = listed.sessions.find((s) => !s.current);
    expect(first).toBeDefined();
    await fromLaptop.users.revokeSession({ sessionId: first!.id });
    await expect.poll(() => codeOf(me.api.users.getMe({})), { timeout: 20_000 }).toBe(Code.Unauthenticated);
    expect(await codeOf(socialClients(a.url, other.token).users.getMe({}))).toBe("ok");
  }, 90_000);

  it("keeps one group per running node: a starting bundle drops those of stopped ones", async () => {
    const ids = [a, b, c].map(nodeIdOf);
    expect(new Set(ids).size).toBe(3);
    expect((await sessionGroups(store)).sort()).toEqual(ids.map((id) => `user.sessions.n${id}`).sort());
    await b.stop();
    await c.stop();
    // Their node leases are released; d may lease one of their ids again.
    const d = await start(["--services", "user"]);
    const live = [a, d].map(nodeIdOf);
    await expect
      .poll(async () => (await sessionGroups(store)).sort())
      .toEqual(live.map((id) => `user.sessions.n${id}`).sort());
  }, 120_000);
});
