/**
 * eagerBody: a body read from the first byte keeps every byte that reached
 * the server when the client cuts the connection while the handler is still
 * busy; a whole body ends normally; a large body is paused and resumed, not
 * queued without bound; a consumer leaving early stops the reading.
 */
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { eagerBody } from "./eager-body.js";

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A server whose handler waits `busyMs` before reading the body; resolves with what it read and how it ended. */
function serve(
  busyMs: number,
  onBody: (read: { bytes: number; ended: "end" | "error"; maxQueued?: number }) => void,
  pauseAbove?: number,
): Promise<number> {
  server = createServer(async (req: IncomingMessage, res) => {
    const body = eagerBody(req, pauseAbove);
    await new Promise((r) => setTimeout(r, busyMs));
    let bytes = 0;
    try {
      for await (const chunk of body) bytes += chunk.byteLength;
      onBody({ bytes, ended: "end" });
      res.end("ok");
    } catch {
      onBody({ bytes, ended: "error" });
    }
  });
  return new Promise((resolve) =>
    server!.listen(0, "127.0.0.1", () => resolve((server!.address() as AddressInfo).port)),
  );
}

function send(port: number, total: number, cutAfter?: number): Promise<void> {
  return new Promise((resolve) => {
    const req = request({
      host: "127.0.0.1",
      port,
      method: "PATCH",
      agent: false,
      headers: { "content-length": total },
    });
    req.on("error", () => resolve());
    req.on("response", (res) => res.resume().on("end", () => resolve()));
    req.on("close", () => resolve());
    const data = Buffer.alloc(cutAfter ?? total, 7);
    if (cutAfter === undefined) req.end(data);
    else req.write(data, () => setImmediate(() => req.destroy()));
  });
}

describe("eagerBody", () => {
  it("keeps every byte that arrived before a cut, even when the handler reads late", async () => {
    const got = new Promise<{ bytes: number; ended: string }>(
      (resolve) => void serve(300, resolve).then((port) => send(port, 5_000_000, 786_932)),
    );
    expect(await got).toEqual({ bytes: 786_932, ended: "error" });
  });

  it("hands out a whole body and ends", async () => {
    const got = new Promise<{ bytes: number; ended: string }>(
      (resolve) => void serve(50, resolve).then((port) => send(port, 3_000_000)),
    );
    expect(await got).toEqual({ bytes: 3_000_000, ended: "end" });
  });

  it("pauses a large body it has not handed out (the rest waits in the socket) and resumes it", async () => {
    let queuedAtStart = 0;
    const port = await new Promise<number>((resolve) => {
      server = createServer(async (req, res) => {
        const body = eagerBody(req, 256 * 1024);
        await new Promise((r) => setTimeout(r, 300));
        queuedAtStart = req.readableLength + (req.isPaused() ? 1 : 0);
        let bytes = 0;
        for await (const chunk of body) bytes += chunk.byteLength;
        res.end(String(bytes));
      });
      server.listen(0, "127.0.0.1", () => resolve((server!.address() as AddressInfo).port));
    });
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, method: "PATCH", agent: false }, (res) => {
        let s = "";
        res.on("data", (d) => (s += d));
        res.on("end", () => resolve(s));
      });
      req.on("error", reject);
      req.end(Buffer.alloc(20_000_000, 1));
    });
    expect(answer).toBe("20000000");
    expect(queuedAtStart).toBeGreaterThan(0); // it was paused while the handler was busy
  });

  it("stops reading when the consumer leaves early", async () => {
    const port = await new Promise<number>((resolve) => {
      server = createServer(async (req) => {
        for await (const _ of eagerBody(req)) break;
        expect(req.destroyed).toBe(true);
      });
      server.listen(0, "127.0.0.1", () => resolve((server!.address() as AddressInfo).port));
    });
    await send(port, 10_000_000); // resolves when the server drops the connection
  });
});
