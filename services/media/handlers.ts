/** The MediaService handlers. */
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { MediaState, type MediaService } from "../../gen/orbit/media/v1/media_pb.js";
import type { RatePolicy } from "../../platform/limits/limits.js";
import { callScope, requireService, requireUser } from "../../platform/rpc/call-scope.js";
import { MediaRefused } from "./images.js";
import { transformOptions, type UrlSigner } from "./signing.js";
import { type MediaStore, UPLOAD_PREFIX } from "./store.js";

const IMAGE_KINDS = new Set(["image", "animated"]);
/** The largest piece of an import one AppendImport carries. */
const MAX_IMPORT_PIECE = 4 * 1024 * 1024;

export function mediaHandlers(
  store: MediaStore,
  signer: UrlSigner,
  uploads: RatePolicy,
): ServiceImpl<typeof MediaService> {
  async function found(id: bigint) {
    const m = await store.media.get({ id });
    if (!m) throw new ConnectError(`media ${id} not found`, Code.NotFound);
    return m;
  }
  return {
    async createUpload(req, hctx) {
      const me = BigInt(requireUser(hctx).userId);
      await uploads.take(hctx, String(me));
      const m = await store.create(me, req);
      return { mediaId: m.id, uploadUrl: `${UPLOAD_PREFIX}${m.id}` };
    },

    async getMedia(req, hctx) {
      const viewer = callScope(hctx).identity?.userId;
      const m = await found(req.mediaId);
      return { media: store.view(m, viewer === undefined ? undefined : BigInt(viewer)) };
    },

    async deleteMedia(req, hctx) {
      const me = BigInt(requireUser(hctx).userId);
      await store.delete(req.mediaId, me);
      return {};
    },

    async listMyMedia(req, hctx) {
      const me = BigInt(requireUser(hctx).userId);
      let page: Awaited<ReturnType<typeof store.media.listByOwnerId>>;
      try {
        page = await store.media.listByOwnerId(
          { ownerId: me },
          { limit: req.pageSize || 20, pageToken: req.pageToken, order: "desc" },
        );
      } catch (err) {
        throw new ConnectError(`page_token: ${(err as Error).message}`, Code.InvalidArgument);
      }
      return { media: page.rows.map((m) => store.view(m, me)), nextPageToken: page.nextPageToken };
    },

    async signUrl(req, hctx) {
      requireUser(hctx);
      const m = await found(req.mediaId);
      if (!IMAGE_KINDS.has(m.kind)) {
        throw new ConnectError(`media ${m.id} is not an image`, Code.FailedPrecondition);
      }
      if (m.state !== MediaState.READY) {
        throw new ConnectError(`media ${m.id} is ${MediaState[m.state]}, not READY`, Code.FailedPrecondition);
      }
      const o = transformOptions(req);
      if (typeof o === "string") throw new ConnectError(o, Code.InvalidArgument);
      return { url: signer.sign(m.id, o) };
    },

    // A service's file (a live stream's recording) as the owner's upload: the same checks,
    // quota and processing as an upload over HTTP; no per-user upload limit (the service has its own caps).
    async createImport(req, hctx) {
      requireService(hctx);
      const m = await store.create(req.ownerId, req);
      return { mediaId: m.id };
    },

    async appendImport(req, hctx) {
      requireService(hctx);
      if (req.data.length > MAX_IMPORT_PIECE)
        throw new ConnectError(`data: at most ${MAX_IMPORT_PIECE} bytes a call`, Code.InvalidArgument);
      const up = await store.uploadOf(req.mediaId, req.ownerId);
      try {
        const r = await store.receive(up, req.offset, once(req.data));
        return { offset: r.offset, state: r.media?.state ?? MediaState.UPLOADING };
      } catch (err) {
        if (err instanceof MediaRefused)
          throw new ConnectError(err.message, err.kind === "too_large" ? Code.ResourceExhausted : Code.InvalidArgument);
        throw err;
      }
    },

    async checkMedia(req, hctx) {
      requireService(hctx);
      const problems: string[] = [];
      const rows = await store.media.getMany([...new Set(req.mediaIds)].map((id) => ({ id })));
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const id of req.mediaIds) {
        const m = byId.get(id);
        if (!m || m.ownerId !== req.ownerId) problems.push(`media ${id} not found`);
        else if (req.imagesOnly && !IMAGE_KINDS.has(m.kind)) problems.push(`media ${id} is not an image`);
        else if (m.state !== MediaState.READY)
          problems.push(
            `media ${id} is ${MediaState[m.state]}${m.failureReason ? ` (${m.failureReason})` : ""}, not READY`,
          );
      }
      return { problems };
    },
  };
}

async function* once(data: Uint8Array): AsyncIterable<Uint8Array> {
  yield data;
}
