/**
 * The unary fast path answers exactly like the Connect adapter: the same
 * messages, codes, details, headers and trailers, whichever protocol and
 * HTTP version a client uses. JSON requests still take the adapter, so
 * comparing JSON and binary answers compares the two paths.
 */
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import {
  compressionGzip,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EchoService, FailDetailSchema } from "../../gen/orbit/testing/v1/echo_pb.js";
import { registry } from "../../services/registry.js";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { DEFAULT_CONFIG } from "../config/config.js";
import { Bundle } from "../kernel/bundle.js";
import { silentLogger } from "../log.js";

let store: TestStore;
let bundle: Bundle;
beforeAll(async () => {
  store = sqliteStore();
  bundle = await Bundle.start({
    registry,
    config: { ...DEFAULT_CONFIG, services: ["echo"], host: "127.0.0.1", port: 0, devTokens: { t: "9" } },
    db: store.db,
    log: silentLogger(),
  });
});
afterAll(async () => {
  await bundle?.stop();
  await store?.dispose();
});

const transports: Record<string, () => Transport> = {
  "connect binary h2 (fast path)": () =>
    createConnectTransport({ baseUrl: bundle.url!, httpVersion: "2", useBinaryFormat: true }),
  "connect binary h1 (fast path)": () =>
    createConnectTransport({ baseUrl: bundle.url!, httpVersion: "1.1", useBinaryFormat: true }),
  "grpc (fast path)": () => createGrpcTransport({ baseUrl: bundle.url! }),
  "connect json h2 (adapter)": () => createConnectTransport({ baseUrl: bundle.url!, httpVersion: "2" }),
  "grpc-web (adapter)": () => createGrpcWebTransport({ baseUrl: bundle.url!, httpVersion: "2" }),
  "connect binary gzip (adapter)": () =>
    createConnectTransport({
      baseUrl: bundle.url!,
      httpVersion: "2",
      useBinaryFormat: true,
      sendCompression: compressionGzip,
      compressMinBytes: 0,
    }),
};

interface Seen {
  echo: unknown;
  headerRequestId: boolean;
  error: { code: Code; message: string; details: unknown; failedBy: string | null };
  whoAmI: unknown;
  deadline: boolean;
  invalid: Code;
}

async function observe(client: Client<typeof EchoService>): Promise<Seen> {
  let headerRequestId = false;
  const echo = await client.echo(
    { text: "ünïcode ✓", value: 1.5 },
    { onHeader: (h) => (headerRequestId = /^[0-9a-f]{16}$/.test(h.get("x-request-id") ?? "")) },
  );
  let error: Seen["error"] | undefined;
  try {
    await client.fail({ code: Code.FailedPrecondition, message: "nope ✗", reason: "because" });
  } catch (err) {
    const e = ConnectError.from(err);
    error = {
      code: e.code,
      message: e.rawMessage,
      details: e.findDetails(FailDetailSchema),
      failedBy: e.metadata.get("x-failed-by"),
    };
  }
  const who = await client.whoAmI({}, { headers: { authorization: "Bearer t" }, timeoutMs: 5_000 });
  let invalid: Code = Code.Unknown;
  try {
    await client.sleep({ ms: -1 });
  } catch (err) {
    invalid = ConnectError.from(err).code;
  }
  return {
    echo: { text: echo.text, value: echo.value },
    headerRequestId,
    error: error!,
    whoAmI: { userId: who.userId },
    deadline: who.timeoutMs > 0n && who.timeoutMs <= 5_000n,
    invalid,
  };
}

describe("unary fast path", () => {
  it("answers like the Connect adapter on every protocol", async () => {
    const seen: Record<string, Seen> = {};
    for (const [name, make] of Object.entries(transports))
      seen[name] = await observe(createClient(EchoService, make()));
    const expected: Seen = {
      echo: { text: "ünïcode ✓", value: 1.5 },
      headerRequestId: true,
      error: {
        code: Code.FailedPrecondition,
        message: "nope ✗",
        details: [expect.objectContaining({ reason: "because", service: "echo" })],
        failedBy: "echo",
      },
      whoAmI: { userId: "9" },
      deadline: true,
      invalid: Code.InvalidArgument,
    };
    for (const [name, s] of Object.entries(seen)) expect({ name, ...s }).toEqual({ name, ...expected });
  });

  it("ends calls at their deadline on every protocol", async () => {
    for (const [name, make] of Object.entries(transports)) {
      const c = createClient(EchoService, make());
      await expect(c.sleep({ ms: 5_000 }, { timeoutMs: 30 }), name).rejects.toMatchObject({
        code: Code.DeadlineExceeded,
      });
    }
  });

  it("tells the handler when the client goes away", async () => {
    for (const make of [transports["connect binary h2 (fast path)"]!, transports["grpc (fast path)"]!]) {
      const metrics = () => bundle.metrics.registry.getSingleMetricAsString("orbit_rpc_server_handled_total");
      const before = await metrics();
      const ac = new AbortController();
      const call = createClient(EchoService, make()).sleep({ ms: 30_000 }, { signal: ac.signal });
      setTimeout(() => ac.abort(), 50);
      await expect(call).rejects.toMatchObject({ code: Code.Canceled });
      // The handler's signal aborted, so its 30 s sleep ended early and the call was counted.
      await expect.poll(metrics, { timeout: 5_000 }).not.toBe(before);
    }
  });
});
