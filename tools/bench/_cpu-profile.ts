/**
 * A text summary of a V8 `.cpuprofile` (node --cpu-prof): the top frames by
 * self time, and by the time spent inside a file of ours (inclusive, each
 * sample counted once per file) so a hot path reads as "where our code
 * spends it". Used by `npm run bench -- feed --cpu-prof <dir>`:
 *
 *   node --import tsx tools/bench/_cpu-profile.ts <file.cpuprofile> [top]
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function where(url: string): string {
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf("node_modules/");
  if (nm >= 0) return path.slice(nm + "node_modules/".length);
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path || "(native)";
}

/**
 * `under`: only samples with a frame of a file whose path contains it (e.g.
 * "services/feed/read.ts"); "!a,b": only samples with no frame matching a or
 * b (e.g. "!platform/events/,modules/esm": not the consumers, not loading).
 */
export function summarize(profile: Profile, top = 25, under?: string): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfMs = new Map<number, number>();
  let total = 0;
  // "!a,b": samples with no frame of a file matching a or b.
  const negate = under?.startsWith("!") ?? false;
  const needles = (negate ? under!.slice(1) : (under ?? "")).split(",");
  const keep = new Map<number, boolean>();
  const kept = (id: number): boolean => {
    let k = keep.get(id);
    if (k === undefined) {
      const n = byId.get(id)!;
      const p = parent.get(id);
      k = needles.some((x) => where(n.callFrame.url).includes(x)) || (p !== undefined && kept(p));
      keep.set(id, k);
    }
    return k;
  };
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    if (under && kept(profile.samples[i]!) === negate) continue;
    total += dt;
    selfMs.set(profile.samples[i]!, (selfMs.get(profile.samples[i]!) ?? 0) + dt);
  }
  const self = new Map<string, number>();
  const files = new Map<string, number>();
  let idle = 0;
  for (const [id, ms] of selfMs) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === "(idle)") idle += ms;
    const key = `${f.functionName || "(anonymous)"} ${where(f.url)}${f.url ? `:${f.lineNumber + 1}` : ""}`;
    self.set(key, (self.get(key) ?? 0) + ms);
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const file = where(byId.get(n)!.callFrame.url);
      if (!file || file === "(native)" || seen.has(file)) continue;
      seen.add(file);
      files.set(file, (files.get(file) ?? 0) + ms);
    }
  }
  const busy = total - idle;
  const pct = (ms: number) => `${((100 * ms) / busy).toFixed(1).padStart(5)}%`;
  const rows = (m: Map<string, number>) =>
    [...m]
      .filter(([k]) => !k.startsWith("(idle)"))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, ms]) => `  ${pct(ms)}  ${k}`);
  return [
    `busy ${busy.toFixed(0)} ms of ${total.toFixed(0)} ms sampled${under ? ` under ${under}` : ""} (percentages of busy time)`,
    "self time:",
    ...rows(self),
    "inclusive, by file:",
    ...rows(files),
  ].join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) throw new Error("usage: _cpu-profile.ts <file.cpuprofile> [top] [under]");
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  console.log(summarize(profile, Number(process.argv[3] ?? 25), process.argv[4]));
}
