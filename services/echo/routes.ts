/**
 * HTTP routes of the echo fixture, to test the kernel's routing: a plain
 * GET, and an Upgrade route that speaks a trivial line protocol after a
 * 101 (what a WebSocket library would take over).
 */
import type { HttpRoute } from "../../platform/http/routes.js";
import { sendJson } from "../../platform/http/json.js";

export function echoRoutes(): HttpRoute[] {
  return [
    {
      path: "/testing/echo",
      handle(req, res) {
        const text = new URL(req.url ?? "/", "http://x").searchParams.get("text") ?? "";
        sendJson(res, 200, { text });
      },
    },
    {
      path: "/testing/upgrade",
      upgrade(_req, socket) {
        socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: orbit-echo\r\nConnection: Upgrade\r\n\r\n");
        socket.on("data", (chunk: Buffer) => socket.write(chunk));
        socket.on("error", () => socket.destroy());
      },
    },
  ];
}
