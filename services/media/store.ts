/**
 * The media records and their life: created by CreateUpload (UPLOADING),
 * filled by the upload route, checked and content-addressed when the last
 * byte arrives (PROCESSING, and the durable job is published in the same
 * transaction), made READY or FAILED by the job, deleted by the owner.
 */
import { createHash } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { MediaStateChangedSchema, MediaUploadedSchema } from "../../gen/orbit/media/v1/events_pb.js";
import { type Media, MediaSchema, MediaState } from "../../gen/orbit/media/v1/media_pb.js";
import { MediaRowDao, UploadRowDao, UsageRowDao } from "../../gen/orbit/media/v1/tables_db.js";
import type { MediaRow, StoredVariant, UploadRow } from "../../gen/orbit/media/v1/tables_pb.js";
import { detached } from "../../platform/rpc/call-scope.js";
import type { ServiceEvents } from "../../platform/events/service-events.js";
import type { IdGenerator } from "../../platform/ids.js";
import type { SqlDb, SqlExecutor, SqlTx, SqlValue } from "../../platform/storage/driver.js";
import { BlobStore, CHUNK_SIZE, CHUNKS_PER_WRITE } from "./blobs.js";
import { LIMITS, MediaRefused, probeImage } from "./images.js";
import { declaredKind, sniff, SNIFF_BYTES, truncation } from "./sniff.js";
import type { Staging } from "./staging.js";

export const UPLOAD_PREFIX = "/media/upload/";
export const FILE_PREFIX = "/media/f/";
/** How long a READY image's source is remembered for transforms, and how many are. */
const SOURCE_MEMO_MS = 10_000;
const SOURCE_MEMO_MAX = 10_000;

export function fileUrl(sha256: string, ext: string): string {
  return `${FILE_PREFIX}${sha256}.${ext}`;
}

/** Listeners of state changes (push, tests). */
export type StateListener = (row: MediaRow) => void;

/**
 * Tells the owner's devices that a media item ended (READY or FAILED), in the
 * transaction that records it: the push gateway (ctx.push, Update field 23).
 */
export type MediaPush = (tx: SqlTx, ownerId: bigint, media: Media) => Promise<void>;

/** Staged bytes are written to the staging file in pieces of this much. */
const STAGE_WRITE = 1024 * 1024;
/** The staging file is synced in the background each time this much more was written. */
const STAGE_SYNC_EVERY = 8 * 1024 * 1024;
/** Read size when hashing a staged upload. */
const HASH_READ = 4 * 1024 * 1024;
/**
 * A staged file found at start whose media this store does not know is dropped once this old (it
 * may be another store's: the default staging directory is shared by every bundle on the host).
 */
const STALE_STAGED_MS = 24 * 3_600_000;
/** What the owner reads when the node holding an upload's last bytes died (sweepLost). */
export const LOST_NODE_REASON = "the node holding the last bytes is gone; upload again";

interface CompleteFields {
  contentType: string;
  kind: string;
  width: number;
  height: number;
  frames: number;
}

export class MediaStore {
  readonly media: MediaRowDao;
  readonly uploads: UploadRowDao;
  readonly usage: UsageRowDao;
  /** Uploads with a PATCH in progress here. */
  private readonly busy = new Set<bigint>();
  /** The running flush of each upload to the chunk table. */
  private readonly flushing = new Map<bigint, Promise<void>>();
  /**
   * The `staged_on` names this process stages (made or taken over here, or found at start): a row
   * naming this node id with another name is a previous holder's of this id (sweepLost), and a
   * name here that no row names any more is dropped (sweepStaged).
   */
  private readonly mine = new Set<string>();
  /** recover() at start: the sweeps wait for it. */
  private recovered: Promise<void> | undefined;
  private closed = false;
  private readonly listeners = new Set<StateListener>();
  /** READY images' source files for transforms, remembered briefly (see imageSource). */
  private readonly sources = new Map<bigint, { sha256: string; until: number }>();

  constructor(
    readonly db: SqlDb,
    readonly blobs: BlobStore,
    private readonly events: ServiceEvents,
    private readonly ids: IdGenerator,
    private readonly quotaBytes: number,
    readonly staging: Staging,
    private readonly push?: MediaPush,
  ) {
    this.media = new MediaRowDao(db);
    this.uploads = new UploadRowDao(db);
    this.usage = new UsageRowDao(db);
  }

  onStateChange(fn: StateListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // ── create ────────────────────────────────────────────────────────────

  async create(ownerId: bigint, req: { contentType: string; sizeBytes: bigint; fileName: string }): Promise<MediaRow> {
    const kind = declaredKind(req.contentType);
    if (!kind) {
      throw new ConnectError(
        `content_type: ${JSON.stringify(req.contentType)} is not an image or video type`,
        Code.InvalidArgument,
      );
    }
    const limit = kind === "image" ? LIMITS.imageBytes : LIMITS.videoBytes;
    if (req.sizeBytes > BigInt(limit)) {
      throw new ConnectError(
        `size_bytes: ${req.sizeBytes} is over the ${kind} limit of ${limit} bytes`,
        Code.ResourceExhausted,
      );
    }
    const id = this.ids.next();
    const now = BigInt(Date.now());
    const row = {
      id,
      ownerId,
      state: MediaState.UPLOADING,
      contentType: req.contentType,
      sizeBytes: req.sizeBytes,
      fileName: req.fileName,
      createdAtMs: now,
      updatedAtMs: now,
      quotaBytes: req.sizeBytes,
    };
    await this.db.transaction(async (tx) => {
      await this.reserve(tx, ownerId, req.sizeBytes);
      await this.media.with(tx).insert(row);
      await this.uploads.with(tx).insert({
        mediaId: id,
        ownerId,
        sizeBytes: req.sizeBytes,
        offset: 0n,
        chunkSize: CHUNK_SIZE,
        chunkKey: `u${id}`,
        createdAtMs: now,
      });
    });
    return (await this.media.get({ id }))!;
  }

  /** Takes `bytes` of the owner's quota, or ResourceExhausted. */
  private async reserve(tx: SqlExecutor, ownerId: bigint, bytes: bigint): Promise<void> {
    await this.usage.with(tx).insertIfAbsent({ ownerId, bytes: 0n });
    const r = await tx.run("UPDATE media_usage SET bytes = bytes + ? WHERE owner_id = ? AND bytes + ? <= ?", [
      bytes,
      ownerId,
      bytes,
      BigInt(this.quotaBytes),
    ]);
    if (r.changes === 0) {
      const used = (await this.usage.with(tx).get({ ownerId }))?.bytes ?? 0n;
      throw new ConnectError(
        `quota: ${used} of ${this.quotaBytes} bytes used; ${bytes} more do not fit`,
        Code.ResourceExhausted,
      );
    }
  }

  private async releaseQuota(tx: SqlExecutor, ownerId: bigint, bytes: bigint): Promise<void> {
    if (bytes > 0n) await tx.run("UPDATE media_usage SET bytes = bytes - ? WHERE owner_id = ?", [bytes, ownerId]);
  }

  // ── upload ────────────────────────────────────────────────────────────

  /** The upload of the caller's media, or NotFound (someone else's is NotFound too). */
  async uploadOf(mediaId: bigint, ownerId: bigint): Promise<UploadRow> {
    const up = await this.uploads.get({ mediaId });
    if (up && up.ownerId === ownerId) return up;
    const m = await this.media.get({ id: mediaId });
    if (m && m.ownerId === ownerId && m.state !== MediaState.UPLOADING) {
      throw new ConnectError(`media ${mediaId} is already uploaded`, Code.FailedPrecondition);
    }
    throw new ConnectError(`upload ${mediaId} not found`, Code.NotFound);
  }

  /**
   * Receives bytes at `offset` into this node's staging file, fdatasync'ed
   * before the new offset is recorded (and answered): also when the
   * connection is cut, so the next PATCH continues at the exact byte (HEAD
   * tells it). Whole chunks go on to the chunk table behind it (flush). When
   * the last byte arrived the file is checked and answered at once; its
   * content hash, the rest of the flush and the completion run in the
   * background (completeStaged, finishStaged).
   * `body` must already be read as it arrives (the upload route's `body:
   * "eager"`): a cut request stream drops what it had buffered but not handed out.
   */
  async receive(
    up: UploadRow,
    offset: bigint,
    body: AsyncIterable<Uint8Array>,
  ): Promise<{ offset: bigint; media?: MediaRow }> {
    if (this.busy.has(up.mediaId)) {
      throw new ConnectError("another PATCH of this upload is in progress", Code.Aborted);
    }
    this.busy.add(up.mediaId);
    try {
      // Outside the call's commit guard like the acknowledgement: a connection cut before the claim
      // is recorded still keeps the bytes that reached the node.
      const mine = await detached(() => this.claim(up));
      if (offset !== mine.offset) {
        throw new ConnectError(`Upload-Offset is ${offset}, the upload is at ${mine.offset}`, Code.Aborted);
      }
      return await this.receiveStaged(mine, body);
    } finally {
      this.busy.delete(up.mediaId);
    }
  }

  /**
   * The upload with its bytes past stored_offset in a staging file here. An
   * upload staged in another directory (another node, or one that lost its
   * file) is taken over from what the chunk table holds: its offset goes
   * back to stored_offset (the PATCH then gets 409 and that offset).
   */
  private async claim(up: UploadRow): Promise<UploadRow> {
    const staging = this.staging;
    const node = this.ids.nodeId;
    if (staging.owns(up.stagedOn)) {
      const size = await staging.size(up.stagedOn);
      if (size !== undefined && size >= Number(up.offset)) {
        if (up.stagedNode !== node || !this.mine.has(up.stagedOn)) {
          // This directory's file, staged by an earlier process (or another one on the same directory): ours now.
          const ok = await this.restage(
            "UPDATE media_uploads SET staged_node = ? WHERE media_id = ? AND staged_on = ? AND `offset` = ?",
            [node, up.mediaId, up.stagedOn, up.offset],
            up.mediaId,
            (row) => row.stagedOn === up.stagedOn && row.offset === up.offset && row.stagedNode === node,
          );
          if (!ok) throw new ConnectError("another PATCH of this upload is in progress", Code.Aborted);
          this.mine.add(up.stagedOn);
        }
        if (size > Number(up.offset)) {
          // Bytes past the acknowledged offset (a PATCH refused or cut before its fdatasync): dropped.
          const fh = await staging.open(up.stagedOn);
          await fh.truncate(Number(up.offset)).finally(() => fh.close());
        }
        return { ...up, stagedNode: node };
      }
    }
    const stagedOn = staging.newName(up.mediaId);
    const r = await this.db.run(
      "UPDATE media_uploads SET `offset` = stored_offset, staged_on = ?, staged_node = ? WHERE media_id = ? AND staged_on = ? AND `offset` = ?",
      [stagedOn, node, up.mediaId, up.stagedOn, up.offset],
    );
    if (r.changes !== 1) throw new ConnectError("another PATCH of this upload is in progress", Code.Aborted);
    this.mine.add(stagedOn);
    // A file of ours the row named, now short of its offset (lost by the disk): useless.
    if (staging.owns(up.stagedOn)) await this.dropStaged(up.stagedOn);
    await (await staging.open(stagedOn)).close();
    return { ...up, offset: up.storedOffset, stagedOn, stagedNode: node };
  }

  /**
   * Runs a conditional UPDATE of one upload row: did it take (the row now `is` what it set)? On
   * MariaDB an UPDATE to identical values counts 0 changes (no CLIENT_FOUND_ROWS): the row is read.
   */
  private async restage(
    sql: string,
    params: SqlValue[],
    mediaId: bigint,
    is: (row: UploadRow) => boolean,
  ): Promise<boolean> {
    const r = await this.db.run(sql, params);
    if (r.changes === 1) return true;
    if (this.db.dialect !== "mysql") return false;
    const row = await this.uploads.get({ mediaId });
    return row !== undefined && is(row);
  }

  /** Removes a staging file of this directory (done, deleted, failed or taken over). */
  private async dropStaged(stagedOn: string): Promise<void> {
    this.mine.delete(stagedOn);
    if (this.staging.owns(stagedOn)) await this.staging.drop(stagedOn);
  }

  /** Bytes [start, start + length) of an upload: the chunk table below stored_offset, the staging file above. */
  private async uploadBytes(up: UploadRow, start: number, length: number): Promise<Buffer> {
    if (length <= 0) return Buffer.alloc(0);
    const row = await this.uploads.get({ mediaId: up.mediaId });
    const stored = Math.min(Number(row?.storedOffset ?? up.storedOffset), start + length);
    const parts: Buffer[] = [];
    if (start < stored) {
      for await (const part of this.blobs.read(
        { chunkKey: up.chunkKey, sizeBytes: up.sizeBytes, chunkSize: up.chunkSize },
        start,
        stored - 1,
      ))
        parts.push(part);
    }
    const from = Math.max(start, stored);
    if (from < start + length) parts.push(await this.staging.read(up.stagedOn, from, start + length - from));
    return Buffer.concat(parts, length);
  }

  /** SHA-256 of an upload's bytes: the chunk table below stored_offset, the staging file above. */
  private async hashOf(up: UploadRow): Promise<string> {
    const size = Number(up.sizeBytes);
    const row = await this.uploads.get({ mediaId: up.mediaId });
    const stored = Math.min(Number(row?.storedOffset ?? up.storedOffset), size);
    const hash = createHash("sha256");
    if (stored > 0) {
      for await (const part of this.blobs.read(
        { chunkKey: up.chunkKey, sizeBytes: up.sizeBytes, chunkSize: up.chunkSize },
        0,
        stored - 1,
      ))
        hash.update(part);
    }
    for (let at = stored; at < size; at += HASH_READ) {
      hash.update(await this.staging.read(up.stagedOn, at, Math.min(HASH_READ, size - at)));
    }
    return hash.digest("hex");
  }

  private async receiveStaged(
    up: UploadRow,
    body: AsyncIterable<Uint8Array>,
  ): Promise<{ offset: bigint; media?: MediaRow }> {
    const size = Number(up.sizeBytes);
    let acked = Number(up.offset);
    let head = acked === 0 ? Buffer.alloc(0) : undefined;
    let sniffed = false;
    const fh = await this.staging.open(up.stagedOn);
    let written = acked; // file bytes written (not yet synced past `acked`)
    const pieces: Buffer[] = [];
    let buffered = 0;
    // The file is synced as it grows, one fdatasync at a time in the background, so the one before
    // the acknowledgement has only the tail left to write out (the disk works while bytes arrive).
    let syncing: Promise<void> | undefined;
    let syncError: unknown;
    let synced = acked;
    const syncSoon = () => {
      if (syncing || written - synced < STAGE_SYNC_EVERY) return;
      const upTo = written;
      syncing = fh.datasync().then(
        () => {
          synced = upTo;
          syncing = undefined;
        },
        (err) => {
          syncError ??= err;
          syncing = undefined;
        },
      );
    };
    // The pieces as they arrived, in one vectored write (no copy into a bigger buffer: that copy
    // and its garbage were most of this loop's CPU time).
    const write = async () => {
      if (buffered === 0) return;
      let bufs = pieces.splice(0);
      const total = buffered;
      buffered = 0;
      let done = 0;
      while (done < total) {
        let n = (await fh.writev(bufs, written + done)).bytesWritten;
        if (n === 0) throw new Error(`staging ${up.stagedOn}: nothing written at ${written + done}`);
        done += n;
        // A short write: on from the first byte not written.
        while (n > 0 && n >= bufs[0]!.length) n -= bufs.shift()!.length;
        if (n > 0) bufs = [bufs[0]!.subarray(n), ...bufs.slice(1)];
      }
      written += total;
      syncSoon();
    };
    // Bytes that arrived are kept even once the client went away (a cut connection ends the call):
    // outside the call's commit guard.
    const acknowledge = () =>
      detached(async () => {
        await write();
        if (written === acked) return;
        await syncing;
        if (syncError !== undefined) throw syncError;
        await fh.datasync();
        const r = await this.db.run("UPDATE media_uploads SET `offset` = ? WHERE media_id = ? AND staged_on = ?", [
          written,
          up.mediaId,
          up.stagedOn,
        ]);
        if (r.changes !== 1) throw new ConnectError("the upload was taken over by another PATCH", Code.Aborted);
        acked = written;
      });
    let cut: unknown;
    let refused = false;
    try {
      try {
        for await (const piece of body) {
          const data = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
          const received = written + buffered + data.length;
          if (received > size) {
            throw new ConnectError(
              `the upload is ${size} bytes (Upload-Length); ${received - size} bytes too many`,
              Code.ResourceExhausted,
            );
          }
          if (head && !sniffed) {
            head = Buffer.concat([head, data]);
            if (head.length >= Math.min(SNIFF_BYTES, size)) {
              sniffed = true;
              await this.checkHead(up, head);
            }
          }
          pieces.push(data);
          buffered += data.length;
          if (buffered >= STAGE_WRITE) await write();
        }
      } catch (err) {
        if (err instanceof ConnectError || err instanceof MediaRefused) {
          if (err instanceof MediaRefused) refused = true;
          throw err;
        }
        cut = err; // the connection was cut: keep what arrived
      }
      if (head && !sniffed && head.length > 0) {
        try {
          await this.checkHead(up, head);
        } catch (err) {
          refused = err instanceof MediaRefused;
          throw err;
        }
      }
      await acknowledge();
    } finally {
      await syncing;
      await fh.close();
      // The media is FAILED (checkHead): nothing staged is worth keeping.
      if (refused) await this.dropStaged(up.stagedOn);
    }
    if (cut !== undefined || acked < size) {
      this.flush(up, acked, false).catch(() => {}); // the next PATCH or the completion flushes again
      return { offset: BigInt(acked) };
    }
    const media = await this.completeStaged(up);
    return { offset: BigInt(acked), media };
  }

  /**
   * Copies the staged bytes past stored_offset into the chunk table, up to
   * `durable` (whole chunks only unless `final`), and records stored_offset
   * after each write; stops when the upload was taken over. One flush per
   * upload runs at a time.
   */
  private flush(up: UploadRow, durable: number, final: boolean): Promise<void> {
    const prev = this.flushing.get(up.mediaId) ?? Promise.resolve();
    // Not the PATCH's work: outside its call (a cut call's writes would not commit).
    const next = detached(() => prev.then(() => this.flushNow(up, durable, final)));
    const tracked = next.catch(() => {});
    this.flushing.set(up.mediaId, tracked);
    void tracked.then(() => {
      if (this.flushing.get(up.mediaId) === tracked) this.flushing.delete(up.mediaId);
    });
    return next;
  }

  private async flushNow(up: UploadRow, durable: number, final: boolean): Promise<void> {
    const row = await this.uploads.get({ mediaId: up.mediaId });
    if (!row || row.stagedOn !== up.stagedOn) return;
    const cs = up.chunkSize;
    const end = final ? durable : Math.floor(durable / cs) * cs;
    const group = cs * CHUNKS_PER_WRITE;
    for (let from = Number(row.storedOffset); from < end; ) {
      const n = Math.min(group, end - from);
      const data = await this.staging.read(up.stagedOn, from, n);
      await this.blobs.putChunks(up.chunkKey, from / cs, data, cs);
      from += n;
      const r = await this.db.run("UPDATE media_uploads SET stored_offset = ? WHERE media_id = ? AND staged_on = ?", [
        from,
        up.mediaId,
        up.stagedOn,
      ]);
      if (r.changes !== 1) return;
    }
  }

  /**
   * The last byte is staged: check the file (type, truncation, header limits),
   * mark the media PROCESSING, and finish in the background: the rest of the
   * flush, then the completion (content address, dedupe, job). A node that
   * restarts finishes what it had staged (recover).
   */
  private async completeStaged(up: UploadRow): Promise<MediaRow> {
    const size = Number(up.sizeBytes);
    const headBytes = await this.uploadBytes(up, 0, Math.min(size, SNIFF_BYTES));
    const s = sniff(headBytes)!;
    let width = 0;
    let height = 0;
    let frames = 1;
    let kind: string = s.kind;
    if (s.kind === "image") {
      const bytes = await this.uploadBytes(up, 0, size);
      try {
        const t = truncation(s.contentType, bytes);
        if (t) throw new MediaRefused(t, "invalid");
        const h = await probeImage(bytes);
        ({ width, height, frames } = h);
        if (frames > 1) kind = "animated";
      } catch (err) {
        if (err instanceof MediaRefused) {
          await this.fail(up.mediaId, err.message);
          await this.blobs.chunks.deletePartition({ chunkKey: up.chunkKey });
          await this.dropStaged(up.stagedOn);
        }
        throw err;
      }
    }
    const fields = { contentType: s.contentType, kind, width, height, frames };
    await this.media.update(
      { id: up.mediaId },
      { state: MediaState.PROCESSING, ...fields, updatedAtMs: BigInt(Date.now()) },
    );
    void detached(() => this.finishStaged(up, fields)).catch(() => {}); // it fails the media itself
    return (await this.media.get({ id: up.mediaId }))!;
  }

  /**
   * After the last byte was acknowledged: the content hash (read back from the staging file, hot in
   * the page cache, and the chunk table below stored_offset — not computed while the bytes arrive,
   * where it would hold up the acknowledgement), the rest of the flush, then complete().
   */
  private async finishStaged(up: UploadRow, fields: CompleteFields): Promise<void> {
    let sha256: string | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        sha256 ??= await this.hashOf(up);
        await this.flush(up, Number(up.sizeBytes), true);
        const row = await this.uploads.get({ mediaId: up.mediaId });
        // Done unless deleted or taken over (sweepLost) meanwhile: the file is nobody's now either way.
        if (row && row.stagedOn === up.stagedOn) await this.complete(up, sha256, fields);
        await this.dropStaged(up.stagedOn);
        return;
      } catch (err) {
        if (attempt >= 5 || this.closed) {
          if (!this.closed) {
            const failed = await this.db.transaction(async (tx) => {
              const r = await tx.run("DELETE FROM media_uploads WHERE media_id = ? AND staged_on = ?", [
                up.mediaId,
                up.stagedOn,
              ]);
              const reason = `the upload could not be stored: ${(err as Error).message}`;
              return r.changes === 1 ? this.failIn(tx, up.mediaId, reason) : undefined;
            });
            if (failed) {
              this.emit(failed);
              await this.blobs.chunks.deletePartition({ chunkKey: up.chunkKey }).catch(() => {});
              await this.dropStaged(up.stagedOn);
            }
          }
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  }

  /**
   * At start: finish the uploads whose last byte was staged here but not stored, and drop the files
   * nobody names any more. The sweeps (sweepLost, sweepStaged) wait for it.
   */
  recover(): Promise<void> {
    this.recovered ??= this.recoverNow();
    return this.recovered;
  }

  private async recoverNow(): Promise<void> {
    const node = this.ids.nodeId;
    for (const stagedOn of this.staging.list()) {
      const id = BigInt(stagedOn.slice(stagedOn.indexOf(":") + 1).split(".")[0]!);
      const row = await this.uploads.get({ mediaId: id });
      if (!row || row.stagedOn !== stagedOn) {
        // Done, deleted, failed or taken over: gone now when this store knows the media (its upload
        // names another file, or it is past uploading); a media this store does not know may be
        // deleted — or another store's sharing the directory: only old files go.
        const m = row ? undefined : await this.media.get({ id });
        if (row || (m && m.state !== MediaState.UPLOADING)) await this.staging.drop(stagedOn);
        else if (Date.now() - (await this.staging.mtimeMs(stagedOn)) > STALE_STAGED_MS)
          await this.staging.drop(stagedOn);
        continue;
      }
      // Ours again (this process may have another node id than the one that staged it).
      const ok = await this.restage(
        "UPDATE media_uploads SET staged_node = ? WHERE media_id = ? AND staged_on = ?",
        [node, id, stagedOn],
        id,
        (r) => r.stagedOn === stagedOn && r.stagedNode === node,
      );
      if (!ok) continue;
      this.mine.add(stagedOn);
      const mine = { ...row, stagedNode: node };
      const size = await this.staging.size(stagedOn);
      if (row.offset !== row.sizeBytes || size === undefined || size < Number(row.sizeBytes)) {
        void this.flush(mine, Number(row.offset), false).catch(() => {});
        continue;
      }
      const m = await this.media.get({ id });
      if (!m || m.state !== MediaState.PROCESSING) continue;
      this.finishInBackground(mine, m);
    }
  }

  /** finishStaged for an upload whose media is PROCESSING (its fields recorded by completeStaged). */
  private finishInBackground(up: UploadRow, m: MediaRow): void {
    void detached(() =>
      this.finishStaged(up, {
        contentType: m.contentType,
        kind: m.kind,
        width: m.width,
        height: m.height,
        frames: m.frames,
      }),
    ).catch(() => {});
  }

  /**
   * Uploads whose every byte was received by a node that is gone (its node-id lease ended:
   * `expired`; or this node id's previous holder, which staged a name this process does not know)
   * and that were not finished: the media would stay PROCESSING forever. Those whose bytes are
   * all in the chunk table (or in a file of this staging directory) are taken over and finished
   * here (content address, dedupe, job); those whose bytes past stored_offset died with the node
   * end FAILED (LOST_NODE_REASON, pushed to the owner). One whose media is still UPLOADING (the
   * node died before answering the last byte) goes back to stored_offset, as a PATCH elsewhere
   * would take it: HEAD then tells the client where to resume. Uploads not fully received need
   * nothing: a PATCH on any node takes them over. Returns the media ids acted on.
   */
  async sweepLost(expired: (nodeIds: number[]) => Promise<Set<number>>): Promise<bigint[]> {
    await this.recover();
    const node = this.ids.nodeId;
    const rows = await this.db.all<{ media_id: unknown; staged_on: unknown; staged_node: unknown }>(
      "SELECT media_id, staged_on, staged_node FROM media_uploads WHERE `offset` = size_bytes AND staged_on <> ''",
    );
    const candidates = rows.map((r) => ({
      mediaId: BigInt(String(r.media_id)),
      stagedOn: String(r.staged_on),
      stagedNode: Number(r.staged_node),
    }));
    const others = [...new Set(candidates.map((c) => c.stagedNode).filter((n) => n !== node))];
    const gone = await expired(others);
    const acted: bigint[] = [];
    for (const c of candidates) {
      const lost = c.stagedNode === node ? !this.mine.has(c.stagedOn) : gone.has(c.stagedNode);
      if (!lost || this.busy.has(c.mediaId)) continue;
      if (await this.takeLost(c.mediaId, c.stagedOn, c.stagedNode)) acted.push(c.mediaId);
    }
    return acted;
  }

  private async takeLost(mediaId: bigint, stagedOn: string, stagedNode: number): Promise<boolean> {
    const up = await this.uploads.get({ mediaId });
    if (!up || up.stagedOn !== stagedOn || up.stagedNode !== stagedNode || up.offset !== up.sizeBytes) return false;
    const m = await this.media.get({ id: mediaId });
    const node = this.ids.nodeId;
    const same = "WHERE media_id = ? AND staged_on = ? AND staged_node = ?";
    if (!m || m.state === MediaState.READY || m.state === MediaState.FAILED) {
      // Refused or done by its node, which died before removing the row: only the row is left.
      await this.db.run(`DELETE FROM media_uploads ${same}`, [mediaId, stagedOn, stagedNode]);
      return false;
    }
    if (m.state === MediaState.UPLOADING) {
      const r = await this.db.run(
        `UPDATE media_uploads SET \`offset\` = stored_offset, staged_on = '', staged_node = ? ${same}`,
        [node, mediaId, stagedOn, stagedNode],
      );
      return r.changes === 1;
    }
    const here = this.staging.owns(stagedOn) && ((await this.staging.size(stagedOn)) ?? 0) >= Number(up.sizeBytes);
    if (here || up.storedOffset === up.sizeBytes) {
      // Every byte is at hand: finish it here as its node would have.
      const name = here ? stagedOn : this.staging.newName(mediaId);
      const ok = await this.restage(
        `UPDATE media_uploads SET staged_on = ?, staged_node = ? ${same}`,
        [name, node, mediaId, stagedOn, stagedNode],
        mediaId,
        (r) => r.stagedOn === name && r.stagedNode === node,
      );
      if (!ok) return false;
      this.mine.add(name);
      this.finishInBackground({ ...up, stagedOn: name, stagedNode: node }, m);
      return true;
    }
    const failed = await this.db.transaction(async (tx) => {
      const r = await tx.run(`DELETE FROM media_uploads ${same}`, [mediaId, stagedOn, stagedNode]);
      return r.changes === 1 ? this.failIn(tx, mediaId, LOST_NODE_REASON) : undefined;
    });
    if (!failed) return false;
    this.emit(failed);
    await this.blobs.chunks.deletePartition({ chunkKey: up.chunkKey });
    if (this.staging.owns(stagedOn)) await this.dropStaged(stagedOn);
    return true;
  }

  /**
   * Drops the staging files of this process that no upload names any more (finished, failed,
   * deleted or taken over on another node) and that nothing here is using: at once, not a day later.
   */
  async sweepStaged(): Promise<number> {
    await this.recover();
    let dropped = 0;
    for (const stagedOn of [...this.mine]) {
      const id = BigInt(stagedOn.slice(stagedOn.indexOf(":") + 1).split(".")[0]!);
      if (this.busy.has(id) || this.flushing.has(id)) continue;
      const row = await this.uploads.get({ mediaId: id });
      if (row && row.stagedOn === stagedOn) continue;
      if (!this.mine.has(stagedOn)) continue; // dropped meanwhile
      await this.dropStaged(stagedOn);
      dropped++;
    }
    return dropped;
  }

  /** Stops background flushes (the bundle stops); a restart's recover() finishes them. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.flushing.values()]);
  }

  /** The type from the first bytes, with the limits of that type. */
  private async checkHead(up: UploadRow, head: Uint8Array): Promise<void> {
    const s = sniff(head);
    if (!s) {
      await this.fail(
        up.mediaId,
        "the bytes are not an image or video type we take (jpeg, png, gif, webp, avif, heic, mp4, mov, webm)",
      );
      throw new MediaRefused("the bytes are not a supported image or video type", "invalid");
    }
    const limit = s.kind === "image" ? LIMITS.imageBytes : LIMITS.videoBytes;
    if (up.sizeBytes > BigInt(limit)) {
      const reason = `the file is ${s.contentType}, whose limit is ${limit} bytes; this one is ${up.sizeBytes}`;
      await this.fail(up.mediaId, reason);
      throw new MediaRefused(reason, "too_large");
    }
  }

  /**
   * The staged upload is in the chunk table: content-address it (stored once) and queue its
   * processing durably. Undefined when the upload is no longer this one's (deleted, or taken over).
   */
  private async complete(up: UploadRow, sha256: string, f: CompleteFields): Promise<MediaRow | undefined> {
    const { contentType, kind, width, height, frames } = f;
    let dropChunks = false;
    const row = await this.db.transaction(async (tx) => {
      const mine = await tx.run("DELETE FROM media_uploads WHERE media_id = ? AND staged_on = ?", [
        up.mediaId,
        up.stagedOn,
      ]);
      if (mine.changes !== 1) return undefined;
      const inserted = await this.blobs.blobs.with(tx).insertIfAbsent({
        sha256,
        chunkKey: up.chunkKey,
        sizeBytes: up.sizeBytes,
        chunkSize: up.chunkSize,
        refs: 1n,
        contentType,
      });
      if (!inserted) {
        await this.blobs.addRef(sha256, tx);
        dropChunks = true; // the same bytes are stored already
      }
      await this.media.with(tx).update(
        { id: up.mediaId },
        {
          state: MediaState.PROCESSING,
          contentType,
          kind,
          sourceSha256: sha256,
          width,
          height,
          frames,
          updatedAtMs: BigInt(Date.now()),
        },
      );
      await this.events.publish(tx, MediaUploadedSchema, { mediaId: up.mediaId, ownerId: up.ownerId });
      return (await this.media.with(tx).get({ id: up.mediaId }))!;
    });
    if (dropChunks) await this.blobs.chunks.deletePartition({ chunkKey: up.chunkKey });
    return row;
  }

  // ── state ─────────────────────────────────────────────────────────────

  /** Marks the media FAILED with a reason (and releases its quota reservation). */
  async fail(mediaId: bigint, reason: string): Promise<void> {
    const row = await this.db.transaction((tx) => this.failIn(tx, mediaId, reason));
    if (row) this.emit(row);
  }

  /** fail() in the caller's transaction; the failed row (to emit once committed), or undefined. */
  private async failIn(tx: SqlTx, mediaId: bigint, reason: string): Promise<MediaRow | undefined> {
    const m = await this.media.with(tx).get({ id: mediaId });
    if (!m || m.state === MediaState.READY || m.state === MediaState.FAILED) return undefined;
    await this.media.with(tx).update(
      { id: mediaId },
      {
        state: MediaState.FAILED,
        failureReason: reason.slice(0, 500),
        updatedAtMs: BigInt(Date.now()),
        // A failed item keeps nothing worth counting: its reservation goes back now, once (delete then releases 0).
        quotaBytes: 0n,
      },
    );
    await this.releaseQuota(tx, m.ownerId, m.quotaBytes);
    await this.events.publish(tx, MediaStateChangedSchema, {
      mediaId,
      ownerId: m.ownerId,
      state: MediaState.FAILED,
    });
    const row = (await this.media.with(tx).get({ id: mediaId }))!;
    await this.push?.(tx, row.ownerId, this.view(row, row.ownerId));
    return row;
  }

  /** Records what processing made and marks the media READY. */
  async ready(
    mediaId: bigint,
    patch: {
      variants: StoredVariant[];
      mainVariant: string;
      width?: number;
      height?: number;
      durationMs?: bigint;
      placeholder?: Uint8Array;
      contentType?: string;
    },
  ): Promise<MediaRow | undefined> {
    const row = await this.db.transaction(async (tx) => {
      const m = await this.media.with(tx).get({ id: mediaId });
      if (!m || m.state !== MediaState.PROCESSING) return undefined;
      await this.media.with(tx).update(
        { id: mediaId },
        {
          state: MediaState.READY,
          variants: patch.variants,
          mainVariant: patch.mainVariant,
          ...(patch.width ? { width: patch.width } : {}),
          ...(patch.height ? { height: patch.height } : {}),
          ...(patch.durationMs ? { durationMs: patch.durationMs } : {}),
          ...(patch.placeholder ? { placeholder: patch.placeholder } : {}),
          updatedAtMs: BigInt(Date.now()),
        },
      );
      await this.events.publish(tx, MediaStateChangedSchema, { mediaId, ownerId: m.ownerId, state: MediaState.READY });
      const row = (await this.media.with(tx).get({ id: mediaId }))!;
      await this.push?.(tx, row.ownerId, this.view(row, row.ownerId));
      return row;
    });
    if (row) this.emit(row);
    return row;
  }

  private emit(row: MediaRow): void {
    for (const fn of this.listeners) {
      try {
        fn(row);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  // ── transforms ────────────────────────────────────────────────────────

  /**
   * The file an on-the-fly transform of a READY image is made from (the
   * cleaned original), or undefined. What a READY media points at never
   * changes, so the answer is remembered for SOURCE_MEMO_MS (a cached
   * transform is answered without a database read); deleting the media here
   * forgets it at once, in another process within that time (the answers are
   * `immutable` for a year anyway: clients and CDNs keep them longer).
   */
  async imageSource(id: bigint): Promise<string | undefined> {
    const now = Date.now();
    const memo = this.sources.get(id);
    if (memo && memo.until > now) return memo.sha256;
    const m = await this.media.get({ id });
    if (!m || m.state !== MediaState.READY) return undefined;
    const sha256 = m.variants.find((x) => x.name === "original")?.sha256 ?? m.sourceSha256;
    this.sources.delete(id);
    this.sources.set(id, { sha256, until: now + SOURCE_MEMO_MS });
    if (this.sources.size > SOURCE_MEMO_MAX) this.sources.delete(this.sources.keys().next().value!);
    return sha256;
  }

  // ── delete ────────────────────────────────────────────────────────────

  async delete(mediaId: bigint, callerId: bigint): Promise<void> {
    const m = await this.media.get({ id: mediaId });
    if (!m) return; // idempotent
    if (m.ownerId !== callerId) throw new ConnectError("only the owner may delete media", Code.PermissionDenied);
    this.sources.delete(mediaId);
    const shas = [m.sourceSha256, ...m.variants.map((v) => v.sha256)].filter(Boolean);
    const up = await this.db.transaction(async (tx) => {
      const up = await this.uploads.with(tx).get({ mediaId });
      if (up) await this.uploads.with(tx).delete({ mediaId });
      if (!(await this.media.with(tx).delete({ id: mediaId }))) return up;
      await this.releaseQuota(tx, m.ownerId, m.quotaBytes);
      return up;
    });
    // Staged here: its file goes now (staged on another node: that node's sweepStaged drops it).
    if (up?.stagedOn) await this.dropStaged(up.stagedOn);
    await this.blobs.chunks.deletePartition({ chunkKey: `u${mediaId}` });
    for (const sha of shas) await this.blobs.release(sha);
  }

  // ── views ─────────────────────────────────────────────────────────────

  view(m: MediaRow, viewerId: bigint | undefined): Media {
    const variants = m.variants.map((v) => ({
      name: v.name,
      url: fileUrl(v.sha256, v.ext),
      contentType: v.contentType,
      width: v.width,
      height: v.height,
      sizeBytes: v.sizeBytes,
    }));
    const main = m.variants.find((v) => v.name === m.mainVariant);
    const hls = m.variants.find((v) => v.name === "hls");
    const ready = m.state === MediaState.READY;
    return create(MediaSchema, {
      id: m.id,
      state: m.state,
      contentType: m.contentType,
      width: m.width,
      height: m.height,
      durationMs: m.durationMs,
      placeholder: m.placeholder,
      url: ready
        ? main
          ? fileUrl(main.sha256, main.ext)
          : m.sourceSha256
            ? fileUrl(m.sourceSha256, extOf(m.contentType))
            : ""
        : "",
      variants: ready ? variants.filter((v) => v.name !== "hls") : [],
      hlsUrl: ready && hls ? fileUrl(hls.sha256, hls.ext) : "",
      failureReason: m.failureReason,
      ownerId: m.ownerId,
      sizeBytes: m.sizeBytes,
      fileName: m.fileName,
      createdAtMs: m.createdAtMs,
      uploadUrl: m.state === MediaState.UPLOADING && viewerId === m.ownerId ? `${UPLOAD_PREFIX}${m.id}` : "",
      frames: m.frames,
    });
  }
}

export function extOf(contentType: string): string {
  const map: Record<string, string> = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/avif": "avif",
    "image/heic": "heic",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "application/vnd.apple.mpegurl": "m3u8",
  };
  return map[contentType] ?? "bin";
}
