/**
 * Slowloris against a real bundle (issue 12: 0 of 20 slow-header connections
 * were closed in 170 s): many connections that each keep the server waiting —
 * headers trickled a line at a time, an HTTP/2 connection idle after its
 * SETTINGS, a body trickled a byte at a time — are all closed by the server
 * once their timeout passes (here 1 s; the bound below is generous for a
 * loaded machine, and far below "never"), and /healthz answers meanwhile.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBundle, type BundleProcess } from "../support/bundle-process.js";

const TIMEOUT_MS = 1_000;
/** A connection still open this long after its timeout counts as held indefinitely. */
const BOUND_MS = TIMEOUT_MS + 9_000;
const N = 20;

let b: BundleProcess;
beforeAll(async () => {
  const ms = String(TIMEOUT_MS);
  b = await startBundle(["--services", "echo", "--headers-timeout", ms, "--body-timeout", ms, "--idle-timeout", ms]);
}, 90_000);
afterAll(async () => {
  await b?.stop();
});

function dial(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(b.port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

/** Resolves true once the server closes the socket, false if it is still open after BOUND_MS. */
function closedWithinBound(socket: net.Socket | http2.ClientHttp2Session, trickle?: () => void): Promise<boolean> {
  return new Promise((resolve) => {
    const keep = trickle ? setInterval(trickle, 100) : undefined;
    const bound = setTimeout(() => finish(false), BOUND_MS);
    function finish(closed: boolean) {
      clearInterval(keep);
      clearTimeout(bound);
      resolve(closed);
    }
    socket.on("error", () => undefined);
    // Read what the server sends (a GOAWAY): an unread socket never sees the server's end.
    if (socket instanceof net.Socket) socket.on("data", () => undefined);
    if (socket.destroyed) return finish(true);
    socket.once("close", () => finish(true));
  });
}

function healthz(): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(`${b.url}/healthz`, { agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
      .on("error", reject);
  });
}

describe("slowloris: every slow connection is closed on time", () => {
  it(`${N} connections trickling their headers`, async () => {
    const sockets = await Promise.all(Array.from({ length: N }, () => dial()));
    const closed = sockets.map((s) => {
      s.write("POST /orbit.testing.v1.EchoService/Echo HTTP/1.1\r\nHost: x\r\n");
      return closedWithinBound(s, () => s.writable && s.write("X-Slow: y\r\n"));
    });
    expect(await healthz()).toBe(200);
    expect(await Promise.all(closed)).toEqual(Array(N).fill(true));
  }, 30_000);

  it(`${N} connections trickling their bodies`, async () => {
    const sockets = await Promise.all(Array.from({ length: N }, () => dial()));
    const closed = sockets.map((s) => {
      s.write(
        "POST /orbit.testing.v1.EchoService/Echo HTTP/1.1\r\nHost: x\r\n" +
          "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{",
      );
      return closedWithinBound(s, () => s.writable && s.write(" "));
    });
    expect(await healthz()).toBe(200);
    expect(await Promise.all(closed)).toEqual(Array(N).fill(true));
  }, 30_000);

  it(`${N} HTTP/2 connections idle after SETTINGS, and ${N} that never send SETTINGS`, async () => {
    const sessions = await Promise.all(
      Array.from(
        { length: N },
        () =>
          new Promise<http2.ClientHttp2Session>((resolve, reject) => {
            const s = http2.connect(b.url);
            s.once("error", reject);
            s.once("connect", () => resolve(s)); // SETTINGS exchanged; then nothing
          }),
      ),
    );
    const mute = await Promise.all(Array.from({ length: N }, () => dial()));
    for (const s of mute) s.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    const closed = [...sessions.map((s) => closedWithinBound(s)), ...mute.map((s) => closedWithinBound(s))];
    expect(await healthz()).toBe(200);
    expect(await Promise.all(closed)).toEqual(Array(2 * N).fill(true));
    for (const s of sessions) s.destroy();
  }, 30_000);
});
