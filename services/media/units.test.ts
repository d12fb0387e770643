/**
 * Unit tests of the media service's parts: signed URLs and key rotation,
 * the disk cache (one render per key, eviction by byte budget, its index
 * rebuilt from disk), Range parsing, sniffing and truncation checks, and
 * the staging directory's slots (one process per directory).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DiskCache } from "./cache.js";
import { avcCodec, ladderHeights } from "./hls.js";
import { parseRange } from "./http.js";
import { UrlSigner } from "./signing.js";
import { sniff, truncation } from "./sniff.js";
import { Staging } from "./staging.js";

const K1 = "11".repeat(32);
const K2 = "22".repeat(32);
const O = { width: 100, height: 50, fit: "cover", format: "webp", quality: 80 } as const;

describe("signed transform URLs", () => {
  it("verify under any configured key, so keys rotate; refuse tampering and other keys", () => {
    const old = new UrlSigner(K1);
    const url = old.sign(42n, O);
    const rest = url.slice("/media/img/".length);
    expect(old.verify(rest)).toEqual({ mediaId: 42n, options: O });
    expect(old.verify(rest)).toEqual({ mediaId: 42n, options: O }); // again, remembered
    const rotated = new UrlSigner(`${K2},${K1}`);
    expect(rotated.verify(rest)).toEqual({ mediaId: 42n, options: O }); // old URLs still work
    expect(rotated.sign(42n, O)).not.toBe(url); // new ones are signed with the new key
    expect(new UrlSigner(K1).verify(rotated.sign(42n, O).slice("/media/img/".length))).toEqual({
      error: "the signature does not match",
    });
    expect(new UrlSigner(K2).verify(rest)).toEqual({ error: "the signature does not match" });
    expect(old.verify(rest.replace("w:100", "w:101"))).toEqual({ error: "the signature does not match" });
    expect(old.verify(rest.replace(/\/42$/, "/43"))).toEqual({ error: "the signature does not match" });
    expect(old.verify("w:100/h:50/fit:cover/f:webp/q:80/42")).toEqual({ error: "the signature does not match" });
    expect(old.verify("")).toEqual({ error: "the URL is not signed" });
  });
});

describe("disk cache", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), "media-cache-test-"));
    dirs.push(d);
    return d;
  };

  it("renders concurrent requests for one key once", async () => {
    const c = new DiskCache(dir(), 1 << 20);
    let renders = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const render = async () => {
      renders++;
      await gate;
      return Buffer.from("variant");
    };
    const all = Promise.all(Array.from({ length: 5 }, () => c.get("k", render)));
    release();
    expect((await all).map(String)).toEqual(Array(5).fill("variant"));
    expect(renders).toBe(1);
    expect(String(await c.get("k", render))).toBe("variant"); // from disk
    expect(renders).toBe(1);
  });

  it("evicts the least recently used files past its byte budget, and keeps its index across restarts", async () => {
    const d = dir();
    const c = new DiskCache(d, 2500);
    const kb = (ch: string) => async () => Buffer.alloc(1000, ch);
    await c.get("a", kb("a"));
    await c.get("b", kb("b"));
    await c.get("a", kb("a")); // a is now the most recent
    await c.get("c", kb("c")); // 3000 bytes > 2500: b goes
    expect([c.has("a"), c.has("b"), c.has("c")]).toEqual([true, false, true]);
    expect(c.usedBytes).toBe(2000);
    expect(c.evictions).toBe(1);
    expect(readdirSync(d).length).toBe(2);
    const again = new DiskCache(d, 2500);
    expect([again.has("a"), again.has("c"), again.usedBytes]).toEqual([true, true, 2000]);
  });
});

describe("disk cache memory tier", () => {
  it("answers the hottest files from memory under its memory budget, the rest from disk", async () => {
    const d = mkdtempSync(join(tmpdir(), "media-cache-test-"));
    try {
      const c = new DiskCache(d, 1 << 20, 1500);
      let renders = 0;
      const kb = (ch: string) => async () => {
        renders++;
        return Buffer.alloc(1000, ch);
      };
      await c.get("a", kb("a"));
      await c.get("b", kb("b")); // 2000 bytes > 1500 in memory: a is only on disk now
      expect([c.memoryBytes, c.usedBytes, renders]).toEqual([1000, 2000, 2]);
      for (const f of readdirSync(d)) rmSync(join(d, f)); // both files gone from disk behind the cache's back
      expect(String(await c.get("b", kb("b")))).toBe("b".repeat(1000)); // from memory: no render
      expect(renders).toBe(2);
      expect(String(await c.get("a", kb("a")))).toBe("a".repeat(1000)); // not in memory, not on disk: rendered again
      expect(renders).toBe(3);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe("ranges, sniffing, truncation", () => {
  it("parses single byte ranges", () => {
    expect(parseRange(undefined, 10)).toBeUndefined();
    expect(parseRange("bytes=2-4", 10)).toEqual({ start: 2, end: 4 });
    expect(parseRange("bytes=8-", 10)).toEqual({ start: 8, end: 9 });
    expect(parseRange("bytes=-3", 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange("bytes=5-100", 10)).toEqual({ start: 5, end: 9 });
    expect(parseRange("bytes=10-", 10)).toBeNull();
    expect(parseRange("bytes=0-1,3-4", 10)).toBeUndefined();
  });

  it("sniffs types from bytes, not names", () => {
    expect(sniff(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))?.contentType).toBe("image/jpeg");
    expect(sniff(Buffer.from("GIF89a......"))?.contentType).toBe("image/gif");
    expect(sniff(Buffer.from("RIFF\0\0\0\0WEBPVP8 "))?.contentType).toBe("image/webp");
    expect(sniff(Buffer.from("\0\0\0\x20ftypisom"))?.contentType).toBe("video/mp4");
    expect(sniff(Buffer.from("\0\0\0\x20ftypavif"))?.contentType).toBe("image/avif");
    expect(sniff(Buffer.from("<svg xmlns="))).toBeUndefined();
    expect(truncation("image/gif", Buffer.from("GIF89a;"))).toBeUndefined();
    expect(truncation("image/gif", Buffer.from("GIF89a"))).toMatch(/truncated/);
    expect(truncation("image/jpeg", Buffer.from([0xff, 0xd8, 0xff, 0x00]))).toMatch(/truncated/);
  });
});

describe("HLS ladder", () => {
  it("caps the source at 720p and adds 360p below it, never a rung above the source", () => {
    expect(ladderHeights(2160)).toEqual([720, 360]);
    expect(ladderHeights(1080)).toEqual([720, 360]);
    expect(ladderHeights(720)).toEqual([720, 360]);
    expect(ladderHeights(480)).toEqual([480, 360]);
    expect(ladderHeights(360)).toEqual([360]);
    expect(ladderHeights(240)).toEqual([240]);
  });

  it("names H.264 profiles and levels as RFC 6381 codec strings", () => {
    expect(avcCodec("High", 40)).toBe("avc1.640028");
    expect(avcCodec("High", 30)).toBe("avc1.64001e");
    expect(avcCodec("Main", 31)).toBe("avc1.4d401f");
    expect(avcCodec("Constrained Baseline", 30)).toBe("avc1.42c01e");
  });
});

describe("staging slots", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const base = () => {
    const d = mkdtempSync(join(tmpdir(), "orbit-staging-slots-"));
    dirs.push(d);
    return d;
  };

  it("gives each holder its own directory and id, and the same one again once released", () => {
    const dir = base();
    const a = new Staging(dir);
    const b = new Staging(dir);
    expect(a.dir).toBe(dir);
    expect(b.dir).toBe(join(dir, "slot-1"));
    expect(b.id).not.toBe(a.id);
    expect(b.owns(a.newName(1n))).toBe(false);
    expect(readFileSync(join(dir, "staging.lock"), "utf8")).toBe(String(process.pid));
    const idA = a.id;
    a.release();
    expect(existsSync(join(dir, "staging.lock"))).toBe(false);
    const again = new Staging(dir);
    expect(again.dir).toBe(dir);
    expect(again.id).toBe(idA); // a restart finds its files under the same id
    expect(again.list()).toEqual([]); // lock and id files are not uploads
    b.release();
    again.release();
  });

  it("takes over the directory of a process that is gone, and leaves a live one's alone", () => {
    const dir = base();
    // A pid that was a process and is no more.
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString();
    writeFileSync(join(dir, "staging.lock"), gone);
    const taker = new Staging(dir);
    expect(taker.dir).toBe(dir);
    expect(readFileSync(join(dir, "staging.lock"), "utf8")).toBe(String(process.pid));
    taker.release();
    // The parent of this test process is alive: its slot is skipped.
    writeFileSync(join(dir, "staging.lock"), String(process.ppid));
    const other = new Staging(dir);
    expect(other.dir).toBe(join(dir, "slot-1"));
    other.release();
    expect(readFileSync(join(dir, "staging.lock"), "utf8")).toBe(String(process.ppid)); // not ours to remove
  });
});
