/**
 * Every network entry point of a bundle answers malformed input with the
 * right Connect code, whatever the protocol.
 */
import http from "node:http";
import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registry } from "../../services/registry.js";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { DEFAULT_CONFIG } from "../config/config.js";
import { silentLogger } from "../log.js";
import { Bundle } from "./bundle.js";

const ECHO = "/orbit.testing.v1.EchoService";

let store: TestStore;
let bundle: Bundle;
let url: string;
beforeAll(async () => {
  store = sqliteStore();
  bundle = await Bundle.start({
    registry,
    config: { ...DEFAULT_CONFIG, services: ["echo"], host: "127.0.0.1", port: 0, devTokens: { good: "1" } },
    db: store.db,
    log: silentLogger(),
  });
  url = bundle.url!;
});
afterAll(async () => {
  await bundle?.stop();
  await store?.dispose();
});

async function connect(path: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : new Blob([new Uint8Array(body)]),
  });
  const text = await res.text();
  let json: { code?: string; message?: string } = {};
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    // not JSON
  }
  return { status: res.status, code: json.code, message: json.message };
}

/** A raw gRPC call over HTTP/2: returns grpc-status and grpc-message. */
function grpc(path: string, frame: Buffer, headers: Record<string, string> = {}) {
  return new Promise<{ status: string | undefined; message: string | undefined }>((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const s = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    let status: string | undefined;
    let message: string | undefined;
    const take = (h: http2.IncomingHttpHeaders) => {
      status ??= h["grpc-status"] as string | undefined;
      message ??= h["grpc-message"] as string | undefined;
    };
    s.on("response", take);
    s.on("trailers", take);
    s.resume();
    s.on("end", () => {
      session.close();
      resolve({ status, message: message && decodeURIComponent(message) });
    });
    s.on("error", reject);
    s.end(frame);
  });
}

function envelope(payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

describe("malformed requests", () => {
  it("bad JSON, wrong field types and undecodable protobuf: invalid_argument", async () => {
    expect(await connect(`${ECHO}/Echo`, "{not json")).toMatchObject({ status: 400, code: "invalid_argument" });
    expect(await connect(`${ECHO}/Echo`, JSON.stringify({ text: 5 }))).toMatchObject({ code: "invalid_argument" });
    expect(await connect(`${ECHO}/Fail`, JSON.stringify({ code: "abc" }))).toMatchObject({ code: "invalid_argument" });
    // A body that is not protobuf is the client's bug: invalid_argument (as connect-go), on every protocol
    // (protocol-edges.test.ts checks the others).
    expect(
      await connect(`${ECHO}/Echo`, Buffer.from([0xff, 0xff, 0xff]), { "content-type": "application/proto" }),
    ).toMatchObject({ status: 400, code: "invalid_argument", message: expect.stringContaining("parse binary") });
    expect(await grpc(`${ECHO}/Echo`, envelope(Buffer.from([0xff, 0xff, 0xff])))).toMatchObject({ status: "3" });
    // A frame that claims more bytes than it carries.
    expect(await grpc(`${ECHO}/Echo`, Buffer.from([0, 0, 0, 0, 9, 1]))).toMatchObject({ status: "3" });
  });

  it("values the handler refuses: invalid_argument", async () => {
    expect(await connect(`${ECHO}/Sleep`, JSON.stringify({ ms: -5 }))).toMatchObject({
      code: "invalid_argument",
      message: "ms must be in 0..60000",
    });
    expect(await connect(`${ECHO}/Flaky`, JSON.stringify({ key: "" }))).toMatchObject({ code: "invalid_argument" });
  });

  it("unknown procedures: unimplemented; wrong method or media type refused", async () => {
    expect(await connect(`${ECHO}/NoSuchMethod`, "{}")).toMatchObject({ status: 404, code: "unimplemented" });
    expect(await connect("/orbit.nope.v1.NopeService/Do", "{}")).toMatchObject({ status: 404 });
    expect(await grpc("/orbit.nope.v1.NopeService/Do", envelope(Buffer.alloc(0)))).toMatchObject({
      status: "12",
      message: "no procedure or route at /orbit.nope.v1.NopeService/Do",
    });
    expect((await connect(`${ECHO}/Echo`, "hi", { "content-type": "text/plain" })).status).toBe(415);
    expect((await fetch(`${url}${ECHO}/Mutate`)).status).toBe(405); // GET only for NO_SIDE_EFFECTS methods
  });

  it("bad deadlines: invalid_argument", async () => {
    expect(await connect(`${ECHO}/Echo`, "{}", { "connect-timeout-ms": "soon" })).toMatchObject({
      code: "invalid_argument",
    });
    expect(await grpc(`${ECHO}/Echo`, envelope(Buffer.alloc(0)), { "grpc-timeout": "later" })).toMatchObject({
      status: "3",
    });
  });

  it("bad credentials: unauthenticated", async () => {
    for (const authorization of ["Basic dXNlcjpwYXNz", "Bearer", "Bearer unknown-token", "Bearer a b"]) {
      expect(await connect(`${ECHO}/WhoAmI`, "{}", { authorization })).toMatchObject({ code: "unauthenticated" });
    }
    expect(await connect(`${ECHO}/WhoAmI`, "{}", { "orbit-identity": "v1.e30.AAAA" })).toMatchObject({
      code: "unauthenticated",
    });
    expect(await grpc(`${ECHO}/WhoAmI`, envelope(Buffer.alloc(0)), { authorization: "Bearer unknown" })).toMatchObject({
      status: "16",
      message: "invalid or expired token",
    });
    expect(await connect(`${ECHO}/WhoAmI`, "{}", { authorization: "Bearer good" })).toMatchObject({ status: 200 });
  });

  it("bodies over the limit: resource_exhausted, without reading them", async () => {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${url}${ECHO}/Echo`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": String(64 * 1024 * 1024) },
      });
      req.on("response", (r) => {
        let body = "";
        r.on("data", (d) => (body += d));
        r.on("end", () => resolve({ status: r.statusCode!, body }));
      });
      req.on("error", reject);
      req.write("{");
    });
    expect(JSON.parse(res.body)).toMatchObject({ code: "resource_exhausted" });
  });

  it("a bad traceparent or request id is replaced, not trusted", async () => {
    const res = await fetch(`${url}${ECHO}/WhoAmI`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: "nonsense", "x-request-id": "bad id with spaces" },
      body: "{}",
    });
    const body = (await res.json()) as { traceId: string; requestId: string };
    expect(body.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(body.requestId).toMatch(/^[0-9a-f]{16}$/);
  });
});
