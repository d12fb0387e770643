/**
 * HTTP routes and sockets of the echo fixture, to test the kernel's routing,
 * auth, metrics and shutdown over real sockets:
 *
 *   GET /testing/echo?text=…   {"text": …}, anyone
 *   GET /testing/whoami        {"userId", "sessionId", "requestId"}, signed-in callers only
 *   WS  /testing/ws            a WebSocket: says {"hello": userId}, then echoes every message
 *                              (token in the authorization header, or as the first frame)
 *   /testing/upgrade           a raw HTTP/1.1 Upgrade to a trivial line protocol that echoes bytes
 */
import { sendJson } from "../../platform/http/json.js";
import type { Route } from "../../platform/kernel/routes.js";
import type { SocketEndpoint } from "../../platform/kernel/sockets.js";

export function echoRoutes(): Route[] {
  return [
    {
      path: "/testing/echo",
      handle(_req, res, call) {
        sendJson(res, 200, { text: call.query.get("text") ?? "" });
      },
    },
    {
      path: "/testing/whoami",
      auth: "required",
      handle(_req, res, call) {
        sendJson(res, 200, {
          userId: call.identity?.userId,
          sessionId: call.identity?.sessionId ?? "",
          requestId: call.requestId,
        });
      },
    },
  ];
}

export function echoSockets(): SocketEndpoint[] {
  return [
    {
      path: "/testing/ws",
      tokenInFirstFrame: true,
      maxMessageBytes: 64 * 1024,
      connect(ws, conn) {
        ws.send(JSON.stringify({ hello: conn.identity?.userId }));
        ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
      },
    },
    {
      path: "/testing/upgrade",
      auth: "optional",
      upgrade(_req, socket) {
        socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: orbit-echo\r\nConnection: Upgrade\r\n\r\n");
        socket.on("data", (chunk: Buffer) => socket.write(chunk));
      },
    },
  ];
}
