/**
 * The protocol edges a client nobody on the team wrote runs into, checked on
 * the wire (raw HTTP/1.1 and HTTP/2, test/support/wire.ts): CORS, gRPC-Web
 * text, malformed binary messages, gRPC and Connect compression, an unknown
 * method answered only after the request body, and one deadline rule for
 * every protocol.
 */
import http2 from "node:http2";
import { gunzipSync, gzipSync } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EchoRequestSchema,
  EchoResponseSchema,
  EchoStreamRequestSchema,
  SleepRequestSchema,
} from "../../gen/orbit/testing/v1/echo_pb.js";
import { registry } from "../../services/registry.js";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import {
  envelope,
  frames,
  grpcStatus,
  grpcWebTrailers,
  h1,
  h2,
  h2Open,
  h2On,
  h2Result,
} from "../../test/support/wire.js";
import { DEFAULT_CONFIG } from "../config/config.js";
import { silentLogger } from "../log.js";
import { Bundle } from "./bundle.js";

const ECHO = "/orbit.testing.v1.EchoService";
const APP = "https://app.example.com";

let store: TestStore;
let bundle: Bundle;
let url: string;
beforeAll(async () => {
  store = sqliteStore();
  bundle = await Bundle.start({
    registry,
    config: { ...DEFAULT_CONFIG, services: ["echo"], host: "127.0.0.1", port: 0, corsOrigins: [APP] },
    db: store.db,
    log: silentLogger(),
  });
  url = bundle.url!;
});
afterAll(async () => {
  await bundle?.stop();
  await store?.dispose();
});

const echoBytes = (text: string) => Buffer.from(toBinary(EchoRequestSchema, create(EchoRequestSchema, { text })));
const sleepBytes = (ms: number) => Buffer.from(toBinary(SleepRequestSchema, create(SleepRequestSchema, { ms })));
const GRPC = { "content-type": "application/grpc", te: "trailers" };
const GRPC_WEB = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" };
const GRPC_WEB_TEXT = { "content-type": "application/grpc-web-text", "x-grpc-web": "1" };
const CONNECT_PROTO = { "content-type": "application/proto", "connect-protocol-version": "1" };
const CONNECT_JSON = { "content-type": "application/json", "connect-protocol-version": "1" };

describe("CORS (--cors-origin)", () => {
  it("answers a preflight from an allowed origin with what Connect and gRPC-Web clients send", async () => {
    const r = await h1(url, {
      method: "OPTIONS",
      path: `${ECHO}/Echo`,
      headers: {
        origin: APP,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,connect-protocol-version,authorization",
      },
    });
    expect(r.status).toBe(204);
    expect(r.headers["access-control-allow-origin"]).toBe(APP);
    expect(r.headers.vary).toContain("Origin");
    expect(String(r.headers["access-control-allow-methods"]).split(", ")).toEqual(
      expect.arrayContaining(["POST", "GET"]),
    );
    const allowed = String(r.headers["access-control-allow-headers"]).toLowerCase().split(", ");
    for (const h of [
      "content-type",
      "connect-protocol-version",
      "connect-timeout-ms",
      "grpc-timeout",
      "x-grpc-web",
      "x-user-agent",
      "authorization",
    ]) {
      expect(allowed).toContain(h);
    }
    expect(r.headers["access-control-max-age"]).toBe("7200");
  });

  it("lets the browser read the answer and the gRPC-Web status; refuses other origins", async () => {
    const connect = await h1(url, { path: `${ECHO}/Echo`, headers: { ...CONNECT_JSON, origin: APP }, body: "{}" });
    expect(connect.status).toBe(200);
    expect(connect.headers["access-control-allow-origin"]).toBe(APP);
    const exposed = String(connect.headers["access-control-expose-headers"]).toLowerCase();
    for (const h of ["grpc-status", "grpc-message", "grpc-status-details-bin", "x-request-id"]) {
      expect(exposed).toContain(h);
    }
    expect(connect.headers.vary).toBe("Origin, Accept-Encoding");

    const web = await h1(url, {
      path: `${ECHO}/Echo`,
      headers: { ...GRPC_WEB, origin: APP },
      body: envelope(echoBytes("w")),
    });
    expect(web.headers["access-control-allow-origin"]).toBe(APP);
    expect(grpcWebTrailers(web.body)["grpc-status"]).toBe("0");

    const evil = await h1(url, {
      method: "OPTIONS",
      path: `${ECHO}/Echo`,
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(evil.status).toBe(403);
    expect(evil.headers["access-control-allow-origin"]).toBeUndefined();
    const evilCall = await h1(url, {
      path: `${ECHO}/Echo`,
      headers: { ...CONNECT_JSON, origin: "https://evil.example" },
      body: "{}",
    });
    expect(evilCall.headers["access-control-allow-origin"]).toBeUndefined();
    const noOrigin = await h1(url, { path: `${ECHO}/Echo`, headers: CONNECT_JSON, body: "{}" });
    expect(noOrigin.headers["access-control-allow-origin"]).toBeUndefined();
  });
});

describe("gRPC-Web text (application/grpc-web-text)", () => {
  it("takes a base64 body and answers base64, over HTTP/1.1 and HTTP/2", async () => {
    for (const send of [h1, h2]) {
      const r = await send(url, {
        path: `${ECHO}/Echo`,
        headers: GRPC_WEB_TEXT,
        body: Buffer.from(envelope(echoBytes("text mode")).toString("base64")),
      });
      expect(r.status).toBe(200);
      expect(r.headers["content-type"]).toBe("application/grpc-web-text+proto");
      const body = Buffer.from(r.body.toString("latin1"), "base64");
      const [message] = frames(body);
      expect(fromBinary(EchoResponseSchema, message!.data).text).toBe("text mode");
      expect(grpcWebTrailers(body)["grpc-status"]).toBe("0");
    }
  });

  it("accepts a body sent as separately padded base64 chunks; refuses one that is not base64", async () => {
    const whole = envelope(echoBytes("chunked"));
    // 5 + 9 bytes: two parts whose base64 each end in padding.
    const padded = whole.subarray(0, 4).toString("base64") + whole.subarray(4).toString("base64");
    expect(padded.slice(0, 8)).toMatch(/=$/);
    const r = await h1(url, { path: `${ECHO}/Echo`, headers: GRPC_WEB_TEXT, body: padded });
    const body = Buffer.from(r.body.toString("latin1"), "base64");
    expect(fromBinary(EchoResponseSchema, frames(body)[0]!.data).text).toBe("chunked");

    const bad = await h1(url, { path: `${ECHO}/Echo`, headers: GRPC_WEB_TEXT, body: "AA*A" });
    const trailers = grpcWebTrailers(Buffer.from(bad.body.toString("latin1"), "base64"));
    expect(trailers["grpc-status"]).toBe("3");
  });
});

describe("a malformed binary message is invalid_argument on every protocol", () => {
  const garbage = Buffer.from([0xff, 0xff, 0xff]);

  it("Connect (plain and gzip) and Connect streaming", async () => {
    for (const [headers, body] of [
      [CONNECT_PROTO, garbage],
      [{ ...CONNECT_PROTO, "content-encoding": "gzip" }, gzipSync(garbage)],
    ] as const) {
      const r = await h1(url, { path: `${ECHO}/Echo`, headers, body });
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body.toString())).toMatchObject({
        code: "invalid_argument",
        message: expect.stringContaining("parse binary"),
      });
    }
    const stream = await h1(url, {
      path: `${ECHO}/EchoStream`,
      headers: { "content-type": "application/connect+proto", "connect-protocol-version": "1" },
      body: envelope(garbage),
    });
    const end = frames(stream.body).find((f) => f.flags === 0x02)!;
    expect(JSON.parse(end.data.toString())).toMatchObject({ error: { code: "invalid_argument" } });
  });

  it("gRPC (plain and gzip) and gRPC-Web", async () => {
    const plain = await h2(url, { path: `${ECHO}/Echo`, headers: GRPC, body: envelope(garbage) });
    expect(grpcStatus(plain)).toMatchObject({ status: "3", message: expect.stringContaining("parse binary") });
    const gz = await h2(url, {
      path: `${ECHO}/Echo`,
      headers: { ...GRPC, "grpc-encoding": "gzip" },
      body: envelope(gzipSync(garbage), 1),
    });
    expect(grpcStatus(gz).status).toBe("3");
    const web = await h1(url, { path: `${ECHO}/Echo`, headers: GRPC_WEB, body: envelope(garbage) });
    expect(grpcWebTrailers(web.body)).toMatchObject({ "grpc-status": "3" });
    // A well-formed message still works on the same paths.
    const ok = await h2(url, { path: `${ECHO}/Echo`, headers: GRPC, body: envelope(echoBytes("fine")) });
    expect(grpcStatus(ok).status).toBe("0");
  });
});

describe("compression", () => {
  const big = "x".repeat(4096);

  it("gRPC answers gzip when grpc-accept-encoding allows it, and not otherwise", async () => {
    const gz = await h2(url, {
      path: `${ECHO}/Echo`,
      headers: { ...GRPC, "grpc-accept-encoding": "identity,deflate,gzip" },
      body: envelope(echoBytes(big)),
    });
    expect(gz.headers["grpc-encoding"]).toBe("gzip");
    const [frame] = frames(gz.body);
    expect(frame!.flags).toBe(1);
    expect(frame!.data.length).toBeLessThan(1024);
    expect(fromBinary(EchoResponseSchema, gunzipSync(frame!.data)).text).toBe(big);

    for (const accept of [undefined, "identity"]) {
      const plain = await h2(url, {
        path: `${ECHO}/Echo`,
        headers: { ...GRPC, ...(accept ? { "grpc-accept-encoding": accept } : {}) },
        body: envelope(echoBytes(big)),
      });
      expect(plain.headers["grpc-encoding"]).toBeUndefined();
      expect(frames(plain.body)[0]!.flags).toBe(0);
    }
    // Small answers are not worth it.
    const small = await h2(url, {
      path: `${ECHO}/Echo`,
      headers: { ...GRPC, "grpc-accept-encoding": "gzip" },
      body: envelope(echoBytes("tiny")),
    });
    expect(frames(small.body)[0]!.flags).toBe(0);
  });

  it("Connect answers gzip when Accept-Encoding allows it, with Vary: Accept-Encoding", async () => {
    for (const send of [h1, h2]) {
      const gz = await send(url, {
        path: `${ECHO}/Echo`,
        headers: { ...CONNECT_PROTO, "accept-encoding": "gzip, br" },
        body: echoBytes(big),
      });
      expect(gz.headers["content-encoding"]).toBe("gzip");
      expect(gz.headers.vary).toBe("Accept-Encoding");
      expect(fromBinary(EchoResponseSchema, gunzipSync(gz.body)).text).toBe(big);
      const plain = await send(url, { path: `${ECHO}/Echo`, headers: CONNECT_PROTO, body: echoBytes(big) });
      expect(plain.headers["content-encoding"]).toBeUndefined();
      expect(plain.headers.vary).toBe("Accept-Encoding");
    }
    const json = await h1(url, {
      path: `${ECHO}/Echo`,
      headers: { ...CONNECT_JSON, "accept-encoding": "gzip" },
      body: JSON.stringify({ text: big }),
    });
    expect(json.headers["content-encoding"]).toBe("gzip");
    expect(json.headers.vary).toBe("Accept-Encoding");
  });
});

describe("early answers over HTTP/2 wait for the request body (gRPC C-core clients)", () => {
  it("answers an unknown method only once the body has arrived, then ends the stream cleanly", async () => {
    const session = http2.connect(url);
    try {
      const unknown = h2Open(session, {
        path: "/orbit.nope.v1.NopeService/Do",
        headers: GRPC,
        body: envelope(echoBytes("first half")),
        endStream: false,
      });
      let answered = false;
      unknown.on("response", () => (answered = true));
      const result = h2Result(unknown);
      // A later stream on the same connection is answered: the server has seen the first one's headers.
      expect(
        grpcStatus(await h2On(session, { path: `${ECHO}/Echo`, headers: GRPC, body: envelope(echoBytes("x")) })).status,
      ).toBe("0");
      expect(answered).toBe(false);
      unknown.end(envelope(echoBytes("second half")));
      const r = await result;
      expect(grpcStatus(r)).toEqual({
        status: "12",
        message: "no procedure or route at /orbit.nope.v1.NopeService/Do",
      });
      await new Promise((resolve) => (unknown.closed ? resolve(null) : unknown.once("close", resolve)));
      expect(unknown.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
    } finally {
      session.close();
    }
  });
});

describe("one deadline rule for every protocol", () => {
  // Sleep waits 5 s unless its signal aborts (then it answers {cancelled: true}): a late success is a bug.
  const calls: [string, () => Promise<string | undefined>][] = [
    [
      "Connect JSON (connect-timeout-ms)",
      async () =>
        JSON.parse(
          (
            await h1(url, {
              path: `${ECHO}/Sleep`,
              headers: { ...CONNECT_JSON, "connect-timeout-ms": "50" },
              body: '{"ms":5000}',
            })
          ).body.toString(),
        ).code,
    ],
    [
      "Connect proto (connect-timeout-ms)",
      async () =>
        JSON.parse(
          (
            await h2(url, {
              path: `${ECHO}/Sleep`,
              headers: { ...CONNECT_PROTO, "connect-timeout-ms": "50" },
              body: sleepBytes(5000),
            })
          ).body.toString(),
        ).code,
    ],
    [
      "gRPC (grpc-timeout)",
      async () =>
        grpcStatus(
          await h2(url, {
            path: `${ECHO}/Sleep`,
            headers: { ...GRPC, "grpc-timeout": "50m" },
            body: envelope(sleepBytes(5000)),
          }),
        ).status,
    ],
    [
      "gRPC-Web (grpc-timeout)",
      async () =>
        grpcWebTrailers(
          (
            await h1(url, {
              path: `${ECHO}/Sleep`,
              headers: { ...GRPC_WEB, "grpc-timeout": "50m" },
              body: envelope(sleepBytes(5000)),
            })
          ).body,
        )["grpc-status"],
    ],
    [
      "gRPC-Web text (grpc-timeout)",
      async () => {
        const r = await h1(url, {
          path: `${ECHO}/Sleep`,
          headers: { ...GRPC_WEB_TEXT, "grpc-timeout": "50m" },
          body: Buffer.from(envelope(sleepBytes(5000)).toString("base64")),
        });
        return grpcWebTrailers(Buffer.from(r.body.toString("latin1"), "base64"))["grpc-status"];
      },
    ],
  ];

  it.each(calls)("%s: deadline_exceeded at the deadline", async (_name, call) => {
    expect(await call()).toMatch(/^(deadline_exceeded|4)$/);
  });

  it("a malformed deadline header is invalid_argument on every protocol", async () => {
    const connect = await h1(url, {
      path: `${ECHO}/Echo`,
      headers: { ...CONNECT_JSON, "connect-timeout-ms": "soon" },
      body: "{}",
    });
    expect(JSON.parse(connect.body.toString()).code).toBe("invalid_argument");
    const proto = await h2(url, {
      path: `${ECHO}/Echo`,
      headers: { ...CONNECT_PROTO, "connect-timeout-ms": "-1" },
      body: echoBytes(""),
    });
    expect(JSON.parse(proto.body.toString()).code).toBe("invalid_argument");
    const grpc = await h2(url, {
      path: `${ECHO}/Echo`,
      headers: { ...GRPC, "grpc-timeout": "1x" },
      body: envelope(echoBytes("")),
    });
    expect(grpcStatus(grpc).status).toBe("3");
    const web = await h1(url, {
      path: `${ECHO}/Echo`,
      headers: { ...GRPC_WEB, "grpc-timeout": "later" },
      body: envelope(echoBytes("")),
    });
    expect(grpcWebTrailers(web.body)["grpc-status"]).toBe("3");
  });

  it("streams end at the deadline too", async () => {
    const r = await h2(url, {
      path: `${ECHO}/EchoStream`,
      headers: { ...GRPC, "grpc-timeout": "2m" },
      body: envelope(
        Buffer.from(toBinary(EchoStreamRequestSchema, create(EchoStreamRequestSchema, { text: "s", count: 10_000 }))),
      ),
    });
    expect(grpcStatus(r).status).toBe("4");
  });
});
