/**
 * The admin listener (`--admin-port`, on `--admin-host`, loopback by default): the operator
 * endpoints — /metrics, /healthz, /readyz — on a port of their own, plain HTTP/1.1, so the
 * service port can face the internet without exposing metrics (docs/operations.md). Slow or
 * idle clients are cut like on the service port (header and request timeouts).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Logger } from "../log.js";
import type { RouteTable } from "../http/routes.js";

export class AdminListener {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(table: RouteTable, log: Logger, timeouts: { headersTimeoutMs: number; bodyTimeoutMs: number }) {
    this.server = createServer((req, res) => {
      try {
        if (table.handle(req, res)) return;
      } catch (err) {
        log.error({ err, path: req.url }, "admin route failed");
      }
      if (!res.headersSent) res.writeHead(404, { "content-type": "text/plain", "content-length": "10" });
      res.end("not found\n");
    });
    this.server.headersTimeout = timeouts.headersTimeoutMs;
    this.server.requestTimeout = timeouts.headersTimeoutMs + timeouts.bodyTimeoutMs;
    this.server.keepAliveTimeout = 5_000;
    this.server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        const a = this.server.address() as AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /** Stops accepting and closes every connection (a scrape in flight is cut). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }
}
