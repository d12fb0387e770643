/**
 * The watch page, served by the live service on the bundle's port:
 *
 *   GET /watch/<roomId>     the page (HTML; sign-in form or ?token=<session token>)
 *   GET /watch/app.js       its script: page.js with hls.js and the sync module,
 *                           bundled by esbuild on the first request, kept in memory
 *
 * The page talks to the RPCs on the same origin (Connect JSON over fetch), so
 * its Content-Security-Policy allows only this origin, plus http(s) media
 * (a room's media_url may be another host) and blob: for hls.js (MSE, worker).
 */
import { fileURLToPath } from "node:url";
import type { NodeServerRequest, NodeServerResponse } from "../../../platform/http/types.js";

export const WATCH_PATH_PREFIX = "/watch/";
const ROOM_RE = /^\/watch\/(\d{1,20})\/?$/;
const ENTRY = fileURLToPath(new URL("./page.js", import.meta.url));

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "media-src 'self' blob: http: https:",
  "connect-src 'self' http: https:",
  "worker-src 'self' blob:",
  "frame-ancestors 'none'",
].join("; ");

/** Bundles page.js (with hls.js and ../sync/sync-client.ts) for browsers: one ES module. */
export async function bundleWatchScript(): Promise<string> {
  const { build } = await import("esbuild");
  const out = await build({
    entryPoints: [ENTRY],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2020",
    minify: true,
    write: false,
    legalComments: "none",
    logLevel: "silent",
  });
  return out.outputFiles[0]!.text;
}

export function createWatchHandler() {
  let script: Promise<string> | undefined;
  return async function serveWatch(req: NodeServerRequest, res: NodeServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!;
    if (path === `${WATCH_PATH_PREFIX}app.js`) {
      script ??= bundleWatchScript().catch((err: unknown) => {
        script = undefined; // try again on the next request
        throw err;
      });
      const js = await script;
      res.writeHead(200, {
        "content-type": "text/javascript; charset=utf-8",
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
      });
      if (req.method === "HEAD") res.end();
      else res.end(js);
      return;
    }
    if (!ROOM_RE.test(path)) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end("not found\n");
      return;
    }
    res.writeHead(200, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-cache",
      "content-security-policy": CSP,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    });
    if (req.method === "HEAD") res.end();
    else res.end(PAGE);
  };
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Watch together · Orbit</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; background: #111318; color: #e8e8ee; }
  header { padding: 10px 16px; background: #1b1e26; display: flex; gap: 12px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  #status { color: #9ab; } #status.error { color: #f77; }
  main { display: grid; grid-template-columns: minmax(0, 1fr) 300px; gap: 12px; padding: 12px 16px; }
  video { width: 100%; background: #000; aspect-ratio: 16 / 9; border-radius: 6px; }
  .controls { display: flex; gap: 8px; align-items: center; margin-top: 8px; }
  button { background: #2d6cdf; color: #fff; border: 0; border-radius: 4px; padding: 6px 12px; cursor: pointer; }
  #clock { color: #9ab; margin-left: 8px; }
  aside { display: flex; flex-direction: column; gap: 8px; min-height: 0; }
  aside h2 { font-size: 14px; margin: 4px 0; color: #9ab; }
  ul { list-style: none; margin: 0; padding: 0; }
  #members li { padding: 2px 0; }
  #messages { height: 260px; overflow-y: auto; background: #1b1e26; border-radius: 6px; padding: 6px 8px; }
  #messages li { padding: 2px 0; word-wrap: break-word; }
  #chat { display: flex; gap: 6px; } #text { flex: 1; }
  input { background: #0c0d11; color: #e8e8ee; border: 1px solid #333; border-radius: 4px; padding: 6px; }
  form#signin { padding: 16px; display: flex; gap: 8px; }
  [hidden] { display: none !important; }
</style>
</head>
<body>
<header><h1 id="title">Watch together</h1><span id="status">loading…</span></header>
<form id="signin" hidden>
  <input id="handle" placeholder="handle" autocomplete="username" required>
  <input id="password" type="password" placeholder="password" autocomplete="current-password" required>
  <button type="submit">Log in</button><button type="button" id="signup">Sign up</button>
</form>
<main id="room" hidden>
  <section>
    <video id="video" muted playsinline></video>
    <div class="controls">
      <button id="play">Play</button><button id="pause">Pause</button>
      <button id="back" title="seek back">« back</button><button id="forward" title="seek forward">forward »</button>
      <span id="clock"></span>
    </div>
  </section>
  <aside>
    <h2>Watching (<span id="count">0</span>)</h2>
    <ul id="members"></ul>
    <h2>Chat</h2>
    <ul id="messages"></ul>
    <form id="chat"><input id="text" maxlength="4000" placeholder="Say something" autocomplete="off"><button type="submit">Send</button></form>
  </aside>
</main>
<script type="module" src="/watch/app.js"></script>
</body>
</html>
`;
