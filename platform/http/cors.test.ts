/**
 * CORS on a plain HTTP/1.1 server: `*` allows any origin (no Vary: Origin),
 * a list allows only its origins, and --cors-origin values are checked.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { h1 } from "../../test/support/wire.js";
import { corsOriginProblem, createCors } from "./cors.js";

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function serve(origins: string[]): Promise<string> {
  const cors = createCors(origins);
  const server = http.createServer((req, res) => {
    if (cors(req, res)) return;
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("served");
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const preflight = (origin: string) => ({
  method: "OPTIONS",
  path: "/x",
  headers: { origin, "access-control-request-method": "POST" },
});

describe("CORS", () => {
  it('"*" allows any origin, without Vary: Origin', async () => {
    const url = await serve(["*"]);
    const pre = await h1(url, preflight("http://localhost:5173"));
    expect(pre.status).toBe(204);
    expect(pre.headers["access-control-allow-origin"]).toBe("*");
    const call = await h1(url, { path: "/x", headers: { origin: "https://anything.example" }, body: "" });
    expect(call.headers["access-control-allow-origin"]).toBe("*");
    expect(call.headers.vary).toBeUndefined();
    expect(call.body.toString()).toBe("served");
  });

  it("a list allows its origins only (any case, trailing slash ignored)", async () => {
    const url = await serve(["https://a.example", "http://localhost:3000/"]);
    expect((await h1(url, preflight("https://A.example"))).headers["access-control-allow-origin"]).toBe(
      "https://A.example",
    );
    expect((await h1(url, preflight("http://localhost:3000"))).status).toBe(204);
    expect((await h1(url, preflight("https://b.example"))).status).toBe(403);
    // Not a preflight (no Access-Control-Request-Method): passed on to the handler.
    const options = await h1(url, { method: "OPTIONS", path: "/x", headers: { origin: "https://b.example" } });
    expect(options.body.toString()).toBe("served");
  });

  it("checks --cors-origin values", () => {
    expect(corsOriginProblem("*")).toBeUndefined();
    expect(corsOriginProblem("https://app.example.com")).toBeUndefined();
    expect(corsOriginProblem("http://localhost:5173")).toBeUndefined();
    expect(corsOriginProblem("app.example.com")).toMatch(/not an origin/);
    expect(corsOriginProblem("https://app.example.com/path")).toMatch(/no path/);
    expect(corsOriginProblem("file:///tmp/x")).toMatch(/not an origin/);
  });
});
