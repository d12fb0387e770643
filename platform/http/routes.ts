/**
 * Plain HTTP and WebSocket routes that services (and the kernel: /healthz,
 * /readyz, /metrics) serve on the bundle's port beside the RPCs. A path is
 * exact ("/healthz") or a prefix ending in "/*" ("/media/*"); the most
 * specific route wins, and two owners may not claim the same path.
 * WebSockets use HTTP/1.1 Upgrade: hand the socket to a library such as
 * `ws` (`new WebSocketServer({ noServer: true }).handleUpgrade(…)`).
 */
import type http from "node:http";
import type { Duplex } from "node:stream";
import type { NodeServerRequest, NodeServerResponse } from "./types.js";
import type { Logger } from "../log.js";
import { sendJson } from "./json.js";

export interface HttpRoute {
  /** Exact path, or a prefix ending in "/*". */
  readonly path: string;
  /** Methods the handler accepts. Default GET and HEAD. */
  readonly methods?: readonly string[];
  readonly handle?: (req: NodeServerRequest, res: NodeServerResponse) => void | Promise<void>;
  /** Takes over the connection of an HTTP/1.1 Upgrade request (WebSocket) on this path. */
  readonly upgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
}

interface Entry {
  readonly route: HttpRoute;
  readonly owner: string;
  readonly prefix: boolean;
  readonly base: string;
}

export class RouteTable {
  private readonly exact = new Map<string, Entry>();
  private prefixes: Entry[] = [];

  constructor(private readonly log: Logger) {}

  add(route: HttpRoute, owner: string): void {
    if (!route.path.startsWith("/"))
      throw new Error(`${owner}: route path ${JSON.stringify(route.path)} must start with /`);
    if (!route.handle && !route.upgrade)
      throw new Error(`${owner}: route ${route.path} has neither handle nor upgrade`);
    const prefix = route.path.endsWith("/*");
    const base = prefix ? route.path.slice(0, -1) : route.path;
    const clash = prefix ? this.prefixes.find((e) => e.base === base) : this.exact.get(base);
    if (clash) throw new Error(`route ${route.path} of ${owner} is already served by ${clash.owner}`);
    const entry: Entry = { route, owner, prefix, base };
    if (prefix) {
      this.prefixes.push(entry);
      this.prefixes.sort((a, b) => b.base.length - a.base.length);
    } else {
      this.exact.set(base, entry);
    }
  }

  match(path: string): Entry | undefined {
    return this.exact.get(path) ?? this.prefixes.find((e) => path.startsWith(e.base));
  }

  /** Serves `req` if a route matches its path; false if none does. */
  handle(req: NodeServerRequest, res: NodeServerResponse): boolean {
    const entry = this.match(pathOf(req.url));
    if (!entry) return false;
    const handler = entry.route.handle;
    const methods = entry.route.methods ?? ["GET", "HEAD"];
    if (!handler || !methods.includes(req.method ?? "GET")) {
      sendJson(
        res,
        405,
        { error: `method ${req.method} not allowed on ${entry.route.path}` },
        { allow: methods.join(", ") },
      );
      return true;
    }
    const fail = (err: unknown) => {
      this.log.error({ err, route: entry.route.path, owner: entry.owner }, "http route failed");
      if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
      else res.end();
    };
    try {
      const r = handler(req, res);
      if (r instanceof Promise) r.catch(fail);
    } catch (err) {
      fail(err);
    }
    return true;
  }

  /** Hands an Upgrade request to its route; false if none takes upgrades on that path. */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const entry = this.match(pathOf(req.url));
    if (!entry?.route.upgrade) return false;
    try {
      entry.route.upgrade(req, socket, head);
    } catch (err) {
      this.log.error({ err, route: entry.route.path, owner: entry.owner }, "upgrade route failed");
      socket.destroy();
    }
    return true;
  }
}

function pathOf(url: string | undefined): string {
  const u = url ?? "/";
  const q = u.indexOf("?");
  return q === -1 ? u : u.slice(0, q);
}
