/**
 * The media bench's client, in a process of its own (forked by
 * tools/bench/media.ts) so that making requests does not take CPU from the
 * servers being measured. It answers commands sent over IPC:
 *
 *  - `get`: GETs `url` with `concurrency` keep-alive connections for
 *    `seconds` (after a short warm-up), checks every answer (status 200,
 *    `bytes` long), and answers the rate and the latency percentiles;
 *  - `alternate`: one request at a time, two URLs in turn, for `seconds`:
 *    the latency percentiles of each under the same moments of load;
 *  - `upload`: PATCHes a file (streamed from disk) to an upload URL at
 *    offset 0, and answers how long it took and the server's answer.
 */
import { createReadStream, statSync } from "node:fs";
import http from "node:http";

export type LoadCommand =
  | { op: "get"; url: string; seconds: number; concurrency: number; bytes: number }
  | { op: "alternate"; urls: [string, string]; seconds: number; bytes: number }
  | { op: "upload"; url: string; token: string; file: string };

export interface GetFigures {
  /** Answers in the measured time, and in the warm-up before it. */
  readonly count: number;
  readonly warm: number;
  readonly perSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

export interface UploadFigures {
  readonly ms: number;
  readonly status: number;
  readonly offset: number;
}

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function once(agent: http.Agent, url: string, bytes: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent }, (res) => {
      let n = 0;
      res.on("data", (c: Buffer) => {
        n += c.length;
      });
      res.on("end", () => resolve(res.statusCode === 200 && n === bytes));
      res.on("error", () => resolve(false));
    });
    req.on("error", () => resolve(false));
  });
}

async function get(c: Extract<LoadCommand, { op: "get" }>): Promise<GetFigures> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: c.concurrency });
  try {
    const warmEnd = performance.now() + 300;
    let warm = 0;
    await Promise.all(
      Array.from({ length: c.concurrency }, async () => {
        while (performance.now() < warmEnd) {
          await once(agent, c.url, c.bytes);
          warm++;
        }
      }),
    );
    const lat: number[] = [];
    let errors = 0;
    const t0 = performance.now();
    const end = t0 + c.seconds * 1000;
    await Promise.all(
      Array.from({ length: c.concurrency }, async () => {
        while (performance.now() < end) {
          const s = performance.now();
          const ok = await once(agent, c.url, c.bytes);
          lat.push(performance.now() - s);
          if (!ok) errors++;
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    return {
      count: lat.length,
      warm,
      perSec: Math.round(lat.length / secs),
      p50Ms: Number(pct(lat, 50).toFixed(3)),
      p99Ms: Number(pct(lat, 99).toFixed(3)),
      errors,
    };
  } finally {
    agent.destroy();
  }
}

/** One request at a time, the two URLs in turn (a keep-alive connection each): figures per URL. */
async function alternate(c: Extract<LoadCommand, { op: "alternate" }>): Promise<[GetFigures, GetFigures]> {
  const agents = c.urls.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  try {
    const warmEnd = performance.now() + 300;
    while (performance.now() < warmEnd) for (let i = 0; i < 2; i++) await once(agents[i]!, c.urls[i]!, c.bytes);
    const lat: number[][] = [[], []];
    const errors = [0, 0];
    const t0 = performance.now();
    const end = t0 + c.seconds * 1000;
    while (performance.now() < end) {
      for (let i = 0; i < 2; i++) {
        const s = performance.now();
        if (!(await once(agents[i]!, c.urls[i]!, c.bytes))) errors[i]!++;
        lat[i]!.push(performance.now() - s);
      }
    }
    const secs = (performance.now() - t0) / 1000;
    const figures = (i: number): GetFigures => {
      const l = lat[i]!.sort((a, b) => a - b);
      return {
        count: l.length,
        warm: 0,
        perSec: Math.round(l.length / secs),
        p50Ms: Number(pct(l, 50).toFixed(3)),
        p99Ms: Number(pct(l, 99).toFixed(3)),
        errors: errors[i]!,
      };
    };
    return [figures(0), figures(1)];
  } finally {
    for (const a of agents) a.destroy();
  }
}

function upload(c: Extract<LoadCommand, { op: "upload" }>): Promise<UploadFigures> {
  const size = statSync(c.file).size;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(
      c.url,
      {
        method: "PATCH",
        agent: false,
        headers: {
          authorization: `Bearer ${c.token}`,
          "upload-offset": "0",
          "content-type": "application/offset+octet-stream",
          "content-length": String(size),
          "tus-resumable": "1.0.0",
        },
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve({
            ms: performance.now() - t0,
            status: res.statusCode ?? 0,
            offset: Number(res.headers["upload-offset"] ?? -1),
          }),
        );
      },
    );
    req.on("error", reject);
    createReadStream(c.file, { highWaterMark: 256 * 1024 }).pipe(req);
  });
}

process.on("message", (c: LoadCommand) => {
  const p = c.op === "get" ? get(c) : c.op === "alternate" ? alternate(c) : upload(c);
  p.then(
    (r) => process.send!({ ok: r }),
    (err: Error) => process.send!({ error: err.message }),
  );
});
process.on("disconnect", () => process.exit(0));
