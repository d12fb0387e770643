/**
 * `orbit bundle` as a real child process: one port answers Connect, gRPC and
 * gRPC-Web (checked with buf curl, a foreign client), plus /healthz, /readyz,
 * /metrics and plain HTTP routes.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { EchoService } from "../gen/orbit/testing/v1/echo_pb.js";
import { openSqlStore } from "../platform/storage/open.js";
import { startBundle, type BundleProcess } from "../test/support/bundle-process.js";

const run = promisify(execFile);
const BUF = join(import.meta.dirname, "..", "node_modules", ".bin", "buf");

interface Curl {
  readonly ok: boolean;
  readonly out: unknown;
}

async function bufCurl(protocol: string, url: string, body: unknown, headers: string[] = []): Promise<Curl> {
  const args = [
    "curl",
    "--schema",
    "proto/internal",
    "--protocol",
    protocol,
    "--http2-prior-knowledge",
    "-d",
    JSON.stringify(body),
  ];
  for (const h of headers) args.push("-H", h);
  args.push(url);
  try {
    const { stdout } = await run(BUF, args, { cwd: join(import.meta.dirname, "..") });
    return { ok: true, out: parseAll(stdout) };
  } catch (err) {
    const e = err as { stderr: string; stdout: string };
    return { ok: false, out: withoutDebug(JSON.parse(e.stderr)) };
  }
}

/** buf curl prints one JSON document per response message. */
function parseAll(text: string): unknown[] {
  return JSON.parse(`[${text.trim().replace(/}\s*{/g, "},{")}]`) as unknown[];
}

function withoutDebug(err: { details?: Array<Record<string, unknown>> }): unknown {
  return { ...err, details: err.details?.map(({ debug: _debug, ...d }) => d) };
}

const PROTOCOLS = ["connect", "grpc", "grpcweb"] as const;

describe("orbit bundle (child process)", () => {
  let b: BundleProcess;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "orbit-cli-"));
    b = await startBundle(["--services", "testing", "--dev-token", "tok-7=7", "--admin-port", "0"], { dataDir });
  });
  afterAll(async () => {
    await b?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("opens the embedded SQLite store under --data-dir, migrated before serving", async () => {
    expect(existsSync(join(dataDir, "orbit.db"))).toBe(true);
    // echo's notes, and the push part's two tables (every bundle migrates them).
    expect(b.logs().find((l) => l.msg === "migrations done")).toMatchObject({ tables: 3 });
    const echo = createClient(EchoService, createConnectTransport({ baseUrl: b.url, httpVersion: "2" }));
    const { id } = await echo.note({ text: "on sqlite" });
    const db = openSqlStore(`sqlite:${join(dataDir, "orbit.db")}`);
    try {
      expect(await db.get("SELECT text FROM testing_echo_notes WHERE id = ?", [id])).toEqual({ text: "on sqlite" });
    } finally {
      await db.close();
    }
  });

  it("answers the same over Connect, gRPC and gRPC-Web (buf curl)", async () => {
    const echo = `${b.url}/orbit.testing.v1.EchoService/Echo`;
    const relay = `${b.url}/orbit.testing.v1.RelayService/Relay`;
    const stream = `${b.url}/orbit.testing.v1.EchoService/EchoStream`;
    const fail = `${b.url}/orbit.testing.v1.EchoService/Fail`;
    const answers = await Promise.all(
      PROTOCOLS.map(async (p) => ({
        echo: await bufCurl(p, echo, { text: "héllo 🌍" }),
        relay: await bufCurl(p, relay, { text: "via relay" }),
        stream: await bufCurl(p, stream, { text: "s", count: 3 }),
        fail: await bufCurl(p, fail, { code: 5, message: "no such thing", reason: "r1" }),
        bad: await bufCurl(p, fail, { code: 99 }),
      })),
    );
    expect(answers[0]).toEqual({
      echo: { ok: true, out: [{ text: "héllo 🌍" }] },
      relay: { ok: true, out: [{ text: "via relay" }] },
      stream: { ok: true, out: [{ text: "s" }, { text: "s", index: 1 }, { text: "s", index: 2 }] },
      fail: {
        ok: false,
        out: {
          code: "not_found",
          message: "no such thing",
          details: [{ type: "orbit.testing.v1.FailDetail", value: expect.any(String) }],
        },
      },
      bad: { ok: false, out: { code: "invalid_argument", message: "code must be a Connect error code (1..16)" } },
    });
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
  });

  it("turns a bearer token into the caller's identity on every protocol", async () => {
    for (const p of PROTOCOLS) {
      const r = await bufCurl(p, `${b.url}/orbit.testing.v1.RelayService/RelayWhoAmI`, {}, [
        "Authorization: Bearer tok-7",
      ]);
      const out = (r.out as Array<{ relay: { userId: string }; echo: { userId: string; protocol: string } }>)[0]!;
      expect(out.relay.userId).toBe("7");
      expect(out.echo).toMatchObject({ userId: "7", protocol: "in-process" });
      const bad = await bufCurl(p, `${b.url}/orbit.testing.v1.EchoService/WhoAmI`, {}, ["Authorization: Bearer nope"]);
      expect(bad).toEqual({ ok: false, out: { code: "unauthenticated", message: "invalid or expired token" } });
    }
  });

  it("serves /healthz and /readyz on its port, and /metrics, /healthz, /readyz on the admin port", async () => {
    const adminUrl = b.logs().find((l) => typeof l.adminUrl === "string")?.adminUrl as string;
    expect(adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${adminUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${adminUrl}/readyz`)).status).toBe(200);
    // Not on the service port without --metrics-token.
    expect((await fetch(`${b.url}/metrics`)).status).toBe(404);
    const health = await fetch(`${b.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const ready = await fetch(`${b.url}/readyz`);
    expect(ready.status).toBe(200);
    const readyBody = (await ready.json()) as {
      status: string;
      services: string[];
      checks: Record<string, { ok: boolean }>;
    };
    expect(readyBody).toMatchObject({ status: "ready", services: ["echo", "relay"] });
    // The SQL store is probed (issue 12): every check answers ok.
    expect(Object.keys(readyBody.checks).length).toBeGreaterThan(0);
    expect(Object.values(readyBody.checks).every((c) => c.ok)).toBe(true);

    await fetch(`${b.url}/orbit.testing.v1.EchoService/Echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "count me" }),
    });
    await fetch(`${b.url}/orbit.testing.v1.EchoService/Fail`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code: 14, message: "down" }),
    });
    const metrics = await fetch(`${adminUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toContain("text/plain");
    const text = await metrics.text();
    expect(text).toMatch(
      /orbit_rpc_server_handled_total\{service="orbit.testing.v1.EchoService",method="Echo",protocol="connect",code="ok"\} [1-9]/,
    );
    expect(text).toMatch(
      /orbit_rpc_server_handled_total\{service="orbit.testing.v1.EchoService",method="Fail",protocol="connect",code="unavailable"\} 1/,
    );
    expect(text).toMatch(
      /orbit_rpc_server_handling_seconds_bucket\{le="0.005",service="orbit.testing.v1.EchoService",method="Echo"\}/,
    );
    expect(text).toContain("process_cpu_seconds_total");

    const post = await fetch(`${b.url}/healthz`, { method: "POST" });
    expect(post.status).toBe(405);
  });

  it("logs each failed call as JSON with a request id", async () => {
    const res = await fetch(`${b.url}/orbit.testing.v1.EchoService/Fail`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "req-abc-123" },
      body: JSON.stringify({ code: 3, message: "bad thing" }),
    });
    expect(res.headers.get("x-request-id")).toBe("req-abc-123");
    await expect
      .poll(() => b.logs().find((l) => l.requestId === "req-abc-123"))
      .toMatchObject({
        level: "info",
        rpc: "/orbit.testing.v1.EchoService/Fail",
        code: "invalid_argument",
        error: "bad thing",
        traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
      });
  });

  it("serves services' HTTP routes and upgrade routes on the same port, over HTTP/1.1 and HTTP/2", async () => {
    const r = await fetch(`${b.url}/testing/echo?text=plain`);
    expect(await r.json()).toEqual({ text: "plain" });

    const session = http2.connect(b.url);
    const body = await new Promise<string>((resolve, reject) => {
      const s = session.request({ ":path": "/testing/echo?text=h2" });
      let data = "";
      s.setEncoding("utf8");
      s.on("data", (d: string) => (data += d));
      s.on("end", () => resolve(data));
      s.on("error", reject);
    });
    session.close();
    expect(JSON.parse(body)).toEqual({ text: "h2" });

    const echoed = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(b.port, "127.0.0.1");
      let data = "";
      sock.on("data", (d) => {
        data += d.toString();
        if (data.includes("\r\n\r\n") && !data.endsWith("ping")) sock.write("ping");
        if (data.endsWith("ping")) {
          sock.end();
          resolve(data);
        }
      });
      sock.on("error", reject);
      sock.write("GET /testing/upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: orbit-echo\r\n\r\n");
    });
    expect(echoed).toMatch(/^HTTP\/1.1 101 Switching Protocols\r\n/);

    const missing = await fetch(`${b.url}/no/such/thing`);
    expect(missing.status).toBe(404);
  });
});
