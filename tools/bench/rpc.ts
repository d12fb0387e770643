/**
 * `npm run bench -- rpc [--seconds N] [--concurrency N]`: unary calls per
 * second and latency of the kernel's call paths, in one run:
 *
 *   1. in-process   the kernel's typed client to a co-located service
 *   2. connect      the kernel's typed client to a service in another
 *                   process: Connect protocol, binary, HTTP/2 over loopback,
 *                   to an `orbit bundle --services=echo` child process
 *   3. grpc         connect-es's gRPC transport to the same bundle
 *   4. connect-es   connect-es's Connect transport (a foreign client) to it
 *   5. raw-http2    baseline: a bare node:http2 client and server echoing bytes
 *
 * Steps 2-5 run their clients in this process, which shares the machine's
 * cores with the server (a child) — and connect-es's gRPC client is slow on
 * its own — so they mix client and server costs. Then the server side alone:
 *
 *   6. server-side  h2load (nghttp2's load generator, a C program in its own
 *                   process; `apt-get install nghttp2-client`) posts the same
 *                   binary Echo request over Connect (application/proto) and
 *                   gRPC (enveloped, te: trailers) to the bundle, and the same
 *                   bodies to the raw node:http2 server, alternating bundle and
 *                   raw; with each, the server process's CPU time per call
 *                   (from /proc/<pid>/stat). Skipped, with a note, when h2load
 *                   is not installed.
 *
 * Each step runs for --seconds (default 3) after a short warm-up, with
 * --concurrency calls in flight (default 32; h2load: 4 connections with
 * concurrency/4 streams each). The last line is one JSON object: `ratio` is
 * connect / raw-http2 (node clients), `server` holds the h2load figures and
 * `ratios.server*` their ratios; goals: Connect ≥ 0.5× and gRPC ≥ 0.4× raw
 * HTTP/2, server-side (issue 18).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { EchoRequestSchema, EchoService } from "../../gen/orbit/testing/v1/echo_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { Registry } from "../../platform/kernel/registry.js";
import { defineService } from "../../platform/kernel/service.js";
import { silentLogger } from "../../platform/log.js";
import { openSqlStore } from "../../platform/storage/open.js";
import { echo } from "../../services/echo/service.js";
import { freePort } from "../../test/support/bundle-process.js";
import { h2loadVersion, runH2load, type H2loadFigures } from "./_h2load.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TEXT = "x".repeat(64);

interface Figures {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly calls: number;
}

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

async function measure(
  label: string,
  seconds: number,
  concurrency: number,
  call: () => Promise<unknown>,
): Promise<Figures> {
  process.stdout.write(`${label.padEnd(16)} warming up … `);
  const warm = Date.now() + Math.min(1_000, seconds * 250);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < warm) await call();
    }),
  );
  process.stdout.write(`measuring ${seconds} s … `);
  const latencies: number[] = [];
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const s = performance.now();
        if (s >= end) return;
        await call();
        latencies.push(performance.now() - s);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  const f = {
    rps: Math.round(latencies.length / elapsed),
    p50Ms: round(at(0.5)),
    p99Ms: round(at(0.99)),
    calls: latencies.length,
  };
  process.stdout.write(`${f.rps.toLocaleString("en")} req/s, p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms\n`);
  return f;
}

function round(ms: number): number {
  return ms < 1 ? Math.round(ms * 1000) / 1000 : Math.round(ms * 100) / 100;
}

function startChild(args: string[], ready: RegExp): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}: ${out}`)));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** A unary POST over one HTTP/2 session, the way a minimal client would do it. */
function rawClient(url: string) {
  const session = http2.connect(url);
  session.on("error", () => undefined);
  const body = Buffer.from(toBinary(EchoRequestSchema, create(EchoRequestSchema, { text: TEXT })));
  return {
    call: () =>
      new Promise<void>((resolve, reject) => {
        const s = session.request({ ":method": "POST", ":path": "/echo", "content-type": "application/proto" });
        s.on("response", () => undefined);
        s.on("data", () => undefined);
        s.on("end", () => resolve());
        s.on("error", reject);
        s.end(body);
      }),
    close: () => session.close(),
  };
}

interface ServerSideFigures {
  readonly tool: string;
  readonly connections: number;
  readonly streams: number;
  /** The bundle, Connect binary and gRPC. */
  readonly connect: H2loadFigures;
  readonly grpc: H2loadFigures;
  /** The raw node:http2 echo server, sent the same bodies. */
  readonly rawConnect: H2loadFigures;
  readonly rawGrpc: H2loadFigures;
}

/** Step 6: h2load against the bundle and the raw server, alternating; undefined without h2load. */
async function serverSide(o: {
  bundleUrl: string;
  bundlePid: number | undefined;
  rawUrl: string;
  rawPid: number | undefined;
  dir: string;
  seconds: number;
  concurrency: number;
}): Promise<ServerSideFigures | undefined> {
  const tool = h2loadVersion();
  if (!tool) {
    console.log("server-side      skipped: h2load is not installed (apt-get install nghttp2-client)");
    return undefined;
  }
  const message = Buffer.from(toBinary(EchoRequestSchema, create(EchoRequestSchema, { text: TEXT })));
  const envelope = Buffer.alloc(5 + message.length);
  envelope.writeUInt32BE(message.length, 1);
  message.copy(envelope, 5);
  const connectBody = join(o.dir, "echo.bin");
  const grpcBody = join(o.dir, "echo.grpc");
  writeFileSync(connectBody, message);
  writeFileSync(grpcBody, envelope);
  const connections = Math.min(4, o.concurrency);
  const streams = Math.max(1, Math.round(o.concurrency / connections));
  const path = `/${EchoService.typeName}/${EchoService.method.echo.name}`;
  const connectHeaders = { "content-type": "application/proto" };
  const grpcHeaders = { "content-type": "application/grpc", te: "trailers" };
  const step = async (
    label: string,
    url: string,
    pid: number | undefined,
    body: string,
    headers: Record<string, string>,
  ) => {
    process.stdout.write(`${label.padEnd(16)} h2load -c ${connections} -m ${streams}, ${o.seconds} s … `);
    const f = await runH2load({
      url,
      bodyFile: body,
      headers,
      seconds: o.seconds,
      warmUpSeconds: Math.min(1, o.seconds / 4),
      connections,
      streams,
      serverPid: pid,
    });
    process.stdout.write(
      `${f.rps.toLocaleString("en")} req/s, mean ${f.meanMs} ms` +
        (f.cpuUsPerCall === null ? "" : `, server CPU ${f.cpuUsPerCall} µs/call`) +
        (f.errors ? `, ${f.errors} errors` : "") +
        "\n",
    );
    return f;
  };
  const connect = await step("h2load connect", o.bundleUrl + path, o.bundlePid, connectBody, connectHeaders);
  const rawConnect = await step("h2load raw", `${o.rawUrl}/echo`, o.rawPid, connectBody, connectHeaders);
  const grpc = await step("h2load grpc", o.bundleUrl + path, o.bundlePid, grpcBody, grpcHeaders);
  const rawGrpc = await step("h2load raw grpc", `${o.rawUrl}/echo`, o.rawPid, grpcBody, grpcHeaders);
  return { tool, connections, streams, connect, grpc, rawConnect, rawGrpc };
}

export async function main(args: string[]): Promise<void> {
  const seconds = option(args, "seconds", 3);
  const concurrency = option(args, "concurrency", 32);
  console.log(
    `rpc bench: unary Echo (${TEXT.length}-byte text), ${concurrency} calls in flight, ${seconds} s per step`,
  );

  const dataDir = mkdtempSync(join(tmpdir(), "orbit-bench-rpc-"));
  const [bundlePort, rawPort] = [await freePort(), await freePort()];
  const children: ChildProcess[] = [];
  const stores: Array<{ close(): Promise<void> }> = [];
  const bundles: Bundle[] = [];
  try {
    // 1. In-process: the kernel, echo co-located with the caller.
    const db = openSqlStore("sqlite::memory:");
    stores.push(db);
    const local = await Bundle.start({
      registry: new Registry([echo]),
      config: { ...DEFAULT_CONFIG, services: ["echo"] },
      db,
      listen: false,
      log: silentLogger(),
    });
    bundles.push(local);
    const inProc = local.client(EchoService);
    const inprocess = await measure("in-process", seconds, concurrency, () => inProc.echo({ text: TEXT }));

    // 2-4. Over the network, to a real `orbit bundle` child process.
    children.push(
      await startChild(
        [
          join(ROOT, "cmd", "orbit.mjs"),
          "bundle",
          "--services=echo",
          "--host=127.0.0.1",
          `--port=${bundlePort}`,
          `--data-dir=${dataDir}`,
          "--log-level=info",
        ],
        /orbit is ready/,
      ),
    );
    // (At info level a bundle logs nothing per successful call.)
    const url = `http://127.0.0.1:${bundlePort}`;
    const db2 = openSqlStore("sqlite::memory:");
    stores.push(db2);
    const caller = await Bundle.start({
      registry: new Registry([defineService({ name: "caller", deps: ["echo"] }), echo]),
      config: { ...DEFAULT_CONFIG, services: ["caller"], peers: { echo: url } },
      db: db2,
      listen: false,
      log: silentLogger(),
    });
    bundles.push(caller);
    const kernelClient = caller.client(EchoService);
    const connect = await measure("connect", seconds, concurrency, () => kernelClient.echo({ text: TEXT }));
    const grpcClient = createClient(EchoService, createGrpcTransport({ baseUrl: url }));
    const grpc = await measure("grpc", seconds, concurrency, () => grpcClient.echo({ text: TEXT }));
    const esClient = createClient(
      EchoService,
      createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true }),
    );
    const connectEs = await measure("connect-es", seconds, concurrency, () => esClient.echo({ text: TEXT }));

    // 4. Baseline: bare node:http2.
    children.push(
      await startChild(
        ["--import", "tsx", join(ROOT, "tools", "bench", "_rpc-raw-server.ts"), String(rawPort)],
        /listening/,
      ),
    );
    const raw = rawClient(`http://127.0.0.1:${rawPort}`);
    const rawHttp2 = await measure("raw http2", seconds, concurrency, raw.call);
    raw.close();

    // 6. The server side alone, loaded by h2load in its own process.
    const server = await serverSide({
      bundleUrl: url,
      bundlePid: children[0]!.pid,
      rawUrl: `http://127.0.0.1:${rawPort}`,
      rawPid: children[1]!.pid,
      dir: dataDir,
      seconds,
      concurrency,
    });

    const r = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    const ratios = {
      inprocessVsConnect: r(inprocess.rps, connect.rps),
      connectVsRawHttp2: r(connect.rps, rawHttp2.rps),
      grpcVsRawHttp2: r(grpc.rps, rawHttp2.rps),
      connectEsVsRawHttp2: r(connectEs.rps, rawHttp2.rps),
      inprocessVsConnectEs: r(inprocess.rps, connectEs.rps),
    };
    const serverRatios = server
      ? {
          serverConnectVsRawHttp2: r(server.connect.rps, server.rawConnect.rps),
          serverGrpcVsRawHttp2: r(server.grpc.rps, server.rawGrpc.rps),
          // The same from CPU time per call (raw ÷ bundle): less moved by other work on the machine.
          ...(server.connect.cpuUsPerCall && server.rawConnect.cpuUsPerCall
            ? { serverCpuConnectVsRawHttp2: r(server.rawConnect.cpuUsPerCall, server.connect.cpuUsPerCall) }
            : {}),
          ...(server.grpc.cpuUsPerCall && server.rawGrpc.cpuUsPerCall
            ? { serverCpuGrpcVsRawHttp2: r(server.rawGrpc.cpuUsPerCall, server.grpc.cpuUsPerCall) }
            : {}),
        }
      : undefined;
    console.log(
      `in-process is ${ratios.inprocessVsConnect}× the network path (goal ≥ 20×); ` +
        `node clients: Connect is ${ratios.connectVsRawHttp2}×, gRPC ${ratios.grpcVsRawHttp2}× raw HTTP/2`,
    );
    console.log(
      serverRatios
        ? `server-side (h2load): Connect is ${serverRatios.serverConnectVsRawHttp2}× raw HTTP/2 (goal ≥ 0.5×), ` +
            `gRPC ${serverRatios.serverGrpcVsRawHttp2}× (goal ≥ 0.4×)`
        : "server-side (h2load): not measured, h2load is not installed (apt-get install nghttp2-client)",
    );
    console.log(
      JSON.stringify({
        scenario: "rpc",
        seconds,
        concurrency,
        inprocess,
        connect,
        grpc,
        connectEs,
        rawHttp2,
        server: server ?? null,
        ratio: ratios.connectVsRawHttp2,
        ratios: { ...ratios, ...serverRatios },
        goals: {
          inprocessVsConnect: ratios.inprocessVsConnect >= 20,
          connectVsRawHttp2: ratios.connectVsRawHttp2 >= 0.5,
          grpcVsRawHttp2: ratios.grpcVsRawHttp2 >= 0.4,
          serverConnectVsRawHttp2: serverRatios ? serverRatios.serverConnectVsRawHttp2 >= 0.5 : null,
          serverGrpcVsRawHttp2: serverRatios ? serverRatios.serverGrpcVsRawHttp2 >= 0.4 : null,
        },
      }),
    );
  } finally {
    await Promise.all(bundles.map((b) => b.stop()));
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(children.map(stopChild));
    rmSync(dataDir, { recursive: true, force: true });
  }
}
