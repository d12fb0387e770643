/**
 * The on-the-fly transform cache: files on local disk under a byte budget,
 * the least recently used evicted first; concurrent requests for the same
 * key are rendered once (the others wait for that render).
 *
 * The index (key → size, last use) is kept in memory and rebuilt from the
 * directory at start (files' mtimes as last use), so a restart keeps the
 * cache.
 *
 * The most recently used files are also held in memory under a smaller
 * budget (`memoryBudget`, default 1/16 of the disk budget, at most 64 MiB;
 * files ≤ 1 MiB): a hot variant is answered without opening its file.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

export class DiskCache {
  /** key file name → size; Map order is the LRU order (oldest first). */
  private readonly index = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<Buffer>>();
  /** key file name → bytes of the hottest files; Map order is the LRU order. */
  private readonly hot = new Map<string, Buffer>();
  private hotBytes = 0;
  private bytes = 0;
  private tmpCounter = 0;
  /** key → file name, for the hot keys (saves a SHA-256 per cached answer). */
  private readonly names = new Map<string, string>();
  /** Renders done (not served from disk or joined): for tests and metrics. */
  renders = 0;
  evictions = 0;

  constructor(
    readonly dir: string,
    readonly budget: number,
    readonly memoryBudget = Math.min(64 * 1024 * 1024, Math.floor(budget / 16)),
  ) {
    mkdirSync(dir, { recursive: true });
    const found = readdirSync(dir)
      .filter((f) => /^[0-9a-f]{64}$/.test(f))
      .map((f) => ({ f, st: statSync(join(dir, f)) }))
      .sort((a, b) => a.st.mtimeMs - b.st.mtimeMs);
    for (const { f, st } of found) {
      this.index.set(f, st.size);
      this.bytes += st.size;
    }
  }

  get usedBytes(): number {
    return this.bytes;
  }

  /** Bytes held in memory (a subset of the files on disk). */
  get memoryBytes(): number {
    return this.hotBytes;
  }

  has(key: string): boolean {
    return this.index.has(this.nameOf(key));
  }

  private nameOf(key: string): string {
    let f = this.names.get(key);
    if (f === undefined) {
      f = fileName(key);
      if (this.names.size >= 4096) this.names.delete(this.names.keys().next().value!);
      this.names.set(key, f);
    }
    return f;
  }

  /**
   * The cached bytes of `key`, or `render()`'s, stored for next time. Only
   * one render runs per key at a time.
   */
  async get(key: string, render: () => Promise<Buffer>): Promise<Buffer> {
    const f = this.nameOf(key);
    const held = this.hot.get(f);
    if (held && this.index.has(f)) {
      this.hot.delete(f);
      this.hot.set(f, held);
      this.touch(f);
      return held;
    }
    if (this.index.has(f)) {
      try {
        const data = await readFile(join(this.dir, f));
        this.touch(f);
        this.hold(f, data);
        return data;
      } catch {
        this.drop(f); // removed behind our back
      }
    }
    const running = this.inflight.get(f);
    if (running) return running;
    const p = (async () => {
      this.renders++;
      const data = await render();
      await this.put(f, data);
      return data;
    })();
    this.inflight.set(f, p);
    try {
      return await p;
    } finally {
      this.inflight.delete(f);
    }
  }

  private touch(f: string): void {
    const size = this.index.get(f);
    if (size === undefined) return;
    this.index.delete(f);
    this.index.set(f, size);
  }

  private drop(f: string): void {
    this.unhold(f);
    const size = this.index.get(f);
    if (size === undefined) return;
    this.index.delete(f);
    this.bytes -= size;
  }

  /** Keeps `data` in memory (the least recently used held files go past the memory budget). */
  private hold(f: string, data: Buffer): void {
    if (data.length > Math.min(1024 * 1024, this.memoryBudget)) return;
    this.unhold(f);
    this.hot.set(f, data);
    this.hotBytes += data.length;
    for (const [name, b] of this.hot) {
      if (this.hotBytes <= this.memoryBudget) break;
      this.hot.delete(name);
      this.hotBytes -= b.length;
    }
  }

  private unhold(f: string): void {
    const b = this.hot.get(f);
    if (!b) return;
    this.hot.delete(f);
    this.hotBytes -= b.length;
  }

  private async put(f: string, data: Buffer): Promise<void> {
    if (data.length > this.budget) return;
    const tmp = join(this.dir, `.tmp-${process.pid}-${this.tmpCounter++}`);
    await writeFile(tmp, data);
    await rename(tmp, join(this.dir, f));
    this.drop(f);
    this.index.set(f, data.length);
    this.bytes += data.length;
    this.hold(f, data);
    const doomed: string[] = [];
    for (const [name, size] of this.index) {
      if (this.bytes <= this.budget) break;
      this.index.delete(name);
      this.unhold(name);
      this.bytes -= size;
      doomed.push(name);
    }
    this.evictions += doomed.length;
    await Promise.all(doomed.map((name) => rm(join(this.dir, name), { force: true })));
  }
}

function fileName(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}
