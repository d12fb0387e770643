/**
 * One port for HTTP/1.1 and HTTP/2 cleartext (h2c with prior knowledge, as
 * gRPC and Connect clients use it): a `net` server reads the first bytes of
 * each connection, puts them back, and hands the socket to an `http2` or an
 * `http` server that share one request handler.
 *
 * `shutdown()` drains: it sends HTTP/2 GOAWAY, closes idle HTTP/1.1
 * keep-alive connections and the others once their response is sent, waits
 * for in-flight requests up to a deadline, and then cuts whatever is left.
 * While requests are in flight it still accepts new connections, so that
 * probes get an answer (gRPC health NOT_SERVING, /readyz 503, RPCs
 * Unavailable) rather than a refused connection; it stops listening once
 * nothing is in flight or the deadline has passed.
 * A connection taken over by an HTTP/1.1 Upgrade (a WebSocket) belongs to
 * whoever took it: `shutdown()` leaves it to them (the kernel closes
 * WebSockets with a close code, platform/kernel/sockets.ts).
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { Duplex } from "node:stream";
import type { NodeServerRequest, NodeServerResponse } from "./types.js";
import type { Logger } from "../log.js";
import { detectProtocol } from "./preface.js";

export type RequestHandler = (req: NodeServerRequest, res: NodeServerResponse) => void;
export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface OrbitServerOptions {
  readonly handler: RequestHandler;
  /** HTTP/1.1 Upgrade requests (WebSocket); without it they are refused. */
  readonly upgrade?: UpgradeHandler;
  readonly log: Logger;
  /** A connection that sends nothing for this long is closed before it is classified. Default 10 s. */
  readonly prefaceTimeoutMs?: number;
}

export interface Listening {
  readonly host: string;
  readonly port: number;
}

export interface ShutdownResult {
  /** Requests still running when the deadline passed (cut off). */
  readonly forced: number;
}

export class OrbitServer {
  private readonly tcp: net.Server;
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly h1Busy = new Map<net.Socket, number>();
  /** Connections handed to the upgrade handler: no longer ours to drain or cut. */
  private readonly upgraded = new Set<Duplex>();
  private inflightCount = 0;
  private draining = false;
  private onIdle: (() => void) | undefined;

  constructor(private readonly opts: OrbitServerOptions) {
    this.h1 = http.createServer();
    this.h1.keepAliveTimeout = 5_000;
    this.h1.headersTimeout = 30_000;
    this.h1.requestTimeout = 300_000;
    this.h2 = http2.createServer();
    this.h2.setTimeout(300_000);
    this.h1.on("request", (req, res) => this.serve(req, res, req.socket));
    this.h2.on("request", (req, res) => this.serve(req, res, undefined));
    this.h1.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      if (this.draining || !opts.upgrade) {
        socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      this.h1Busy.delete(socket as net.Socket);
      this.upgraded.add(socket);
      socket.once("close", () => this.upgraded.delete(socket));
      opts.upgrade(req, socket, head);
    });
    this.h1.on("clientError", (err: Error, socket: Duplex) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      else socket.destroy();
      opts.log.debug({ err: err.message }, "http/1.1 client error");
    });
    this.h2.on("session", (session) => {
      this.sessions.add(session);
      session.on("close", () => this.sessions.delete(session));
      session.on("error", (err) => opts.log.debug({ err: err.message }, "http/2 session error"));
    });
    this.h2.on("sessionError", (err) => opts.log.debug({ err: err.message }, "http/2 session error"));
    this.tcp = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  /** Requests being served right now. */
  get inflight(): number {
    return this.inflightCount;
  }

  listen(port: number, host: string): Promise<Listening> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.tcp.once("error", onError);
      this.tcp.listen(port, host, () => {
        this.tcp.off("error", onError);
        this.tcp.on("error", (err) => this.opts.log.error({ err }, "server error"));
        // The http server never listens itself; this starts its checks of
        // header and request timeouts on the connections we hand it.
        this.h1.emit("listening");
        const addr = this.tcp.address() as net.AddressInfo;
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  async shutdown(timeoutMs: number): Promise<ShutdownResult> {
    this.draining = true;
    // Sessions opened from now on (probes) are not closed here: their streams get the draining answers.
    for (const session of this.sessions) session.close();
    for (const socket of this.sockets) {
      if (this.h1Busy.get(socket) === 0) socket.destroy();
    }
    let forced = 0;
    if (this.inflightCount > 0) {
      const idle = new Promise<void>((resolve) => (this.onIdle = resolve));
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<"expired">((resolve) => (timer = setTimeout(() => resolve("expired"), timeoutMs)));
      if ((await Promise.race([idle, expired])) === "expired") forced = this.inflightCount;
      clearTimeout(timer);
    }
    const closed = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets) if (!this.upgraded.has(socket)) socket.destroy();
    this.h1.close();
    await closed;
    return { forced };
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    // Responses are written in several small pieces (headers, data, trailers):
    // without this, Nagle's algorithm holds them back until the peer's
    // delayed ACK, tens of milliseconds per call.
    socket.setNoDelay(true);
    socket.on("close", () => {
      this.sockets.delete(socket);
      this.h1Busy.delete(socket);
    });
    socket.on("error", () => socket.destroy());
    socket.setTimeout(this.opts.prefaceTimeoutMs ?? 10_000, () => socket.destroy());
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const protocol = detectProtocol(head);
      if (protocol === undefined) return;
      socket.off("data", onData);
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(head);
      if (protocol === "h2") {
        this.h2.emit("connection", socket);
      } else {
        this.h1Busy.set(socket, 0);
        this.h1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  }

  private serve(req: NodeServerRequest, res: NodeServerResponse, h1Socket: net.Socket | undefined): void {
    this.inflightCount++;
    if (h1Socket) {
      this.h1Busy.set(h1Socket, (this.h1Busy.get(h1Socket) ?? 0) + 1);
      if (this.draining) res.setHeader("connection", "close");
    }
    let done = false;
    res.once("close", () => {
      if (done) return;
      done = true;
      this.inflightCount--;
      if (h1Socket) {
        const busy = (this.h1Busy.get(h1Socket) ?? 1) - 1;
        this.h1Busy.set(h1Socket, busy);
        if (this.draining && busy === 0) h1Socket.destroySoon();
      }
      if (this.inflightCount === 0) this.onIdle?.();
    });
    try {
      this.opts.handler(req, res);
    } catch (err) {
      this.opts.log.error({ err }, "request handler threw");
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  }
}
