/**
 * The media records and their life: created by CreateUpload (UPLOADING),
 * filled by the upload route, checked and content-addressed when the last
 * byte arrives (PROCESSING, and the durable job is published in the same
 * transaction), made READY or FAILED by the job, deleted by the owner.
 */
import { createHash, type Hash } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { MediaStateChangedSchema, MediaUploadedSchema } from "../../gen/orbit/media/v1/events_pb.js";
import { type Media, MediaSchema, MediaState } from "../../gen/orbit/media/v1/media_pb.js";
import { MediaRowDao, UploadRowDao, UsageRowDao } from "../../gen/orbit/media/v1/tables_db.js";
import type { MediaRow, StoredVariant, UploadRow } from "../../gen/orbit/media/v1/tables_pb.js";
import { detached } from "../../platform/rpc/call-scope.js";
import type { ServiceEvents } from "../../platform/events/service-events.js";
import type { IdGenerator } from "../../platform/ids.js";
import type { SqlDb, SqlExecutor, SqlTx } from "../../platform/storage/driver.js";
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
/** A staged file no upload names is dropped at start once this old. */
const STALE_STAGED_MS = 24 * 3_600_000;

interface CompleteFields {
  contentType: string;
  kind: string;
  sourceSha256: string;
  width: number;
  height: number;
  frames: number;
}

interface RunningHash {
  offset: number;
  hash: Hash;
}

export class MediaStore {
  readonly media: MediaRowDao;
  readonly uploads: UploadRowDao;
  readonly usage: UsageRowDao;
  /** Running SHA-256 of uploads this process is receiving (a resumed upload elsewhere re-reads its chunks). */
  private readonly hashes = new Map<bigint, RunningHash>();
  /** Uploads with a PATCH in progress here. */
  private readonly busy = new Set<bigint>();
  /** The running flush of each upload to the chunk table. */
  private readonly flushing = new Map<bigint, Promise<void>>();
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
   * the last byte arrived the file is checked and answered at once; the rest
   * of the flush and the completion run in the background (completeStaged).
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
      const mine = await this.claim(up);
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
    if (staging.owns(up.stagedOn)) {
      const size = await staging.size(up.stagedOn);
      if (size !== undefined && size >= Number(up.offset)) {
        if (size > Number(up.offset)) {
          // Bytes past the acknowledged offset (a PATCH refused or cut before its fdatasync): dropped.
          const fh = await staging.open(up.stagedOn);
          await fh.truncate(Number(up.offset)).finally(() => fh.close());
        }
        return up;
      }
    }
    const stagedOn = staging.newName(up.mediaId);
    const r = await this.db.run(
      "UPDATE media_uploads SET `offset` = stored_offset, staged_on = ? WHERE media_id = ? AND staged_on = ? AND `offset` = ?",
      [stagedOn, up.mediaId, up.stagedOn, up.offset],
    );
    if (r.changes !== 1) throw new ConnectError("another PATCH of this upload is in progress", Code.Aborted);
    this.hashes.delete(up.mediaId);
    await (await staging.open(stagedOn)).close();
    return { ...up, offset: up.storedOffset, stagedOn };
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

  private async receiveStaged(
    up: UploadRow,
    body: AsyncIterable<Uint8Array>,
  ): Promise<{ offset: bigint; media?: MediaRow }> {
    const size = Number(up.sizeBytes);
    let acked = Number(up.offset);
    let running = this.hashes.get(up.mediaId);
    if (!running || running.offset !== acked) {
      // Resumed here after a restart or on another node: the running hash again from the bytes.
      const hash = createHash("sha256");
      for (let at = 0; at < acked; at += 8 * up.chunkSize) {
        hash.update(await this.uploadBytes(up, at, Math.min(8 * up.chunkSize, acked - at)));
      }
      running = { offset: acked, hash };
      this.hashes.set(up.mediaId, running);
    }
    const hash = running.hash;
    let head = acked === 0 ? Buffer.alloc(0) : undefined;
    let sniffed = false;
    const fh = await this.staging.open(up.stagedOn);
    let written = acked; // file bytes written (not yet synced past `acked`)
    const pieces: Buffer[] = [];
    let buffered = 0;
    const write = async () => {
      if (buffered === 0) return;
      const all = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, buffered);
      pieces.length = 0;
      buffered = 0;
      let done = 0;
      while (done < all.length) done += (await fh.write(all, done, all.length - done, written + done)).bytesWritten;
      written += all.length;
    };
    // Bytes that arrived are kept even once the client went away (a cut connection ends the call):
    // outside the call's commit guard.
    const acknowledge = () =>
      detached(async () => {
        await write();
        if (written === acked) return;
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
          hash.update(data);
          running.offset += data.length;
          pieces.push(data);
          buffered += data.length;
          if (buffered >= STAGE_WRITE) await write();
        }
      } catch (err) {
        if (err instanceof ConnectError || err instanceof MediaRefused) {
          this.hashes.delete(up.mediaId);
          throw err;
        }
        cut = err; // the connection was cut: keep what arrived
      }
      if (head && !sniffed && head.length > 0) await this.checkHead(up, head);
      await acknowledge();
    } finally {
      await fh.close();
    }
    if (cut !== undefined || acked < size) {
      if (running.offset !== acked) this.hashes.delete(up.mediaId);
      this.flush(up, acked, false).catch(() => {}); // the next PATCH or the completion flushes again
      return { offset: BigInt(acked) };
    }
    this.hashes.delete(up.mediaId);
    const media = await this.completeStaged(up, hash.digest("hex"));
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
  private async completeStaged(up: UploadRow, sha256: string): Promise<MediaRow> {
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
          await this.staging.drop(up.stagedOn);
        }
        throw err;
      }
    }
    const fields = { contentType: s.contentType, kind, sourceSha256: sha256, width, height, frames };
    await this.media.update(
      { id: up.mediaId },
      { state: MediaState.PROCESSING, ...fields, updatedAtMs: BigInt(Date.now()) },
    );
    void detached(() => this.finishStaged(up, sha256, fields)).catch(() => {}); // it fails the media itself
    return (await this.media.get({ id: up.mediaId }))!;
  }

  private async finishStaged(up: UploadRow, sha256: string, fields: CompleteFields): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.flush(up, Number(up.sizeBytes), true);
        const row = await this.uploads.get({ mediaId: up.mediaId });
        if (!row || row.stagedOn !== up.stagedOn) return; // deleted meanwhile
        await this.complete(up, sha256, fields);
        await this.staging.drop(up.stagedOn);
        return;
      } catch (err) {
        if (attempt >= 5 || this.closed) {
          if (!this.closed) await this.fail(up.mediaId, `the upload could not be stored: ${(err as Error).message}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  }

  /** At start: finish the uploads whose last byte was staged here but not stored; drop files nobody names. */
  async recover(): Promise<void> {
    for (const stagedOn of this.staging.list()) {
      const id = BigInt(stagedOn.slice(stagedOn.indexOf(":") + 1).split(".")[0]!);
      const row = await this.uploads.get({ mediaId: id });
      if (!row || row.stagedOn !== stagedOn) {
        // Nobody's here (done, deleted, taken over) — or another store's sharing the directory: only old files go.
        if (Date.now() - (await this.staging.mtimeMs(stagedOn)) > STALE_STAGED_MS) await this.staging.drop(stagedOn);
        continue;
      }
      const size = await this.staging.size(stagedOn);
      if (row.offset !== row.sizeBytes || size === undefined || size < Number(row.sizeBytes)) {
        void this.flush(row, Number(row.offset), false).catch(() => {});
        continue;
      }
      const m = await this.media.get({ id });
      if (!m || m.state !== MediaState.PROCESSING) continue;
      void detached(() =>
        this.finishStaged(row, m.sourceSha256, {
          contentType: m.contentType,
          kind: m.kind,
          sourceSha256: m.sourceSha256,
          width: m.width,
          height: m.height,
          frames: m.frames,
        }),
      ).catch(() => {});
    }
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

  /** The staged upload is in the chunk table: content-address it (stored once) and queue its processing durably. */
  private async complete(up: UploadRow, sha256: string, f: CompleteFields): Promise<MediaRow> {
    const { contentType, kind, width, height, frames } = f;
    let dropChunks = false;
    const row = await this.db.transaction(async (tx) => {
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
      await this.uploads.with(tx).delete({ mediaId: up.mediaId });
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
    const row = await this.db.transaction(async (tx) => {
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
    });
    if (row) this.emit(row);
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
    await this.db.transaction(async (tx) => {
      const up = await this.uploads.with(tx).get({ mediaId });
      if (up) await this.uploads.with(tx).delete({ mediaId });
      if (!(await this.media.with(tx).delete({ id: mediaId }))) return;
      await this.releaseQuota(tx, m.ownerId, m.quotaBytes);
    });
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
