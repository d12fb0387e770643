/**
 * Two bundles: relay in A, echo in B, A reaching B through `--peer`.
 * Identity and trace cross the process boundary (signed with the cluster
 * secret); a forged identity header is refused; when B dies A's calls fail
 * fast with Unavailable, and when B comes back they succeed again.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EchoService } from "../gen/orbit/testing/v1/echo_pb.js";
import { RelayService } from "../gen/orbit/testing/v1/relay_pb.js";
import { ClusterSigner } from "../platform/rpc/cluster-signer.js";
import { freePort, startBundle, type BundleProcess } from "../test/support/bundle-process.js";

const SECRET = "two-process-test-cluster-secret";
const env = { ORBIT_CLUSTER_SECRET: SECRET };

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

describe("relay in one bundle, echo in another (--peer)", () => {
  let a: BundleProcess;
  let b: BundleProcess;
  let bPort: number;
  beforeAll(async () => {
    bPort = await freePort();
    b = await startBundle(["--services", "echo"], { port: bPort, env });
    a = await startBundle(
      ["--services", "relay", "--peer", `echo=http://127.0.0.1:${bPort}`, "--dev-token", "tok-a=1001"],
      {
        env,
      },
    );
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  const relayClient = () => createClient(RelayService, createConnectTransport({ baseUrl: a.url, httpVersion: "2" }));

  it("resolves relay locally and echo remotely", () => {
    const starting = a.logs().find((l) => l.msg === "starting bundle");
    expect(starting).toMatchObject({ services: ["relay"], peers: { echo: `http://127.0.0.1:${bPort}` } });
  });

  it("carries identity, trace, request id and deadline over the network", async () => {
    const r = await relayClient().relayWhoAmI(
      {},
      { headers: { authorization: "Bearer tok-a", "x-request-id": "edge-req-1" }, timeoutMs: 8_000 },
    );
    expect(r.relay).toMatchObject({ userId: "1001", protocol: "connect", requestId: "edge-req-1" });
    expect(r.echo).toMatchObject({ userId: "1001", protocol: "connect", requestId: "edge-req-1" });
    expect(r.echo!.traceId).toBe(r.relay!.traceId);
    expect(r.echo!.timeoutMs).toBeGreaterThan(0n);
    expect(r.echo!.timeoutMs).toBeLessThanOrEqual(8_000n);

    const anonymous = await relayClient().relayWhoAmI({});
    expect(anonymous.echo!.userId).toBe("");
  });

  it("keeps error codes, messages and details across processes", async () => {
    const err = await relayClient()
      .relayFail({ fail: { code: Code.PermissionDenied, message: "not yours", reason: "owner-check" } })
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(err?.code).toBe(Code.PermissionDenied);
    expect(err?.rawMessage).toBe("not yours");
    expect(err?.details).toHaveLength(1);
    expect(err?.details[0]).toMatchObject({ type: "orbit.testing.v1.FailDetail" });
  });

  it("refuses a forged identity header from an outside client", async () => {
    const echo = createClient(EchoService, createGrpcTransport({ baseUrl: b.url }));
    // Signed with a secret the cluster does not share.
    const forged = new ClusterSigner("not-the-cluster-secret!").sign(
      { userId: "1" },
      "/orbit.testing.v1.EchoService/WhoAmI",
    );
    expect(await codeOf(echo.whoAmI({}, { headers: { "orbit-identity": forged } }))).toBe(Code.Unauthenticated);
    expect(await codeOf(echo.whoAmI({}, { headers: { "orbit-identity": "v1.eyJ1IjoiMSJ9.AAAA" } }))).toBe(
      Code.Unauthenticated,
    );
    // Correctly signed, but for another method.
    const elsewhere = new ClusterSigner(SECRET).sign({ userId: "1" }, "/orbit.testing.v1.EchoService/Echo");
    expect(await codeOf(echo.whoAmI({}, { headers: { "orbit-identity": elsewhere } }))).toBe(Code.Unauthenticated);
    // The real thing works (what bundle A sends).
    const genuine = new ClusterSigner(SECRET).sign({ userId: "1" }, "/orbit.testing.v1.EchoService/WhoAmI");
    expect((await echo.whoAmI({}, { headers: { "orbit-identity": genuine } })).userId).toBe("1");
  });

  it("fails fast with Unavailable while the peer is down, and recovers when it is back", async () => {
    const relay = relayClient();
    expect((await relay.relay({ text: "before" })).text).toBe("before");

    expect(await b.stop("SIGKILL")).toMatchObject({ signal: "SIGKILL" });
    const codes: Array<Code | "ok"> = [];
    let lastMessage = "";
    for (let i = 0; i < 8; i++) {
      try {
        await relay.relay({ text: "while down" });
        codes.push("ok");
      } catch (err) {
        codes.push(ConnectError.from(err).code);
        lastMessage = ConnectError.from(err).rawMessage;
      }
    }
    expect(new Set(codes)).toEqual(new Set([Code.Unavailable]));
    // After repeated failures the circuit is open: calls no longer try the network.
    expect(lastMessage).toContain("circuit open");

    b = await startBundle(["--services", "echo"], { port: bPort, env });
    await expect
      .poll(
        () =>
          relay.relay({ text: "after" }).then(
            (r) => r.text,
            () => "still failing",
          ),
        { timeout: 15_000, interval: 200 },
      )
      .toBe("after");
  });
});
