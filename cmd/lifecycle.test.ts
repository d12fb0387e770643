/**
 * The life of an `orbit bundle` process: usage errors exit 2 with a useful
 * message, settings follow flags > env > file > defaults, the MariaDB store
 * works, and SIGTERM/SIGINT drain in-flight calls and exit 0. One test runs
 * `cmd/orbit.mjs` itself (what users run), the others the prebuilt CLI.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, describe, expect, it } from "vitest";
import { EchoService } from "../gen/orbit/testing/v1/echo_pb.js";
import { freePort, runOrbit, startBundle, type LogLine, type OrbitProcess } from "../test/support/bundle-process.js";
import { mysqlStore } from "../test/support/stores.js";

const tmp = mkdtempSync(join(tmpdir(), "orbit-lifecycle-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function waitForLog(p: OrbitProcess, match: (l: LogLine) => boolean): Promise<LogLine> {
  let found: LogLine | undefined;
  await expect.poll(() => (found = p.logs().find(match)), { timeout: 20_000, interval: 50 }).toBeDefined();
  return found!;
}

describe("usage errors", () => {
  it("exits 2 and lists the known services for an unknown one", async () => {
    const p = runOrbit(["bundle", "--services", "echo,nope", "--port", "0"]);
    expect((await p.exited).code).toBe(2);
    const err = p.stderr.join("\n");
    expect(err).toMatch(
      /unknown service "nope"; known services: .*\becho\b.*\brelay\b.*; groups: .*\ball\b.*\btesting\b/,
    );
  });

  it("exits 2 for a peer that is not a service, or a service both local and peer", async () => {
    const p = runOrbit(["bundle", "--services", "relay", "--peer", "testing=http://127.0.0.1:1"]);
    expect((await p.exited).code).toBe(2);
    expect(p.stderr.join("\n")).toContain('unknown peer service "testing"');
    const q = runOrbit(["bundle", "--services", "testing", "--peer", "echo=http://127.0.0.1:1"]);
    expect((await q.exited).code).toBe(2);
    expect(q.stderr.join("\n")).toContain("echo is both asked to run here (--services) and given as --peer");
  });

  it("exits 2 for bad values, naming the flag, variable or file key", async () => {
    const flag = runOrbit(["bundle", "--port", "http"]);
    expect((await flag.exited).code).toBe(2);
    expect(flag.stderr.join("\n")).toContain('--port: "http" is not an integer in 0..65535');

    const env = runOrbit(["bundle"], { ORBIT_PEERS: "echo=ftp://x" });
    expect((await env.exited).code).toBe(2);
    expect(env.stderr.join("\n")).toContain('ORBIT_PEERS echo: "ftp://x" must be an http:// or https:// URL');

    const file = join(tmp, "bad.json");
    writeFileSync(file, JSON.stringify({ prot: 1 }));
    const fromFile = runOrbit(["bundle", "--config", file]);
    expect((await fromFile.exited).code).toBe(2);
    expect(fromFile.stderr.join("\n")).toContain(`config file ${file}: unknown key "prot"`);

    const store = runOrbit(["bundle", "--mysql", "mysql://root:secret@127.0.0.1:1/orbit?pool=0"]);
    expect((await store.exited).code).toBe(2);
    expect(store.stderr.join("\n")).toContain(
      '--mysql: store URL mysql://root:***@127.0.0.1:1/orbit?pool=0: pool "0" is not an integer in 1..1000',
    );
    expect(store.stderr.join("\n")).not.toContain("secret");

    const wide = runOrbit(["bundle"], { ORBIT_CASSANDRA: "cassandra://127.0.0.1:1/orbit?dc=" });
    expect((await wide.exited).code).toBe(2);
    expect(wide.stderr.join("\n")).toContain(
      "ORBIT_CASSANDRA: store URL cassandra://127.0.0.1:1/orbit?dc=: dc is empty",
    );

    const option = runOrbit(["bundle", "--no-such-flag"]);
    expect((await option.exited).code).toBe(2);
    expect(option.stderr.join("\n")).toContain("unknown option '--no-such-flag'");
    // Six CLI processes one after another: generous on a loaded machine.
  }, 180_000);

  it("prints help and exits 0", async () => {
    const p = runOrbit(["bundle", "--help"]);
    expect((await p.exited).code).toBe(0);
    // commander wraps at the terminal width: compare with runs of white space folded.
    const help = p.stdout.join("\n").replace(/\s+/g, " ");
    for (const text of ["--services <names>", "--peer <name=url>", "[env ORBIT_PORT]", "flags, ORBIT_* environment"]) {
      expect(help).toContain(text);
    }
  });
});

describe("orbit services", () => {
  it("lists services with their dependencies, tables and Connect services, then groups", async () => {
    const p = runOrbit(["services"]);
    expect((await p.exited).code).toBe(0);
    const out = p.stdout.join("\n");
    expect(out).toMatch(/^SERVICE\s+DEPENDS ON\s+TABLES\s+PUBLISHES\s+CONSUMES\s+RPC/m);
    expect(out).toMatch(/^echo\s+-\s+testing_echo_notes\s+-\s+-\s+orbit.testing.v1.EchoService/m);
    expect(out).toMatch(/^relay\s+echo\s+/m);
    expect(out).toMatch(/^testing\s+echo, relay\s+/m);
    const json = runOrbit(["services", "--json"]);
    expect((await json.exited).code).toBe(0);
    const parsed = JSON.parse(json.stdout.join("\n")) as { services: Array<{ name: string; deps: string[] }> };
    expect(parsed.services.find((s) => s.name === "relay")?.deps).toEqual(["echo"]);
  });
});

describe("settings", () => {
  it("takes flags over ORBIT_* variables over the config file over defaults", async () => {
    const [filePort, envPort, flagPort] = [await freePort(), await freePort(), await freePort()];
    const file = join(tmp, "orbit.json");
    writeFileSync(
      file,
      JSON.stringify({
        port: filePort,
        services: ["echo"],
        host: "127.0.0.1",
        dataDir: join(tmp, "d1"),
        logLevel: "debug",
      }),
    );
    const fromEnv = runOrbit(["bundle", "--config", file], { ORBIT_PORT: String(envPort), ORBIT_LOG_LEVEL: "info" });
    const ready = await waitForLog(fromEnv, (l) => l.msg.startsWith("orbit is ready"));
    expect(ready).toMatchObject({ url: `http://127.0.0.1:${envPort}`, services: ["echo"] });
    expect((await fromEnv.stop()).code).toBe(0);

    const fromFlag = runOrbit(["bundle", "--port", String(flagPort)], {
      ORBIT_CONFIG: file,
      ORBIT_PORT: String(envPort),
    });
    const ready2 = await waitForLog(fromFlag, (l) => l.msg.startsWith("orbit is ready"));
    expect(ready2).toMatchObject({ url: `http://127.0.0.1:${flagPort}`, services: ["echo"], level: "info" });
    // logLevel came from the file (debug): the debug line of a served call shows up.
    const echo = createClient(
      EchoService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${flagPort}`, httpVersion: "1.1" }),
    );
    await echo.echo({ text: "x" });
    await waitForLog(fromFlag, (l) => l.level === "debug" && l.rpc === "/orbit.testing.v1.EchoService/Echo");
    expect((await fromFlag.stop()).code).toBe(0);
  });

  it("runs `all` by default (what npm start does) and prints the URL", async () => {
    const port = await freePort();
    // Through cmd/orbit.mjs, as `npm start` and `npx orbit` run it (tsx, the sources as they are,
    // data migrations imported by path); the other tests here run the prebuilt CLI
    // (test/support/cli/build.ts).
    const p = runOrbit(
      ["bundle", "--host", "127.0.0.1", "--port", String(port), "--data-dir", join(tmp, "d2")],
      {},
      [],
      "source",
    );
    const ready = await waitForLog(p, (l) => l.msg.startsWith("orbit is ready"));
    expect(ready.msg).toBe(`orbit is ready at http://127.0.0.1:${port}`);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    expect((await p.stop("SIGINT")).code).toBe(0);
  });
});

describe("MariaDB store", () => {
  it("serves with --mysql", async () => {
    const store = await mysqlStore();
    try {
      const b = await startBundle(["--services", "testing", "--mysql", store.url]);
      expect(b.logs().find((l) => l.msg === "starting bundle")).toMatchObject({ store: store.url });
      const echo = createClient(EchoService, createConnectTransport({ baseUrl: b.url, httpVersion: "2" }));
      expect((await echo.echo({ text: "on mariadb" })).text).toBe("on mariadb");
      // The service's table was migrated on boot and takes writes.
      const { id } = await echo.note({ text: "on mariadb" });
      expect(await store.db.get("SELECT text FROM testing_echo_notes WHERE id = ?", [id])).toEqual({
        text: "on mariadb",
      });
      expect((await b.stop()).code).toBe(0);
    } finally {
      await store.dispose();
    }
  });
});

describe("graceful shutdown", () => {
  it("on SIGTERM turns not-ready, lets in-flight calls finish, and exits 0", async () => {
    // The call sleeps far longer than it takes to signal the bundle, and the
    // drain deadline is longer still: the call is in flight when SIGTERM
    // lands and finishes on its own, however slow the machine.
    const b = await startBundle(["--services", "echo", "--log-level", "trace", "--shutdown-timeout", "120000"]);
    const echo = createClient(EchoService, createConnectTransport({ baseUrl: b.url, httpVersion: "2" }));
    const call = echo.sleep({ ms: 10_000 }, { headers: { "x-request-id": "slow-1" } });
    await waitForLog(b, (l) => l.requestId === "slow-1" && l.msg === "rpc started");
    b.child.kill("SIGTERM");
    const draining = await waitForLog(b, (l) => l.msg === "shutting down: draining");
    expect(draining.inflight).toBe(1);
    // While calls drain, a newcomer (a probe) is still answered — not ready — on a connection that then closes.
    const ready = await fetch(`${b.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get("connection")).toBe("close");
    expect(await call).toMatchObject({ cancelled: false });
    expect((await b.exited).code).toBe(0);
    // Once drained, the port is closed.
    await expect(fetch(`${b.url}/healthz`)).rejects.toThrow();
    expect(b.logs().find((l) => l.msg === "stopped")).toMatchObject({ forced: 0, failures: 0 });
  }, 120_000);

  it("aborts calls that outlive --shutdown-timeout and still exits 0", async () => {
    const b = await startBundle(["--services", "echo", "--log-level", "trace", "--shutdown-timeout", "200"]);
    const echo = createClient(EchoService, createConnectTransport({ baseUrl: b.url, httpVersion: "2" }));
    const call = echo.sleep({ ms: 60_000 }, { headers: { "x-request-id": "slow-2" } }).then(
      (r) => r.cancelled,
      () => "failed",
    );
    await waitForLog(b, (l) => l.requestId === "slow-2" && l.msg === "rpc started");
    b.child.kill("SIGTERM");
    expect((await b.exited).code).toBe(0);
    // At the deadline the handler's signal aborted: it ended after about
    // 200 ms, not after the 60 s it asked for (its "rpc" line says so).
    const ended = b.logs().find((l) => l.requestId === "slow-2" && l.msg === "rpc");
    expect(ended, b.stdout.join("\n")).toBeDefined();
    expect(Number(ended!.ms)).toBeLessThan(30_000);
    // What the client then sees depends on whether the aborted handler's answer
    // beat the cut connection (cancelled: true) or not (an error): both say
    // the call did not run to its end; a normal completion (false) would not.
    expect(await call).not.toBe(false);
  }, 120_000);
});
