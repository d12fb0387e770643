/**
 * gRPC server reflection, v1 and v1alpha, over a raw HTTP/2 bidi stream, and
 * `buf curl --reflect` (a foreign client) listing and calling the services
 * with no copy of the protos.
 */
import { execFile } from "node:child_process";
import http2 from "node:http2";
import { join } from "node:path";
import { promisify } from "node:util";
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { registry } from "../../services/registry.js";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { envelope } from "../../test/support/wire.js";
import { DEFAULT_CONFIG } from "../config/config.js";
import { silentLogger } from "../log.js";
import { Bundle } from "./bundle.js";

const run = promisify(execFile);
const BUF = join(import.meta.dirname, "..", "..", "node_modules", ".bin", "buf");

let store: TestStore;
let bundle: Bundle;
let url: string;
beforeAll(async () => {
  store = sqliteStore();
  bundle = await Bundle.start({
    registry,
    config: { ...DEFAULT_CONFIG, services: ["echo", "relay"], host: "127.0.0.1", port: 0 },
    db: store.db,
    log: silentLogger(),
  });
  url = bundle.url!;
});
afterAll(async () => {
  await bundle?.stop();
  await store?.dispose();
});

type Version = typeof v1 | typeof v1alpha;

/** One reflection stream: send a request, get its response (in order). */
function reflect(version: Version, pkg: string) {
  const session = http2.connect(url);
  const stream = session.request({
    ":method": "POST",
    ":path": `/${pkg}.ServerReflection/ServerReflectionInfo`,
    "content-type": "application/grpc",
    te: "trailers",
  });
  const waiting: ((m: MessageShape<DescMessage>) => void)[] = [];
  let pending = Buffer.alloc(0);
  stream.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
      const n = pending.readUInt32BE(1);
      waiting.shift()?.(fromBinary(version.ServerReflectionResponseSchema, pending.subarray(5, 5 + n)));
      pending = pending.subarray(5 + n);
    }
  });
  return {
    ask(messageRequest: object) {
      const req = create(version.ServerReflectionRequestSchema as DescMessage, { messageRequest } as never);
      return new Promise<v1.ServerReflectionResponse>((resolve) => {
        waiting.push(resolve as never);
        stream.write(envelope(toBinary(version.ServerReflectionRequestSchema as DescMessage, req)));
      });
    },
    close() {
      stream.end();
      session.close();
    },
  };
}

function fileNames(r: v1.ServerReflectionResponse): string[] {
  if (r.messageResponse.case !== "fileDescriptorResponse") throw new Error(`got ${r.messageResponse.case}`);
  return r.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
}

describe.each([
  ["v1", v1, "grpc.reflection.v1"],
  ["v1alpha", v1alpha, "grpc.reflection.v1alpha"],
] as const)("server reflection %s", (_name, version, pkg) => {
  it("lists the services, and sends each file with the imports not sent yet", async () => {
    const r = reflect(version, pkg);
    try {
      const list = await r.ask({ case: "listServices", value: "" });
      expect(list.messageResponse.case).toBe("listServicesResponse");
      expect((list.messageResponse.value as v1.ListServiceResponse).service.map((s) => s.name)).toEqual([
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "orbit.testing.v1.EchoService",
        "orbit.testing.v1.RelayService",
      ]);
      // relay.proto imports echo.proto, which imports our options (its per-method limits), which import
      // descriptor.proto: all come with the first answer, echo.proto alone with the second.
      expect(fileNames(await r.ask({ case: "fileContainingSymbol", value: "orbit.testing.v1.RelayService" }))).toEqual([
        "orbit/testing/v1/relay.proto",
        "orbit/testing/v1/echo.proto",
        "orbit/options/v1/options.proto",
        "google/protobuf/descriptor.proto",
      ]);
      expect(
        fileNames(await r.ask({ case: "fileContainingSymbol", value: "orbit.testing.v1.EchoService.Echo" })),
      ).toEqual(["orbit/testing/v1/echo.proto"]);
      expect(fileNames(await r.ask({ case: "fileByFilename", value: "grpc/health/v1/health.proto" }))).toEqual([
        "grpc/health/v1/health.proto",
      ]);
      expect(
        fileNames(
          await r.ask({ case: "fileContainingSymbol", value: "grpc.health.v1.HealthCheckResponse.ServingStatus" }),
        ),
      ).toEqual(["grpc/health/v1/health.proto"]);
      const missing = await r.ask({ case: "fileContainingSymbol", value: "orbit.nope.v1.Nope" });
      expect(missing.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: 5 } });
      const described = fromBinary(
        FileDescriptorProtoSchema,
        (
          (await r.ask({ case: "fileByFilename", value: "orbit/testing/v1/echo.proto" })).messageResponse
            .value as v1.FileDescriptorResponse
        ).fileDescriptorProto[0]!,
      );
      expect(described.service[0]!.method.map((m) => m.name)).toContain("Echo");
    } finally {
      r.close();
    }
  });
});

describe("buf curl --reflect (no --schema)", () => {
  it("lists the services and calls a method over gRPC and Connect", async () => {
    const { stdout } = await run(BUF, ["curl", "--http2-prior-knowledge", "--reflect", "--list-services", url]);
    expect(stdout.trim().split("\n")).toEqual(
      expect.arrayContaining(["orbit.testing.v1.EchoService", "grpc.health.v1.Health"]),
    );
    for (const protocol of ["grpc", "connect"]) {
      const call = await run(BUF, [
        "curl",
        "--http2-prior-knowledge",
        "--reflect",
        "--protocol",
        protocol,
        "-d",
        '{"text":"found by reflection"}',
        `${url}/orbit.testing.v1.EchoService/Echo`,
      ]);
      expect(JSON.parse(call.stdout)).toEqual({ text: "found by reflection" });
    }
  });
});
