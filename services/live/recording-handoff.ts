/**
 * A finished publish's recording goes to the media service as a video owned
 * by the streamer: MediaService.CreateImport, then AppendImport piece by
 * piece (service-only RPCs, in-process or over Connect like every service
 * call). The last piece completes it as any upload (sniffed, content-addressed,
 * the streamer's quota), and media's job transcodes it and packages HLS VOD.
 * Once media has accepted it (PROCESSING), the stream row records its media id
 * (Stream.recording_media_id). The file is deleted whatever happens.
 */
import { open, rm } from "node:fs/promises";
import type { Client } from "@connectrpc/connect";
import { MediaState, type MediaService } from "../../gen/orbit/media/v1/media_pb.js";
import type { Logger } from "../../platform/log.js";

/** Bytes per AppendImport (media takes at most 4 MiB a call). */
export const IMPORT_PIECE = 1024 * 1024;

export interface HandOff {
  readonly file: string;
  readonly streamId: bigint;
  readonly ownerId: bigint;
  readonly media: Client<typeof MediaService>;
  /** Records the accepted media id on the stream. */
  readonly accepted: (mediaId: bigint) => Promise<void>;
  readonly log: Logger;
}

/** Hands the file to media; answers the media id, or undefined when it failed (logged). */
export async function handOffRecording(h: HandOff): Promise<bigint | undefined> {
  try {
    const fh = await open(h.file, "r");
    try {
      const size = (await fh.stat()).size;
      if (size === 0) return undefined;
      const { mediaId } = await h.media.createImport({
        ownerId: h.ownerId,
        contentType: "video/mp4",
        sizeBytes: BigInt(size),
        fileName: `stream-${h.streamId}.mp4`,
      });
      const buf = Buffer.alloc(Math.min(IMPORT_PIECE, size));
      let offset = 0;
      let state = MediaState.UPLOADING;
      while (offset < size) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - offset), offset);
        if (bytesRead === 0) throw new Error(`the recording shrank to ${offset} bytes`);
        const r = await h.media.appendImport({
          mediaId,
          ownerId: h.ownerId,
          offset: BigInt(offset),
          data: buf.subarray(0, bytesRead),
        });
        offset = Number(r.offset);
        state = r.state;
      }
      if (state !== MediaState.PROCESSING && state !== MediaState.READY)
        throw new Error(`media ${mediaId} is ${MediaState[state]} after the last byte`);
      await h.accepted(mediaId);
      h.log.info({ streamId: String(h.streamId), mediaId: String(mediaId), bytes: size }, "recording handed to media");
      return mediaId;
    } finally {
      await fh.close();
    }
  } catch (err) {
    h.log.warn({ err, streamId: String(h.streamId) }, "recording not handed to media");
    return undefined;
  } finally {
    await rm(h.file, { force: true });
  }
}
