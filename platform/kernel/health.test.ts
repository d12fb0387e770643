/**
 * gRPC health (grpc.health.v1.Health) over raw HTTP/2 gRPC: NOT_SERVING while
 * the bundle starts, SERVING once ready, NOT_SERVING while it drains (Check on
 * a new connection and a Watch stream that then ends); RPCs meanwhile answer
 * Unavailable only once their request body has arrived.
 */
import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
  HealthListResponseSchema,
} from "../../gen/grpc/health/v1/health_pb.js";
import { EchoRequestSchema, SleepRequestSchema } from "../../gen/orbit/testing/v1/echo_pb.js";
import { echo } from "../../services/echo/service.js";
import { freePort } from "../../test/support/bundle-process.js";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { envelope, frames, grpcStatus, h1, h2, h2Open } from "../../test/support/wire.js";
import { DEFAULT_CONFIG } from "../config/config.js";
import { silentLogger } from "../log.js";
import { Bundle } from "./bundle.js";
import { Registry } from "./registry.js";
import { defineService } from "./service.js";

const HEALTH = "/grpc.health.v1.Health";
const GRPC = { "content-type": "application/grpc", te: "trailers" };
const checkBody = (service: string) =>
  envelope(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service })));

async function check(url: string, service = ""): Promise<Status | string> {
  const r = await h2(url, { path: `${HEALTH}/Check`, headers: GRPC, body: checkBody(service) });
  const { status } = grpcStatus(r);
  if (status !== "0") return `grpc-status ${status}`;
  return fromBinary(HealthCheckResponseSchema, frames(r.body)[0]!.data).status;
}

/** A Watch stream: the statuses received so far, and how it ended. */
function watch(session: http2.ClientHttp2Session, service = "") {
  const stream = h2Open(session, { path: `${HEALTH}/Watch`, headers: GRPC, body: checkBody(service) });
  const seen: Status[] = [];
  let pending = Buffer.alloc(0);
  let trailers: http2.IncomingHttpHeaders | undefined;
  stream.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
      const n = pending.readUInt32BE(1);
      seen.push(fromBinary(HealthCheckResponseSchema, pending.subarray(5, 5 + n)).status);
      pending = pending.subarray(5 + n);
    }
  });
  stream.on("trailers", (t) => (trailers = t));
  const ended = new Promise<void>((resolve) => stream.on("close", resolve));
  return { seen, ended, trailers: () => trailers };
}

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

const stores: TestStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.dispose();
});

describe("gRPC health", () => {
  it("is NOT_SERVING while starting, SERVING once ready, NOT_SERVING while draining", async () => {
    const hook = gate();
    const slow = defineService({
      name: "slow",
      deps: ["echo"],
      build: async () => {
        await hook.opened;
        return {};
      },
    });
    const store = sqliteStore();
    stores.push(store);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const starting = Bundle.start({
      registry: new Registry([echo, slow]),
      config: { ...DEFAULT_CONFIG, services: ["slow"], host: "127.0.0.1", port },
      db: store.db,
      log: silentLogger(),
    });
    await expect.poll(() => check(url).catch(() => "down")).toBe(Status.NOT_SERVING);
    const session = http2.connect(url);
    try {
      const watcher = watch(session);
      await expect.poll(() => watcher.seen).toEqual([Status.NOT_SERVING]);

      // Meanwhile an RPC is refused with Unavailable — once its body has arrived (gRPC C-core clients).
      const early = h2Open(session, {
        path: "/orbit.testing.v1.EchoService/Echo",
        headers: GRPC,
        body: envelope(toBinary(EchoRequestSchema, create(EchoRequestSchema, { text: "early" }))).subarray(0, 3),
        endStream: false,
      });
      let answered = false;
      early.on("response", () => (answered = true));
      expect(await check(url)).toBe(Status.NOT_SERVING);
      expect(answered).toBe(false);
      const earlyResult = new Promise<string | undefined>((resolve) => {
        early.on("response", (h) => resolve(h["grpc-status"] as string | undefined));
      });
      early.end(Buffer.alloc(0));
      expect(await earlyResult).toBe("14");

      hook.open();
      const bundle = await starting;
      await expect.poll(() => watcher.seen).toEqual([Status.NOT_SERVING, Status.SERVING]);
      expect(await check(url)).toBe(Status.SERVING);
      expect(await check(url, "orbit.testing.v1.EchoService")).toBe(Status.SERVING);
      expect(await check(url, "orbit.nope.v1.Nope")).toBe("grpc-status 5");
      const list = await h2(url, { path: `${HEALTH}/List`, headers: GRPC, body: envelope(new Uint8Array()) });
      expect(fromBinary(HealthListResponseSchema, frames(list.body)[0]!.data).statuses).toMatchObject({
        "": { status: Status.SERVING },
        "orbit.testing.v1.EchoService": { status: Status.SERVING },
      });

      // A call in flight keeps the bundle draining; probes are answered meanwhile.
      const sleeper = http2.connect(url);
      const sleeping = h2Open(sleeper, {
        path: "/orbit.testing.v1.EchoService/Sleep",
        headers: GRPC,
        body: envelope(toBinary(SleepRequestSchema, create(SleepRequestSchema, { ms: 60_000 }))),
      });
      sleeping.resume();
      await expect.poll(() => (bundle as unknown as { server: { inflight: number } }).server.inflight).toBe(2);
      const stopped = bundle.stop();
      await watcher.ended;
      expect(watcher.seen).toEqual([Status.NOT_SERVING, Status.SERVING, Status.NOT_SERVING]);
      expect(watcher.trailers()?.["grpc-status"]).toBe("0");
      expect(await check(url)).toBe(Status.NOT_SERVING);
      expect((await h1(url, { method: "GET", path: "/readyz" })).status).toBe(503);
      const refused = await h2(url, {
        path: "/orbit.testing.v1.EchoService/Echo",
        headers: GRPC,
        body: envelope(new Uint8Array()),
      });
      expect(grpcStatus(refused)).toEqual({ status: "14", message: "the bundle is shutting down" });
      sleeping.close(http2.constants.NGHTTP2_CANCEL); // the Sleep ends; the drain completes
      sleeper.close();
      expect(await stopped).toEqual({ forced: 0, failures: 0 });
      await expect(check(url)).rejects.toThrow();
    } finally {
      session.destroy();
    }
  });
});
