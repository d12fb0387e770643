import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../log.js";
import { detectProtocol, HTTP2_PREFACE } from "./preface.js";
import { OrbitServer, type RequestHandler } from "./server.js";

describe("detectProtocol", () => {
  it("tells HTTP/2 prior knowledge from HTTP/1.1 by the first bytes", () => {
    expect(detectProtocol(HTTP2_PREFACE)).toBe("h2");
    expect(detectProtocol(Buffer.concat([HTTP2_PREFACE, Buffer.from([0, 0, 0, 4])]))).toBe("h2");
    expect(detectProtocol(Buffer.from("PRI * HT"))).toBeUndefined();
    expect(detectProtocol(Buffer.from("P"))).toBeUndefined();
    expect(detectProtocol(Buffer.from("POST / HTTP/1.1"))).toBe("http/1.1");
    expect(detectProtocol(Buffer.from("G"))).toBe("http/1.1");
    expect(detectProtocol(Buffer.from([0x16, 0x03, 0x01]))).toBe("http/1.1"); // TLS: the HTTP/1.1 server answers 400
  });
});

const servers: OrbitServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.shutdown(100)));
});

async function serve(handler: RequestHandler, headersTimeoutMs?: number) {
  const server = new OrbitServer({ handler, log: silentLogger(), headersTimeoutMs });
  servers.push(server);
  const { port } = await server.listen(0, "127.0.0.1");
  return { server, port, url: `http://127.0.0.1:${port}` };
}

function h2get(url: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const s = session.request({ ":path": path });
    let body = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => (body += d));
    s.on("end", () => {
      session.close();
      resolve(body);
    });
    s.on("error", reject);
  });
}

function raw(port: number, chunks: Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const got: Buffer[] = [];
    sock.on("data", (d) => {
      got.push(d);
      sock.end();
    });
    sock.on("close", () => resolve(Buffer.concat(got)));
    sock.on("error", reject);
    sock.on("connect", async () => {
      for (const c of chunks) {
        sock.write(c);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
  });
}

const hello: RequestHandler = (req, res) => {
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(`HTTP/${req.httpVersion} ${req.method} ${req.url}`);
};

describe("OrbitServer", () => {
  it("serves HTTP/1.1 and HTTP/2 cleartext on one port", async () => {
    const { url } = await serve(hello);
    expect(await (await fetch(`${url}/one`)).text()).toBe("HTTP/1.1 GET /one");
    expect(await h2get(url, "/two")).toBe("HTTP/2.0 GET /two");
  });

  it("classifies a connection whose preface arrives in pieces", async () => {
    const { port } = await serve(hello);
    const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]); // an empty SETTINGS frame
    const answer = await raw(port, [HTTP2_PREFACE.subarray(0, 5), HTTP2_PREFACE.subarray(5), settings]);
    expect(answer[3]).toBe(4); // the server's first frame is SETTINGS
    const h1 = await raw(port, [Buffer.from("GE"), Buffer.from("T /split HTTP/1.1\r\nHost: x\r\n\r\n")]);
    expect(h1.toString()).toMatch(/^HTTP\/1.1 200 OK/);
  });

  it("answers garbage with 400 and closes silent connections", async () => {
    const { port } = await serve(hello, 50);
    expect((await raw(port, [Buffer.from("\x16\x03\x01\x00garbage\r\n\r\n")])).toString()).toMatch(/^HTTP\/1.1 400/);
    const closed = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, "127.0.0.1");
      sock.on("close", () => resolve(true));
      sock.on("error", () => undefined);
    });
    expect(closed).toBe(true);
  });

  it("drains: in-flight requests finish; new connections are answered meanwhile and refused once drained", async () => {
    let release!: () => void;
    let started!: () => void;
    const inHandler = new Promise<void>((r) => (started = r));
    const { server, url, port } = await serve((req, res) => {
      if (req.url === "/slow") {
        started();
        release = () => res.end("slow done");
        return;
      }
      hello(req, res);
    });
    const agent = new http.Agent({ keepAlive: true });
    // An idle keep-alive connection and an HTTP/2 session: both are closed by the drain.
    await new Promise<void>((r) => http.get(`${url}/idle`, { agent }, (res) => res.resume().on("end", r)));
    const session = http2.connect(url);
    const sessionClosed = new Promise<void>((r) => session.on("close", r));
    await new Promise<void>((r) =>
      session
        .request({ ":path": "/x" })
        .on("response", () => r())
        .resume(),
    );

    const slow = fetch(`${url}/slow`).then((r) => r.text());
    await inHandler;
    expect(server.inflight).toBe(1);
    const drained = server.shutdown(10_000);
    // While a request is in flight, a newcomer (a probe) still gets its answer, on a connection that then closes.
    const probe = await fetch(`${url}/probe`);
    expect(probe.headers.get("connection")).toBe("close");
    expect(await probe.text()).toBe("HTTP/1.1 GET /probe");
    release();
    expect(await slow).toBe("slow done");
    expect(await drained).toEqual({ forced: 0 });
    await sessionClosed;
    await expect(
      new Promise((resolve, reject) => net.connect(port, "127.0.0.1").on("connect", resolve).on("error", reject)),
    ).rejects.toThrow(/ECONNREFUSED/);
    agent.destroy();
  });

  it("keeps no per-request listener on a keep-alive connection whose GETs nobody read", async () => {
    let socket: net.Socket | undefined;
    const { port } = await serve((req, res) => {
      socket = req.socket as net.Socket;
      res.writeHead(200, { "content-length": "2" });
      res.end("ok");
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<number>((resolve, reject) => {
        http
          .get({ host: "127.0.0.1", port, path: "/x", agent }, (r) => {
            r.resume();
            r.on("end", () => resolve(r.statusCode ?? 0));
          })
          .on("error", reject);
      });
    try {
      expect(await get()).toBe(200);
      const first = socket!;
      const after1 = first.listenerCount("close");
      for (let i = 0; i < 50; i++) expect(await get()).toBe(200);
      expect(socket).toBe(first); // one connection
      expect(first.listenerCount("close")).toBe(after1);
    } finally {
      agent.destroy();
    }
  });

  it("cuts requests that outlive the deadline", async () => {
    const { server, url } = await serve(() => undefined);
    const hung = fetch(`${url}/never`).then(
      () => "answered",
      () => "cut",
    );
    await expect.poll(() => server.inflight).toBe(1);
    expect(await server.shutdown(50)).toEqual({ forced: 1 });
    expect(await hung).toBe("cut");
  });
});
