/**
 * Content-addressed file storage in chunks.
 *
 * Bytes live in the wide table `media_chunks` (partition `chunk_key`,
 * clustering `idx`): Cassandra with `--cassandra`, else the SQL store. Every
 * stored file is a blob named by its SHA-256 (`media_blobs`, SQL), with a
 * reference count: the same bytes uploaded twice, or a variant made twice,
 * are stored once; when the last reference goes, the chunks are deleted.
 *
 * An upload writes its chunks under its own key (`u<mediaId>`) while it is
 * in progress; when it completes, the blob row points at that partition (no
 * copy), or, if the bytes were already stored, the upload's chunks are
 * dropped and the existing blob gains a reference. Made files (variants)
 * are written under `s<sha256>`.
 */
import { createHash } from "node:crypto";
import { BlobRowDao } from "../../gen/orbit/media/v1/tables_db.js";
import type { BlobRow } from "../../gen/orbit/media/v1/tables_pb.js";
import { ChunkRowDao } from "../../gen/orbit/media/v1/tables_wide.js";
import type { SqlDb, SqlExecutor } from "../../platform/storage/driver.js";
import type { WideStore } from "../../platform/storage/wide/store.js";

/** 256 KiB: see docs/media.md (chunk size) for the measurement behind it. */
export const CHUNK_SIZE = 256 * 1024;
/**
 * Chunks written per statement: 4 × 256 KiB = 1 MiB, under MySQL's smallest
 * max_allowed_packet (4 MiB) — fewer statements and commits per MiB than
 * one chunk each (see docs/media.md, benchmark).
 */
export const CHUNKS_PER_WRITE = 4;
/** Chunks read per page when streaming a file. */
const READ_PAGE = 8;

export class BlobStore {
  readonly chunks: ChunkRowDao;
  readonly blobs: BlobRowDao;

  constructor(
    readonly db: SqlDb,
    wide: WideStore,
  ) {
    this.chunks = new ChunkRowDao(wide);
    this.blobs = new BlobRowDao(db);
  }

  get(sha256: string, db: SqlExecutor = this.db): Promise<BlobRow | undefined> {
    return this.blobs.with(db).get({ sha256 });
  }

  /**
   * Writes whole chunks of a partition, starting at chunk `first`:
   * CHUNKS_PER_WRITE chunks per statement on SQL; on Cassandra one INSERT
   * per chunk (its mutation limit), those of a group in parallel.
   */
  async putChunks(chunkKey: string, first: number, data: Uint8Array, chunkSize = CHUNK_SIZE): Promise<void> {
    const group = chunkSize * CHUNKS_PER_WRITE;
    for (let start = 0; start < data.length; start += group) {
      const rows = [];
      const end = Math.min(start + group, data.length);
      for (let off = start; off < end; off += chunkSize) {
        rows.push({ chunkKey, idx: first + off / chunkSize, data: data.subarray(off, Math.min(off + chunkSize, end)) });
      }
      await this.chunks.putMany(rows);
    }
  }

  /**
   * Stores bytes that were made here (a variant) and takes one reference:
   * written once per content.
   */
  async putBytes(data: Uint8Array, contentType: string): Promise<{ sha256: string; size: number }> {
    const sha256 = createHash("sha256").update(data).digest("hex");
    if (await this.addRef(sha256)) return { sha256, size: data.length };
    const chunkKey = `s${sha256}`;
    await this.putChunks(chunkKey, 0, data);
    const row = { sha256, chunkKey, sizeBytes: BigInt(data.length), chunkSize: CHUNK_SIZE, refs: 1n, contentType };
    if (!(await this.blobs.insertIfAbsent(row))) {
      // Someone stored the same bytes meanwhile (same key, same bytes): take a reference on theirs.
      await this.addRef(sha256);
    }
    return { sha256, size: data.length };
  }

  /** One more reference to an existing blob; false if there is none. */
  async addRef(sha256: string, db: SqlExecutor = this.db): Promise<boolean> {
    const r = await db.run("UPDATE media_blobs SET refs = refs + 1 WHERE sha256 = ?", [sha256]);
    return r.changes > 0;
  }

  /** Drops one reference; the last one deletes the chunks (after the transaction, if any). */
  async release(sha256: string, db: SqlDb | SqlExecutor = this.db): Promise<void> {
    await db.run("UPDATE media_blobs SET refs = refs - 1 WHERE sha256 = ?", [sha256]);
    const row = await this.blobs.with(db).get({ sha256 });
    if (row && row.refs <= 0n) {
      await this.blobs.with(db).delete({ sha256 });
      await this.chunks.deletePartition({ chunkKey: row.chunkKey });
    }
  }

  /** The whole file (for processing; files are at most 100 MiB). */
  async readAll(blob: Pick<BlobRow, "chunkKey" | "sizeBytes" | "chunkSize">): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of this.read(blob, 0, Number(blob.sizeBytes) - 1)) parts.push(part);
    return Buffer.concat(parts, Number(blob.sizeBytes));
  }

  /** Bytes [start, end] (inclusive) of a file, chunk by chunk, reading a few chunks ahead. */
  async *read(
    blob: Pick<BlobRow, "chunkKey" | "sizeBytes" | "chunkSize">,
    start: number,
    end: number,
  ): AsyncGenerator<Buffer> {
    if (end < start) return;
    const cs = blob.chunkSize;
    let idx = Math.floor(start / cs);
    const last = Math.floor(end / cs);
    while (idx <= last) {
      const upTo = Math.min(last, idx + READ_PAGE - 1);
      const page = await this.chunks.scan(
        { chunkKey: blob.chunkKey },
        { from: { key: { idx } }, to: { key: { idx: upTo } }, limit: READ_PAGE },
      );
      if (page.rows.length !== upTo - idx + 1) {
        throw new Error(`blob ${blob.chunkKey}: chunks ${idx}..${upTo} are missing (${page.rows.length} found)`);
      }
      for (const row of page.rows) {
        const base = row.idx * cs;
        const data = Buffer.from(row.data.buffer, row.data.byteOffset, row.data.byteLength);
        const from = Math.max(0, start - base);
        const to = Math.min(data.length, end - base + 1);
        yield from === 0 && to === data.length ? data : data.subarray(from, to);
      }
      idx = upTo + 1;
    }
  }

  /** SHA-256 of stored chunks (an upload resumed in another process, whose running hash was lost). */
  async hashOf(chunkKey: string, size: number, chunkSize: number): Promise<string> {
    const h = createHash("sha256");
    for await (const part of this.read({ chunkKey, sizeBytes: BigInt(size), chunkSize }, 0, size - 1)) h.update(part);
    return h.digest("hex");
  }
}
