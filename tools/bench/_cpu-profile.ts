/**
 * Reads the `.cpuprofile` files that `node --cpu-prof` wrote into a directory
 * and prints where the time went: self time per function (name, file:line),
 * the top N, as shares of the sampled total.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  fn: string;
  ms: number;
  share: number;
}

/** Self time per function over every profile in `dir`, largest first. */
export function selfTimes(dir: string, top = 25): { totalMs: number; rows: SelfTime[] } {
  const byFn = new Map<string, number>();
  let total = 0;
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".cpuprofile"))) {
    const p = JSON.parse(readFileSync(join(dir, f), "utf8")) as Profile;
    const frame = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
    p.samples.forEach((id, i) => {
      const c = frame.get(id)!;
      const file = c.url.replace(/^.*\/(node_modules\/|services\/|platform\/|gen\/)/, "$1");
      const key = `${c.functionName || "(anonymous)"} ${file ? `${file}:${c.lineNumber + 1}` : ""}`.trim();
      const us = p.timeDeltas[i] ?? 0;
      byFn.set(key, (byFn.get(key) ?? 0) + us);
      total += us;
    });
  }
  const rows = [...byFn.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([fn, us]) => ({
      fn,
      ms: Math.round(us / 100) / 10,
      share: Math.round((1000 * us) / Math.max(1, total)) / 10,
    }));
  return { totalMs: Math.round(total / 1000), rows };
}
