/**
 * CORS for the bundle's port, so web apps on other origins (connect-web,
 * grpc-web) can call it: `--cors-origin https://app.example.com` (repeatable),
 * or `*` for any origin (development). Nothing is allowed by default.
 *
 * For an allowed origin:
 *  - a preflight (OPTIONS with Access-Control-Request-Method) is answered
 *    204 with the methods and request headers the Connect, gRPC-Web and
 *    Orbit clients send (@connectrpc/connect's `cors` lists, plus
 *    Authorization, X-Request-Id and Traceparent), cached for 2 hours;
 *  - every response carries Access-Control-Allow-Origin and exposes the
 *    headers browsers must read (grpc-status, grpc-message, …, X-Request-Id).
 * A preflight from any other origin is refused (403, no Access-Control-*
 * headers), so the browser blocks the call; same-origin and non-browser
 * clients are unaffected. Credentials (cookies) are never allowed: Orbit's
 * clients authenticate with a bearer token.
 */
import { cors as connectCors } from "@connectrpc/connect";
import { sendJson } from "./json.js";
import type { NodeServerRequest, NodeServerResponse } from "./types.js";

const ALLOWED_METHODS = [...new Set([...connectCors.allowedMethods, "OPTIONS"])].join(", ");
const ALLOWED_HEADERS = [...connectCors.allowedHeaders, "Authorization", "X-Request-Id", "Traceparent"].join(", ");
const EXPOSED_HEADERS = [...connectCors.exposedHeaders, "X-Request-Id", "Vary"].join(", ");
const MAX_AGE_SECONDS = "7200";

/** Why `origin` is not a setting --cors-origin takes, or undefined. */
export function corsOriginProblem(origin: string): string | undefined {
  if (origin === "*") return undefined;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return `${JSON.stringify(origin)} is not an origin (expected scheme://host[:port] or *)`;
  }
  if (url.origin === "null" || url.origin !== origin.replace(/\/$/, "").toLowerCase()) {
    return `${JSON.stringify(origin)} is not an origin (expected scheme://host[:port], no path, or *)`;
  }
  return undefined;
}

export type CorsHandler = (req: NodeServerRequest, res: NodeServerResponse) => boolean;

/**
 * Returns `cors(req, res)`: it answers a preflight itself (true), or sets the
 * CORS headers of an allowed origin on `res` and returns false.
 */
export function createCors(origins: readonly string[]): CorsHandler {
  const any = origins.includes("*");
  const allowed = new Set(origins.map((o) => o.replace(/\/$/, "").toLowerCase()));
  return (req, res) => {
    const origin = req.headers.origin;
    const preflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
    if (origin === undefined) return false;
    const ok = any || allowed.has(origin.toLowerCase());
    if (!ok) {
      if (!preflight) return false;
      sendJson(
        res,
        403,
        { error: `origin ${origin} may not call this server (see --cors-origin)` },
        { vary: "Origin" },
      );
      return true;
    }
    res.setHeader("access-control-allow-origin", any ? "*" : origin);
    if (!any) res.setHeader("vary", "Origin");
    if (!preflight) {
      res.setHeader("access-control-expose-headers", EXPOSED_HEADERS);
      return false;
    }
    res.writeHead(204, {
      "access-control-allow-methods": ALLOWED_METHODS,
      "access-control-allow-headers": ALLOWED_HEADERS,
      "access-control-max-age": MAX_AGE_SECONDS,
      "content-length": "0",
    });
    res.end();
    return true;
  };
}
