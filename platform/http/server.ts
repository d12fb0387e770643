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
 *
 * Connection hygiene (issue 12): a connection must send a request's headers
 * within `headersTimeoutMs` (from its first byte, and again after each
 * answer on a kept-alive HTTP/1.1 connection), and a request's body must
 * arrive within `bodyTimeoutMs`; an HTTP/2 connection must send its SETTINGS
 * within 5 s and is closed (GOAWAY) after `idleTimeoutMs` without an open
 * stream; one peer address may hold at most `maxConnectionsPerAddress`
 * connections. Each cut is reported to `onCut` (logs, metrics).
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
  /** A request's headers must arrive within this long (default 10 s). */
  readonly headersTimeoutMs?: number;
  /** A request's body must arrive within this long after its headers (default 30 s). */
  readonly bodyTimeoutMs?: number;
  /** An HTTP/2 connection without an open stream this long is closed (default 120 s). */
  readonly idleTimeoutMs?: number;
  /** An HTTP/2 connection must send its SETTINGS within this long (default 5 s). */
  readonly settingsTimeoutMs?: number;
  /** Connections allowed from one peer address (0 or absent: no cap). */
  readonly maxConnectionsPerAddress?: number;
  /** Told whenever a connection or request is cut by one of the limits above. */
  readonly onCut?: (reason: CutReason, address: string) => void;
}

/**
 * The most of a refused HTTP/1.1 body read and dropped after the answer (1 MiB): enough for a
 * client that writes a little past the refusal to read it, while a flood of big bodies costs the
 * server 1 MiB of reading each, not the whole body (past it the connection is closed).
 */
const LINGER_MAX_BYTES = 1024 * 1024;
/** How long a draining HTTP/2 session may take to write its streams' last frames before it is cut. */
const SESSION_END_GRACE_MS = 500;

export type CutReason = "headers_timeout" | "body_timeout" | "idle_timeout" | "settings_timeout" | "per_address_cap";

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
  private readonly perAddress = new Map<string, number>();
  /** Per HTTP/1.1 socket: the timer waiting for the next request's headers. */
  private readonly headerTimers = new Map<net.Socket, NodeJS.Timeout>();
  private readonly headersTimeoutMs: number;
  private readonly bodyTimeoutMs: number;
  private inflightCount = 0;
  private draining = false;
  private onIdle: (() => void) | undefined;

  constructor(private readonly opts: OrbitServerOptions) {
    this.headersTimeoutMs = opts.headersTimeoutMs ?? 10_000;
    this.bodyTimeoutMs = opts.bodyTimeoutMs ?? 30_000;
    this.h1 = http.createServer();
    this.h1.keepAliveTimeout = 5_000;
    // Node's own checks stay as a backstop (they run only every 30 s); ours are the timers below.
    this.h1.headersTimeout = this.headersTimeoutMs;
    this.h1.requestTimeout = this.headersTimeoutMs + this.bodyTimeoutMs;
    this.h2 = http2.createServer();
    this.h1.on("request", (req, res) => this.serve(req, res, req.socket));
    this.h2.on("request", (req, res) => this.serve(req, res, undefined));
    this.h1.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      if (this.draining || !opts.upgrade) {
        socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      this.h1Busy.delete(socket as net.Socket);
      this.clearHeaderTimer(socket as net.Socket);
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
      this.watchSession(session);
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
    const closing = [...this.sessions];
    for (const session of closing) session.close();
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
    // A closed (GOAWAY) session ends by itself once its last stream's frames are written; destroying
    // it at once could drop a stream's end still in the socket (the client sees CANCEL instead of
    // the end of a stream that was answered in full). Give them a moment first.
    const pending = closing.filter((s) => !s.destroyed);
    if (pending.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(pending.map((s) => new Promise<void>((resolve) => s.once("close", () => resolve())))),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, SESSION_END_GRACE_MS))),
      ]);
      clearTimeout(timer);
    }
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets) if (!this.upgraded.has(socket)) socket.destroy();
    this.h1.close();
    await closed;
    return { forced };
  }

  private accept(socket: net.Socket): void {
    const address = socket.remoteAddress ?? "";
    const cap = this.opts.maxConnectionsPerAddress ?? 0;
    const held = this.perAddress.get(address) ?? 0;
    if (cap > 0 && held >= cap) {
      socket.destroy();
      this.opts.onCut?.("per_address_cap", address);
      return;
    }
    this.perAddress.set(address, held + 1);
    this.sockets.add(socket);
    // Responses are written in several small pieces (headers, data, trailers):
    // without this, Nagle's algorithm holds them back until the peer's
    // delayed ACK, tens of milliseconds per call.
    socket.setNoDelay(true);
    socket.on("close", () => {
      this.sockets.delete(socket);
      this.h1Busy.delete(socket);
      this.clearHeaderTimer(socket);
      const n = (this.perAddress.get(address) ?? 1) - 1;
      if (n > 0) this.perAddress.set(address, n);
      else this.perAddress.delete(address);
    });
    socket.on("error", () => socket.destroy());
    // Until it is classified, a connection is waiting for its first request's headers.
    socket.setTimeout(this.headersTimeoutMs, () => {
      socket.destroy();
      this.opts.onCut?.("headers_timeout", address);
    });
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
        this.armHeaderTimer(socket);
        this.h1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  }

  private serve(req: NodeServerRequest, res: NodeServerResponse, h1Socket: net.Socket | undefined): void {
    this.inflightCount++;
    if (h1Socket) {
      this.clearHeaderTimer(h1Socket);
      this.h1Busy.set(h1Socket, (this.h1Busy.get(h1Socket) ?? 0) + 1);
      if (this.draining) res.setHeader("connection", "close");
    }
    if (h1Socket) {
      // An answer given before the body was read (a refused body): read the
      // rest and drop it, so the client's last writes are not met with a reset
      // before it reads the answer; a body that keeps coming is cut.
      res.once("finish", () => {
        if (req.readableEnded || req.destroyed) return;
        if (req.complete) {
          // The whole request is parsed (a GET nobody read): let it end; there is nothing to wait for.
          // Lingering here would leave a socket listener per request on a keep-alive connection.
          req.resume();
          return;
        }
        let dropped = 0;
        req.removeAllListeners("data");
        req.on("data", (chunk: Buffer) => {
          dropped += chunk.length;
          if (dropped > LINGER_MAX_BYTES) h1Socket.destroy();
        });
        req.resume();
        const linger = setTimeout(() => req.readableEnded || h1Socket.destroy(), this.bodyTimeoutMs);
        linger.unref();
        const onClose = () => clearTimeout(linger);
        req.once("end", () => {
          clearTimeout(linger);
          h1Socket.off("close", onClose);
        });
        h1Socket.once("close", onClose);
      });
    }
    let bodyTimer: NodeJS.Timeout | undefined;
    if (!req.readableEnded && !req.complete) {
      bodyTimer = setTimeout(() => {
        if (req.complete) return;
        this.opts.onCut?.("body_timeout", req.socket?.remoteAddress ?? "");
        if (h1Socket) h1Socket.destroy();
        else (req as http2.Http2ServerRequest).stream.close(http2.constants.NGHTTP2_CANCEL);
      }, this.bodyTimeoutMs);
      bodyTimer.unref();
      req.once("end", () => clearTimeout(bodyTimer));
    }
    if (!h1Socket) {
      // A complete answer given before the client finished sending (a refused
      // body): end the stream with RST_STREAM NO_ERROR, which tells the client
      // to stop sending and keep the answer (RFC 9113 §8.1). Otherwise a client
      // blocked on flow control never sees the stream end.
      const stream = (req as http2.Http2ServerRequest).stream;
      stream.once("finish", () => {
        if (req.readableEnded) return;
        const reset = () =>
          setImmediate(() => {
            if (!stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
          });
        // Trailers (gRPC's status) go out after the last data frame: reset after them.
        if (stream.listenerCount("wantTrailers") > 0 && !stream.sentTrailers) stream.once("wantTrailers", reset);
        else reset();
      });
    }
    let done = false;
    res.once("close", () => {
      if (done) return;
      done = true;
      clearTimeout(bodyTimer);
      this.inflightCount--;
      if (h1Socket) {
        const busy = (this.h1Busy.get(h1Socket) ?? 1) - 1;
        this.h1Busy.set(h1Socket, busy);
        if (this.draining && busy === 0) h1Socket.destroySoon();
        else if (busy === 0 && !h1Socket.destroyed && !this.upgraded.has(h1Socket)) this.armHeaderTimer(h1Socket);
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

  private armHeaderTimer(socket: net.Socket): void {
    this.clearHeaderTimer(socket);
    const timer = setTimeout(() => {
      this.headerTimers.delete(socket);
      if (socket.destroyed || this.upgraded.has(socket) || (this.h1Busy.get(socket) ?? 0) > 0) return;
      this.opts.onCut?.("headers_timeout", socket.remoteAddress ?? "");
      socket.destroy();
    }, this.headersTimeoutMs);
    timer.unref();
    this.headerTimers.set(socket, timer);
  }

  private clearHeaderTimer(socket: net.Socket): void {
    const timer = this.headerTimers.get(socket);
    if (timer) {
      clearTimeout(timer);
      this.headerTimers.delete(socket);
    }
  }

  /** SETTINGS within settingsTimeoutMs; GOAWAY after idleTimeoutMs without an open stream. */
  private watchSession(session: http2.ServerHttp2Session): void {
    const address = session.socket?.remoteAddress ?? "";
    const settings = setTimeout(() => {
      this.opts.onCut?.("settings_timeout", address);
      session.destroy();
    }, this.opts.settingsTimeoutMs ?? Math.min(5_000, this.headersTimeoutMs));
    settings.unref();
    session.once("remoteSettings", () => clearTimeout(settings));
    let open = 0;
    let idle: NodeJS.Timeout | undefined;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        if (open > 0 || session.closed || session.destroyed) return;
        this.opts.onCut?.("idle_timeout", address);
        session.close();
        // A peer that ignores GOAWAY and keeps the connection open is cut.
        setTimeout(() => session.destroy(), 1_000).unref();
      }, this.opts.idleTimeoutMs ?? 120_000);
      idle.unref();
    };
    armIdle();
    session.on("stream", (stream) => {
      open++;
      clearTimeout(idle);
      stream.once("close", () => {
        if (--open === 0) armIdle();
      });
    });
    session.once("close", () => {
      clearTimeout(settings);
      clearTimeout(idle);
    });
  }
}
