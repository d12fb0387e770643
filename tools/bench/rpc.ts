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
 * Each step runs for --seconds (default 3) after a short warm-up, with
 * --concurrency calls in flight (default 32). Steps 2-5 share the machine's
 * cores between the client (this process) and the server (a child). The
 * last line is one JSON object; `ratio` is connect / raw-http2.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
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

    const r = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    const ratios = {
      inprocessVsConnect: r(inprocess.rps, connect.rps),
      connectVsRawHttp2: r(connect.rps, rawHttp2.rps),
      grpcVsRawHttp2: r(grpc.rps, rawHttp2.rps),
      connectEsVsRawHttp2: r(connectEs.rps, rawHttp2.rps),
      inprocessVsConnectEs: r(inprocess.rps, connectEs.rps),
    };
    console.log(
      `in-process is ${ratios.inprocessVsConnect}× the network path (goal ≥ 20×); ` +
        `Connect is ${ratios.connectVsRawHttp2}× raw HTTP/2 (goal ≥ 0.5×)`,
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
        ratio: ratios.connectVsRawHttp2,
        ratios,
        goals: {
          inprocessVsConnect: ratios.inprocessVsConnect >= 20,
          connectVsRawHttp2: ratios.connectVsRawHttp2 >= 0.5,
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
