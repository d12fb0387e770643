/**
 * Calls between services of one bundle: dispatched in-process without
 * serialization, without shared mutable objects, with Connect semantics
 * (codes, details, metadata, deadlines, cancellation, streams), and with the
 * caller's identity and trace.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EchoRequestSchema,
  EchoService,
  FailDetailSchema,
  MutateRequestSchema,
} from "../../gen/orbit/testing/v1/echo_pb.js";
import { RelayService } from "../../gen/orbit/testing/v1/relay_pb.js";
import { registry } from "../../services/registry.js";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { DEFAULT_CONFIG } from "../config/config.js";
import { silentLogger } from "../log.js";
import { Bundle } from "./bundle.js";

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

describe("in-process calls", () => {
  let store: TestStore;
  let bundle: Bundle;
  beforeAll(async () => {
    store = sqliteStore();
    bundle = await Bundle.start({
      registry,
      config: { ...DEFAULT_CONFIG, services: ["testing"], host: "127.0.0.1", port: 0, devTokens: { "tok-5": "5" } },
      db: store.db,
      log: silentLogger(),
    });
  });
  afterAll(async () => {
    await bundle?.stop();
    await store?.dispose();
  });

  it("dispatch without serializing", async () => {
    // A float field is rounded to 32 bits by the protobuf wire format; an
    // in-process call hands over the JS number as it is.
    const value = 0.1;
    const wire = fromBinary(EchoRequestSchema, toBinary(EchoRequestSchema, create(EchoRequestSchema, { value })));
    expect(wire.value).not.toBe(value);

    const echo = bundle.client(EchoService);
    expect((await echo.echo({ text: "x", value })).value).toBe(value);
    expect((await echo.whoAmI({})).protocol).toBe("in-process");

    // The same call over the network does serialize.
    const remote = createClient(EchoService, createConnectTransport({ baseUrl: bundle.url!, httpVersion: "2" }));
    expect((await remote.echo({ text: "x", value })).value).toBe(wire.value);
  });

  it("do not share mutable objects between caller and callee", async () => {
    const echo = bundle.client(EchoService);
    const req = create(MutateRequestSchema, { payload: { text: "mine", tags: ["a"] }, numbers: [1n] });
    const first = await echo.mutate(req);
    // The callee changed its request: the caller's is untouched.
    expect(req.payload).toMatchObject({ text: "mine", tags: ["a"] });
    expect(req.numbers).toEqual([1n]);
    // The caller changes what it got back: the callee's object is untouched.
    first.kept!.text = "changed by the caller";
    first.kept!.tags.push("caller");
    const second = await echo.mutate(req);
    expect(second.kept).toMatchObject({ text: "kept by echo", tags: ["original"] });
    expect(second.kept).not.toBe(first.kept);
    expect(second.calls).toBe(first.calls + 1n);
  });

  it("keep codes, messages, details and metadata of errors", async () => {
    const err = await failure(
      bundle.client(EchoService).fail({ code: Code.NotFound, message: "no such post", reason: "gone" }),
    );
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toBe("no such post");
    expect(err.findDetails(FailDetailSchema)).toMatchObject([{ reason: "gone", service: "echo" }]);
    expect(err.metadata.get("x-failed-by")).toBe("echo");

    // relay calls echo in-process and lets the error through.
    const relayed = await failure(
      bundle.client(RelayService).relayFail({ fail: { code: Code.AlreadyExists, message: "taken", reason: "dup" } }),
    );
    expect(relayed.code).toBe(Code.AlreadyExists);
    expect(relayed.findDetails(FailDetailSchema)).toMatchObject([{ reason: "dup" }]);
  });

  it("answer bad input with InvalidArgument", async () => {
    const echo = bundle.client(EchoService);
    expect((await failure(echo.fail({ code: 0 }))).code).toBe(Code.InvalidArgument);
    expect((await failure(echo.sleep({ ms: -1 }))).code).toBe(Code.InvalidArgument);
    expect((await failure(bundle.client(RelayService).relayFail({}))).code).toBe(Code.InvalidArgument);
    // Not valid UTF-8: the callee's copy of the request cannot be made.
    const lone = await failure(echo.echo({ text: "lone \uD800 surrogate" }));
    expect(lone.code).toBe(Code.InvalidArgument);
    expect(lone.rawMessage).toContain("invalid UTF8");
    const stream = echo.echoStream({ text: "x", count: -1 });
    await expect(async () => {
      for await (const _ of stream) void _;
    }).rejects.toMatchObject({ code: Code.InvalidArgument });
  });

  it("time out with DeadlineExceeded and stop on cancellation", async () => {
    const echo = bundle.client(EchoService);
    expect((await failure(echo.sleep({ ms: 10_000 }, { timeoutMs: 20 }))).code).toBe(Code.DeadlineExceeded);
    const ac = new AbortController();
    const call = echo.sleep({ ms: 10_000 }, { signal: ac.signal });
    ac.abort();
    expect((await failure(call)).code).toBe(Code.Canceled);
    // A relayed call inherits the caller's deadline.
    expect((await failure(bundle.client(RelayService).relaySleep({ ms: 10_000 }, { timeoutMs: 20 }))).code).toBe(
      Code.DeadlineExceeded,
    );
  });

  it("pass the caller's deadline on", async () => {
    const r = await bundle.client(RelayService).relayWhoAmI({}, { timeoutMs: 5_000 });
    expect(r.echo!.timeoutMs).toBeGreaterThan(0n);
    expect(r.echo!.timeoutMs).toBeLessThanOrEqual(r.relay!.timeoutMs);
    expect(r.relay!.timeoutMs).toBeLessThanOrEqual(5_000n);
    // Without one, an in-process call has none (a remote one gets --rpc-timeout).
    expect((await bundle.client(EchoService).whoAmI({})).timeoutMs).toBe(0n);
  });

  it("stream, with a copy of each message", async () => {
    const got = [];
    for await (const m of bundle.client(EchoService).echoStream({ text: "s", count: 3 })) got.push(m);
    expect(got.map((m) => [m.text, m.index])).toEqual([
      ["s", 0],
      ["s", 1],
      ["s", 2],
    ]);
  });

  it("carry the identity and trace of a network caller to the in-process callee", async () => {
    const relay = createClient(RelayService, createConnectTransport({ baseUrl: bundle.url!, httpVersion: "2" }));
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const r = await relay.relayWhoAmI(
      {},
      { headers: { authorization: "Bearer tok-5", traceparent: `00-${traceId}-00f067aa0ba902b7-01` } },
    );
    expect(r.relay).toMatchObject({ userId: "5", protocol: "connect", traceId });
    expect(r.echo).toMatchObject({ userId: "5", protocol: "in-process", traceId, requestId: r.relay!.requestId });

    // Called from outside any call (a start hook, a tool), the callee sees an anonymous caller.
    expect((await bundle.client(EchoService).whoAmI({})).userId).toBe("");
  });
});
