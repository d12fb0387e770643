/**
 * `orbit bundle --workers 2`: both workers answer on the one port (the
 * orbit-worker header says which), SIGTERM drains every worker's in-flight
 * calls before the bundle exits 0, and a worker that is killed is replaced.
 */
import http from "node:http";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { EchoService } from "../gen/orbit/testing/v1/echo_pb.js";
import { runOrbit, startBundle, type BundleProcess, type LogLine } from "../test/support/bundle-process.js";

/** One Echo call on a fresh connection; the worker that answered it. */
function echoOnNewConnection(url: string, text: string): Promise<{ worker: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/orbit.testing.v1.EchoService/Echo`,
      { method: "POST", agent: false, headers: { "content-type": "application/json", connection: "close" } },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString("utf8")));
        res.on("end", () => resolve({ worker: res.headers["orbit-worker"] as string | undefined, body }));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify({ text }));
  });
}

async function workersAnswering(url: string, calls: number): Promise<Set<string | undefined>> {
  const seen = new Set<string | undefined>();
  for (let i = 0; i < calls; i++) {
    const r = await echoOnNewConnection(url, `hi ${i}`);
    expect(JSON.parse(r.body)).toMatchObject({ text: `hi ${i}` });
    seen.add(r.worker);
  }
  return seen;
}

async function waitForLog(b: BundleProcess, match: (l: LogLine) => boolean): Promise<LogLine> {
  let found: LogLine | undefined;
  await expect.poll(() => (found = b.logs().find(match)), { timeout: 60_000, interval: 50 }).toBeDefined();
  return found!;
}

describe("orbit bundle --workers 2", () => {
  it("answers from both workers, replaces a killed one, and drains both on SIGTERM", async () => {
    const b = await startBundle(
      ["--services", "echo", "--workers", "2", "--log-level", "trace", "--shutdown-timeout", "120000"],
      { readyTimeoutMs: 120_000 },
    );
    try {
      // The primary says ready once both are; new connections go to the workers in turn.
      expect(b.logs().find((l) => l.msg.startsWith("orbit is ready"))).toMatchObject({ workers: 2 });
      expect([...(await workersAnswering(b.url, 6))].sort()).toEqual(["1", "2"]);
      const nodeIds = b.logs().filter((l) => l.msg.startsWith("node id "));
      expect(new Set(nodeIds.map((l) => l.nodeId)).size).toBe(2);

      // kill -9 worker 2: the primary forks another in its slot, which serves again.
      const w2 = await waitForLog(b, (l) => l.msg === "worker 2 is ready");
      process.kill(Number(w2.workerPid), "SIGKILL");
      await waitForLog(b, (l) => l.msg.startsWith("worker 2 died"));
      const again = await waitForLog(b, (l) => l.msg === "worker 2 restarted");
      expect(again.workerPid).not.toBe(w2.workerPid);
      expect([...(await workersAnswering(b.url, 6))].sort()).toEqual(["1", "2"]);

      // Slow calls on fresh connections until both workers hold one, then SIGTERM the primary.
      const calls: Promise<{ cancelled: boolean }>[] = [];
      const holding = () =>
        new Set(
          b
            .logs()
            .filter((l) => l.msg === "rpc started" && String(l.requestId).startsWith("slow-"))
            .map((l) => l.worker),
        );
      for (let i = 0; holding().size < 2 && i < 8; i++) {
        const echo = createClient(EchoService, createConnectTransport({ baseUrl: b.url, httpVersion: "2" }));
        calls.push(echo.sleep({ ms: 5_000 }, { headers: { "x-request-id": `slow-${i}` } }));
        await waitForLog(b, (l) => l.requestId === `slow-${i}` && l.msg === "rpc started");
      }
      expect([...holding()].sort()).toEqual([1, 2]);
      b.child.kill("SIGTERM");
      for (const r of await Promise.all(calls)) expect(r.cancelled).toBe(false);
      expect((await b.exited).code).toBe(0);
      const drains = b.logs().filter((l) => l.msg === "shutting down: draining");
      expect(drains.map((l) => l.worker).sort()).toEqual([1, 2]);
      for (const d of drains) expect(Number(d.inflight)).toBeGreaterThanOrEqual(1);
      const stopped = b.logs().filter((l) => l.msg === "stopped");
      expect(stopped).toHaveLength(2);
      for (const s of stopped) expect(s).toMatchObject({ forced: 0, failures: 0 });
    } finally {
      await b.stop("SIGKILL");
    }
  }, 240_000);

  it("refuses --workers above 1 with --node-id, or with the live service in the bundle", async () => {
    const ids = runOrbit(["bundle", "--services", "echo", "--workers", "2", "--node-id", "3", "--port", "0"]);
    expect((await ids.exited).code).toBe(2);
    expect(ids.stderr.join("\n")).toContain("--workers above 1 needs leased node ids");
    const live = runOrbit(["bundle", "--services", "live", "--workers", "2", "--port", "0"]);
    expect((await live.exited).code).toBe(2);
    expect(live.stderr.join("\n")).toContain("cannot run the live service");
  });
});
