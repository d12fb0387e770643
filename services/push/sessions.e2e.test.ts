/**
 * A session that ends while its devices are connected: LogOut, RevokeSession
 * and a new sign-in on the same device publish user.session_ended in the user
 * service's transaction; the gateway closes that session's sockets (4401 with
 * the reason) and ends its Subscribe streams (Unauthenticated), and refuses
 * the token afterwards. Over real sockets: one bundle (SQLite and MariaDB),
 * and the user service in one bundle with two gateways in others (MariaDB,
 * Redis), where a token checked remotely is still remembered for a few
 * seconds after the logout.
 */
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PushService, type Update } from "../../gen/orbit/push/v1/push_pb.js";
import { UserService } from "../../gen/orbit/user/v1/user_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { silentLogger } from "../../platform/log.js";
import { PushClient } from "../../test/support/push-client.js";
import { ENGINES, mysqlStore, type TestStore } from "../../test/support/stores.js";
import { registry } from "../registry.js";

const REDIS = `redis://127.0.0.1:${Number(process.env.ORBIT_TEST_REDIS_PORT ?? 6379)}`;
const SECRET = "push-sessions-test-cluster-secret-0123456789";

function users(baseUrl: string, token?: string): Client<typeof UserService> {
  return createClient(
    UserService,
    createConnectTransport({
      baseUrl,
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

/** A Subscribe stream read in the background: its updates and how it ended. */
function subscribe(baseUrl: string, token: string) {
  const rpc = createClient(PushService, createConnectTransport({ baseUrl, httpVersion: "2" }));
  const got: Update[] = [];
  const s = { got, ended: undefined as { code: number; message: string } | undefined, done: Promise.resolve() };
  s.done = (async () => {
    try {
      for await (const u of rpc.subscribe({ afterSequence: 0n }, { headers: { authorization: `Bearer ${token}` } })) {
        got.push(u);
      }
      s.ended = { code: 0, message: "" };
    } catch (err) {
      const e = err as { code?: number; rawMessage?: string };
      s.ended = { code: e.code ?? -1, message: e.rawMessage ?? String(err) };
    }
  })();
  return s;
}

describe.each(ENGINES)("sessions ending while connected, one bundle on $name", (engine) => {
  let store: TestStore;
  let bundle: Bundle;
  const clients: PushClient[] = [];

  beforeAll(async () => {
    store = await engine.open();
    bundle = await Bundle.start({
      registry,
      config: {
        ...DEFAULT_CONFIG,
        services: ["push", "user"],
        host: "127.0.0.1",
        port: 0,
        settings: { user: { scryptLogN: 10 } },
      },
      db: store.db,
      log: silentLogger(),
    });
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) await c.close();
    await bundle?.stop();
    await store?.dispose();
  });

  async function hello(token: string): Promise<PushClient> {
    const c = await PushClient.connect(bundle.url!, { token });
    clients.push(c);
    await expect.poll(() => c.of("hello").length + (c.closed ? 10 : 0)).toBe(1);
    return c;
  }

  it("closes the sockets and streams of a session that logs out, is revoked or replaced; the others stay", async () => {
    const url = bundle.url!;
    const anon = users(url);
    const phone = await anon.signUp({ handle: "sess_ann", password: "correct horse", deviceName: "phone" });
    const laptop = await anon.logIn({ handle: "sess_ann", password: "correct horse", deviceName: "laptop" });
    const tablet = await anon.logIn({ handle: "sess_ann", password: "correct horse", deviceName: "tablet" });

    const phoneWs = await hello(phone.token);
    const phoneJsonWs = await PushClient.connect(url, { token: phone.token, json: true, firstFrame: true });
    clients.push(phoneJsonWs);
    await expect.poll(() => phoneJsonWs.of("hello").length).toBe(1);
    const phoneStream = subscribe(url, phone.token);
    await expect.poll(() => phoneStream.got.filter((u) => u.payload.case === "hello").length).toBe(1);
    const laptopWs = await hello(laptop.token);
    const tabletWs = await hello(tablet.token);

    // LogOut: every connection of the phone's session ends, with the reason.
    await users(url, phone.token).logOut({});
    expect(await phoneWs.closedP).toEqual({ code: 4401, reason: "the session has ended: logged out" });
    expect(await phoneJsonWs.closedP).toEqual({ code: 4401, reason: "the session has ended: logged out" });
    await phoneStream.done;
    expect(phoneStream.ended).toEqual({ code: 16, message: "the session has ended: logged out" });
    expect(laptopWs.closed).toBeUndefined();
    expect(tabletWs.closed).toBeUndefined();

    // The token no longer opens a socket or a stream.
    const again = await PushClient.connect(url, { token: phone.token });
    clients.push(again);
    await again.closedP;
    expect(again.refusedStatus).toBe(401);
    const refused = subscribe(url, phone.token);
    await refused.done;
    expect(refused.ended?.code).toBe(16);

    // RevokeSession from the laptop ends the tablet's connection.
    const laptopUsers = users(url, laptop.token);
    const { sessions } = await laptopUsers.listSessions({});
    const tabletSession = sessions.find((s) => s.deviceName === "tablet")!;
    await laptopUsers.revokeSession({ sessionId: tabletSession.id });
    expect(await tabletWs.closedP).toEqual({
      code: 4401,
      reason: "the session has ended: revoked from another device",
    });
    expect(laptopWs.closed).toBeUndefined();

    // A new sign-in on the laptop replaces its session: the old one's socket ends; the new token connects.
    const laptop2 = await anon.logIn({ handle: "sess_ann", password: "correct horse", deviceName: "laptop" });
    expect(await laptopWs.closedP).toEqual({
      code: 4401,
      reason: "the session has ended: signed in again on this device",
    });
    const fresh = await hello(laptop2.token);
    expect(fresh.closed).toBeUndefined();
    expect(fresh.of("hello")[0]!.userId).toBe(phone.user!.id);
  });
});

describe("sessions ending while connected: user in one bundle, two gateways in others (MariaDB, Redis)", () => {
  let store: TestStore;
  let accounts: Bundle;
  const gateways: Bundle[] = [];
  const clients: PushClient[] = [];

  beforeAll(async () => {
    store = await mysqlStore();
    const base = {
      ...DEFAULT_CONFIG,
      host: "127.0.0.1",
      port: 0,
      clusterSecret: SECRET,
      redis: REDIS,
      settings: { user: { scryptLogN: 10 } },
    };
    accounts = await Bundle.start({
      registry,
      config: { ...base, services: ["user"], nodeId: 1 },
      db: store.db,
      log: silentLogger(),
    });
    for (const nodeId of [2, 3]) {
      gateways.push(
        await Bundle.start({
          registry,
          config: { ...base, services: ["push"], nodeId, peers: { user: accounts.url!, media: accounts.url! } },
          db: store.db,
          log: silentLogger(),
        }),
      );
    }
  }, 90_000);
  afterAll(async () => {
    for (const c of clients) await c.close();
    for (const g of gateways) await g.stop();
    await accounts?.stop();
    await store?.dispose();
  });

  async function hello(gateway: Bundle, token: string): Promise<PushClient> {
    const c = await PushClient.connect(gateway.url!, { token });
    clients.push(c);
    await expect.poll(() => c.of("hello").length + (c.closed ? 10 : 0)).toBe(1);
    return c;
  }

  it("runs the user service apart from the gateways", () => {
    expect(accounts.services).not.toContain("push");
    for (const g of gateways) expect(g.services).not.toContain("user");
  });

  it("closes the session's sockets on every gateway and refuses the token there at once", async () => {
    const anon = users(accounts.url!);
    const phone = await anon.signUp({ handle: "sess_bob", password: "correct horse", deviceName: "phone" });
    const laptop = await anon.logIn({ handle: "sess_bob", password: "correct horse", deviceName: "laptop" });
    const [g1, g2] = gateways as [Bundle, Bundle];

    const onG1 = await hello(g1, phone.token);
    const onG2 = await hello(g2, phone.token);
    const stream = subscribe(g2.url!, phone.token);
    await expect.poll(() => stream.got.filter((u) => u.payload.case === "hello").length).toBe(1);
    const laptopOnG1 = await hello(g1, laptop.token);

    await users(accounts.url!, phone.token).logOut({});
    const logout = { code: 4401, reason: "the session has ended: logged out" };
    expect(await onG1.closedP).toEqual(logout);
    expect(await onG2.closedP).toEqual(logout);
    await stream.done;
    expect(stream.ended).toEqual({ code: 16, message: "the session has ended: logged out" });
    expect(laptopOnG1.closed).toBeUndefined();

    // Each gateway remembers the token's remote check for a few seconds; the ended session is refused anyway.
    for (const g of gateways) {
      const again = await PushClient.connect(g.url!, { token: phone.token });
      clients.push(again);
      const closed = await again.closedP;
      if (again.refusedStatus === undefined) expect(closed.code).toBe(4401);
      else expect(again.refusedStatus).toBe(401);
    }
    expect(laptopOnG1.closed).toBeUndefined();
  }, 60_000);
});
