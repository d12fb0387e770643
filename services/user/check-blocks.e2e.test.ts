/**
 * CheckBlocks (CheckBlock for many pairs at once), over the network on SQLite
 * and MariaDB: refused to outside callers, signed in or not; for a service
 * (an identity signed with the cluster secret), one answer per pair in the
 * request's order, either direction of a block counting, past one statement's
 * worth of pairs; bad input answers InvalidArgument.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserService } from "../../gen/orbit/user/v1/user_pb.js";
import type { Bundle } from "../../platform/kernel/bundle.js";
import { ClusterSigner, IDENTITY_HEADER } from "../../platform/rpc/cluster-signer.js";
import { chatUsers, startChatBundle, type ChatUser } from "../../test/support/chat-client.js";
import { mysqlStore, sqliteStore, type TestStore } from "../../test/support/stores.js";

const SECRET = "check-blocks-cluster-secret";

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

/** A UserService client calling as a service of the deployment (no user). */
function serviceClient(baseUrl: string) {
  const signer = new ClusterSigner(SECRET);
  return createClient(
    UserService,
    createConnectTransport({
      baseUrl,
      httpVersion: "2",
      interceptors: [
        (next) => (req) => {
          req.header.set(IDENTITY_HEADER, signer.sign(undefined, new URL(req.url).pathname));
          return next(req);
        },
      ],
    }),
  );
}

const targets: [string, () => Promise<TestStore>][] = [
  ["SQLite", async () => sqliteStore()],
  ["MariaDB", () => mysqlStore()],
];

describe.each(targets)("CheckBlocks on %s", (_name, open) => {
  let store: TestStore;
  let bundle: Bundle;
  let users: ChatUser[];
  const tag = Math.random().toString(36).slice(2, 7);

  beforeAll(async () => {
    store = await open();
    bundle = await startChatBundle(store.db, {}, { clusterSecret: SECRET });
    users = await chatUsers(bundle.url!, `k${tag}_`, 6);
  }, 60_000);
  afterAll(async () => {
    await bundle?.stop();
    await store?.dispose();
  });

  it("refuses outside callers, signed in or not", async () => {
    const [u0, u1] = users as [ChatUser, ChatUser];
    const req = { pairs: [{ userA: u0.id, userB: u1.id }] };
    expect(await codeOf(u0.users.checkBlocks(req))).toBe(Code.PermissionDenied);
    const anonymous = createClient(UserService, createConnectTransport({ baseUrl: bundle.url!, httpVersion: "2" }));
    expect(await codeOf(anonymous.checkBlocks(req))).toBe(Code.PermissionDenied);
  });

  it("answers each pair in order, either direction, across many pairs", async () => {
    const [u0, u1, u2, u3, u4, u5] = users as [ChatUser, ChatUser, ChatUser, ChatUser, ChatUser, ChatUser];
    await u0.users.block({ userId: u1.id });
    await u3.users.block({ userId: u2.id });
    await u4.users.block({ userId: u5.id });
    await u4.users.unblock({ userId: u5.id });
    const blocked = new Set([`${u0.id}/${u1.id}`, `${u1.id}/${u0.id}`, `${u2.id}/${u3.id}`, `${u3.id}/${u2.id}`]);
    const ids = [...users.map((u) => u.id), 4_242_424_242n];
    // Every ordered pair, repeated until past one statement's 250 pairs (and twice the same pair).
    const pairs: { userA: bigint; userB: bigint }[] = [];
    while (pairs.length < 600) for (const a of ids) for (const b of ids) pairs.push({ userA: a, userB: b });
    const r = await serviceClient(bundle.url!).checkBlocks({ pairs });
    expect(r.blocked).toEqual(pairs.map((p) => blocked.has(`${p.userA}/${p.userB}`)));
    expect(r.blocked.filter(Boolean).length).toBeGreaterThan(0);
    expect((await serviceClient(bundle.url!).checkBlocks({ pairs: [] })).blocked).toEqual([]);
  });

  it("bad input: InvalidArgument", async () => {
    const [u0] = users as [ChatUser];
    const svc = serviceClient(bundle.url!);
    expect(await codeOf(svc.checkBlocks({ pairs: [{ userA: u0.id, userB: 0n }] }))).toBe(Code.InvalidArgument);
    const many = Array.from({ length: 1001 }, () => ({ userA: u0.id, userB: u0.id + 1n }));
    expect(await codeOf(svc.checkBlocks({ pairs: many }))).toBe(Code.InvalidArgument);
  });
});
