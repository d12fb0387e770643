/**
 * WebSocket endpoints of services on the bundle's one port (HTTP/1.1
 * Upgrade; the `ws` library speaks the protocol). The kernel does the
 * upgrade, authenticates the caller with the same bearer tokens as RPCs, and
 * hands the service an authenticated `ws` WebSocket, or the raw upgraded
 * connection for another protocol. It counts connections in /metrics, logs
 * them, and closes them on shutdown with 1012 (service restart: reconnect,
 * to another instance if there is one).
 *
 *   sockets: [{
 *     path: "/chat/socket",
 *     auth: "required",            // the default; "optional" admits anonymous callers
 *     tokenInFirstFrame: true,     // clients that cannot set headers send "Bearer <token>" as the first text frame
 *     connect(ws, conn) { ws.on("message", …); … conn.identity, conn.log, conn.signal … },
 *   }]
 *
 * Authentication: an `authorization: Bearer <token>` header (or a signed
 * orbit-identity header) on the upgrade request is checked before the
 * upgrade: a bad one, or none when auth is "required" and the endpoint takes
 * no first-frame token, answers HTTP 401. With `tokenInFirstFrame` and no
 * header, the upgrade succeeds and the first message must be a text frame
 * `Bearer <token>` within 10 s: a bad token closes with 4401, none in time
 * with 4408 (the graphql-ws codes). Messages sent after the token are kept
 * and delivered once `connect` has attached its listeners, which it must do
 * synchronously.
 */
import type http from "node:http";
import type { Duplex } from "node:stream";
import { Code, ConnectError } from "@connectrpc/connect";
import { WebSocketServer, type WebSocket, type RawData } from "ws";
import type { HttpMetrics, SocketResult } from "../http/metrics.js";
import type { HttpRoute } from "../http/routes.js";
import type { Logger } from "../log.js";
import { runInCall, type CallScope } from "../rpc/call-scope.js";
import { parseBearer } from "../rpc/bearer.js";
import type { Identity } from "../rpc/identity.js";
import { authenticateEdge, edgeRequest, type EdgeAuth, type EdgeDeps } from "./edge.js";

export interface SocketConnection {
  /** The signed-in caller (undefined only with auth "optional"). */
  readonly identity: Identity | undefined;
  readonly requestId: string;
  /** Lines carry requestId, traceId, socket and userId. */
  readonly log: Logger;
  /** The upgrade request (headers, URL with its query). */
  readonly request: http.IncomingMessage;
  /** Aborted when the connection closes. */
  readonly signal: AbortSignal;
}

export interface SocketEndpoint {
  /** Exact path, or a prefix ending in "/*". */
  readonly path: string;
  /** Default "required". */
  readonly auth?: EdgeAuth;
  /** Accept the token as the first text frame (`Bearer <token>`) when the upgrade has no authorization header. */
  readonly tokenInFirstFrame?: boolean;
  /** How long a first-frame token may take to arrive (then 4408). Default 10 s. */
  readonly firstFrameTimeoutMs?: number;
  /** Largest message accepted (bigger ones close the connection with 1009). Default 1 MiB. */
  readonly maxMessageBytes?: number;
  /** Takes an authenticated WebSocket; attach listeners synchronously. */
  readonly connect?: (ws: WebSocket, conn: SocketConnection) => void;
  /** Or: takes the raw connection after the header check, to speak another protocol (no first-frame token). */
  readonly upgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer, conn: SocketConnection) => void;
}

/** Close codes the kernel uses. */
export const CLOSE = {
  /** The bundle is shutting down: reconnect (elsewhere). */
  serviceRestart: 1012,
  /** The endpoint's handler failed. */
  internalError: 1011,
  /** The first-frame token was bad. */
  unauthorized: 4401,
  /** No first-frame token in time. */
  authTimeout: 4408,
} as const;

const DEFAULT_MAX_MESSAGE = 1 << 20;
const FIRST_FRAME_TIMEOUT_MS = 10_000;
/** How long the token check of an upgrade request may take. */
const TOKEN_CHECK_MS = 10_000;
/** Messages kept while a first-frame token is checked; more close the connection. */
const MAX_EARLY_MESSAGES = 64;

interface Open {
  close(code: number, reason: string): void;
  destroy(): void;
  readonly closed: Promise<void>;
}

function refuseUpgrade(socket: Duplex, status: number, err: ConnectError): void {
  const body = JSON.stringify({ code: status === 401 ? "unauthenticated" : "unavailable", message: err.rawMessage });
  const reason = status === 401 ? "Unauthorized" : "Service Unavailable";
  const auth = status === 401 ? 'WWW-Authenticate: Bearer realm="orbit"\r\n' : "";
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\n${auth}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** One connection as a service sees it, and the call scope its handler runs in. */
interface Session {
  readonly conn: SocketConnection;
  readonly scope: CallScope;
}

export class SocketHub {
  private readonly open = new Set<Open>();
  private closing = false;

  constructor(private readonly deps: EdgeDeps & { readonly metrics: HttpMetrics }) {}

  /** Connections open now (including those still sending their first-frame token). */
  get size(): number {
    return this.open.size;
  }

  /** The endpoint as the kernel's route table serves it. */
  route(endpoint: SocketEndpoint, owner: string): HttpRoute {
    if (!endpoint.connect === !endpoint.upgrade) {
      throw new Error(`${owner}: socket ${endpoint.path} needs exactly one of connect or upgrade`);
    }
    const auth = endpoint.auth ?? "required";
    if (endpoint.tokenInFirstFrame && (auth !== "required" || !endpoint.connect)) {
      throw new Error(`${owner}: socket ${endpoint.path}: tokenInFirstFrame needs auth "required" and connect`);
    }
    const wss = endpoint.connect
      ? new WebSocketServer({
          noServer: true,
          clientTracking: false,
          maxPayload: endpoint.maxMessageBytes ?? DEFAULT_MAX_MESSAGE,
        })
      : undefined;
    return {
      path: endpoint.path,
      upgrade: (req, socket, head) => {
        void this.accept(endpoint, owner, auth, wss, req, socket, head);
      },
    };
  }

  /**
   * Closes every connection with 1012 and waits for the closing handshakes,
   * for up to `timeoutMs`; then cuts what is left.
   */
  async closeAll(timeoutMs: number): Promise<void> {
    this.closing = true;
    const all = [...this.open];
    for (const o of all) o.close(CLOSE.serviceRestart, "the bundle is shutting down; reconnect");
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(all.map((o) => o.closed)),
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    for (const o of this.open) o.destroy();
  }

  private async accept(
    endpoint: SocketEndpoint,
    owner: string,
    auth: EdgeAuth,
    wss: WebSocketServer | undefined,
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): Promise<void> {
    const { metrics, log } = this.deps;
    const edge = edgeRequest(req, `WS ${endpoint.path}`, "websocket", this.deps);
    const refuse = (result: SocketResult, status: number, err: ConnectError) => {
      metrics.socket(endpoint.path, result);
      log.info({ socket: endpoint.path, requestId: edge.requestId, owner, error: err.rawMessage }, "websocket refused");
      refuseUpgrade(socket, status, err);
    };
    socket.on("error", () => socket.destroy());
    if (this.closing) {
      refuse("failed", 503, new ConnectError("the bundle is shutting down", Code.Unavailable));
      return;
    }
    const firstFrame = endpoint.tokenInFirstFrame === true && req.headers.authorization === undefined;
    let identity: Identity | undefined;
    try {
      identity = await authenticateEdge(
        req,
        edge.procedure,
        firstFrame ? "optional" : auth,
        this.deps,
        AbortSignal.timeout(TOKEN_CHECK_MS),
      );
    } catch (err) {
      const e = ConnectError.from(err);
      if (e.code === Code.Unauthenticated) refuse("unauthenticated", 401, e);
      else refuse("failed", 503, e);
      return;
    }
    if (this.closing) {
      // The bundle began to shut down while the token was checked.
      refuse("failed", 503, new ConnectError("the bundle is shutting down", Code.Unavailable));
      return;
    }
    const controller = new AbortController();
    const session = (who: Identity | undefined): Session => {
      const scope = edge.scope(who, controller.signal);
      const conn = {
        identity: who,
        requestId: edge.requestId,
        log: scope.log,
        request: req,
        signal: controller.signal,
      };
      return { conn, scope };
    };

    if (endpoint.upgrade) {
      const s = session(identity);
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      this.track({ close: () => socket.end(), destroy: () => socket.destroy(), closed }, controller);
      this.accepted(endpoint.path, s, closed);
      try {
        runInCall(s.scope, () => endpoint.upgrade!(req, socket, head, s.conn));
      } catch (err) {
        s.conn.log.error({ err, owner }, "websocket upgrade handler failed");
        socket.destroy();
      }
      return;
    }

    wss!.handleUpgrade(req, socket, head, (ws) => {
      // A protocol error (a message over the limit, a bad frame) closes the
      // connection with its code; without a listener it would crash the process.
      ws.on("error", (err) => log.debug({ socket: endpoint.path, requestId: edge.requestId, err }, "websocket error"));
      const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
      this.track(
        { close: (code, reason) => ws.close(code, reason), destroy: () => ws.terminate(), closed },
        controller,
      );
      if (!firstFrame) {
        this.connect(endpoint, owner, ws, session(identity), closed);
        return;
      }
      this.awaitToken(endpoint, owner, ws, controller, session);
    });
  }

  /** First-frame authentication: the token, then the messages that followed it, in order. */
  private awaitToken(
    endpoint: SocketEndpoint,
    owner: string,
    ws: WebSocket,
    controller: AbortController,
    session: (who: Identity | undefined) => Session,
  ): void {
    const { metrics, log } = this.deps;
    const early: [RawData, boolean][] = [];
    let state: "waiting" | "checking" | "done" = "waiting";
    const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
    const finish = () => {
      state = "done";
      clearTimeout(timer);
      ws.off("message", onMessage);
    };
    const fail = (result: SocketResult, code: number, reason: string) => {
      finish();
      metrics.socket(endpoint.path, result);
      log.info({ socket: endpoint.path, owner, code, reason }, "websocket refused");
      ws.close(code, reason);
    };
    const timer = setTimeout(
      () => fail("auth_timeout", CLOSE.authTimeout, "no token in time"),
      endpoint.firstFrameTimeoutMs ?? FIRST_FRAME_TIMEOUT_MS,
    );
    const onMessage = (data: RawData, isBinary: boolean) => {
      if (state === "checking") {
        if (early.length >= MAX_EARLY_MESSAGES) fail("failed", 1008, "too many messages before the token was checked");
        else early.push([data, isBinary]);
        return;
      }
      const token = isBinary ? undefined : parseBearer(data.toString());
      if (token === undefined) {
        fail("unauthenticated", CLOSE.unauthorized, 'the first message must be "Bearer <token>"');
        return;
      }
      state = "checking";
      ws.pause();
      this.deps.authenticator.verifyToken(token, controller.signal).then(
        (identity) => {
          if (state !== "checking") return;
          finish();
          this.connect(endpoint, owner, ws, session(identity), closed);
          // Messages that came with the token, after the service's listeners.
          for (const [m, binary] of early) ws.emit("message", m, binary);
          ws.resume();
        },
        (err) => {
          if (state !== "checking") return;
          ws.resume();
          const e = ConnectError.from(err);
          fail(
            "unauthenticated",
            CLOSE.unauthorized,
            e.code === Code.Unauthenticated ? "invalid or expired token" : "the token could not be checked",
          );
        },
      );
    };
    ws.on("message", onMessage);
    void closed.then(finish);
  }

  /** Keeps a connection for closeAll until it closes; its signal aborts then. */
  private track(entry: Open, controller: AbortController): void {
    this.open.add(entry);
    void entry.closed.then(() => {
      this.open.delete(entry);
      controller.abort();
    });
  }

  /** Counts and logs an accepted connection until it closes. */
  private accepted(path: string, s: Session, closed: Promise<void>, ws?: WebSocket): void {
    const { metrics } = this.deps;
    const t0 = Date.now();
    metrics.socket(path, "accepted");
    let code: number | undefined;
    if (ws) {
      ws.on("message", metrics.messageCounter(path));
      ws.once("close", (c) => (code = c));
    }
    s.conn.log.debug("websocket open");
    void closed.then(() => {
      metrics.socketClosed(path);
      const fields = { code, ms: Date.now() - t0 };
      if (code === 1006 || code === CLOSE.internalError) s.conn.log.info(fields, "websocket closed");
      else s.conn.log.debug(fields, "websocket closed");
    });
  }

  private connect(endpoint: SocketEndpoint, owner: string, ws: WebSocket, s: Session, closed: Promise<void>): void {
    this.accepted(endpoint.path, s, closed, ws);
    try {
      runInCall(s.scope, () => endpoint.connect!(ws, s.conn));
    } catch (err) {
      s.conn.log.error({ err, owner }, "websocket handler failed");
      ws.close(CLOSE.internalError, "internal error");
    }
  }
}
