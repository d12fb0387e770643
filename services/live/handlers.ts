/** The LiveService handlers. */
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { LiveService } from "../../gen/orbit/live/v1/live_pb.js";
import { StreamState } from "../../gen/orbit/live/v1/live_pb.js";
import { requireUser } from "../../platform/rpc/call-scope.js";
import type { LiveNode } from "./node.js";
import type { LiveStreams, StreamUrls } from "./streams.js";

const DEFAULT_PAGE = 20;

export interface LiveHandlerDeps {
  readonly streams: LiveStreams;
  readonly urls: StreamUrls;
  /** The node on this bundle, once started (EndStream and RotateKey disconnect publishers through it). */
  readonly node: () => LiveNode | undefined;
  /** Checks that the caller may attach a stream to the community (step: the community service). */
  readonly mayUseCommunity?: (userId: bigint, communityId: bigint) => Promise<void>;
  /** Users watching a stream now (presence: presence.ts). */
  readonly viewers?: (streamId: bigint) => Promise<number>;
}

export function liveHandlers(d: LiveHandlerDeps): ServiceImpl<typeof LiveService> {
  const { streams } = d;
  return {
    async createStream(req, hctx) {
      const me = BigInt(requireUser(hctx).userId);
      const title = req.title.trim();
      if (!title) throw new ConnectError("title: must not be blank", Code.InvalidArgument);
      if (req.communityId && d.mayUseCommunity) await d.mayUseCommunity(me, req.communityId);
      const ingestUrl = await d.urls.ingestUrl();
      const { row, key } = await streams.create(me, title, req.communityId);
      return { stream: streams.toApi(row), ingestUrl, streamKey: key.key, keyExpiresAtMs: key.expiresAtMs };
    },

    async getStream(req) {
      const stream = streams.toApi(await streams.get(req.streamId));
      if (d.viewers) stream.viewerCount = await d.viewers(stream.id);
      return { stream };
    },

    async listLiveStreams(req) {
      const page = await streams.listLive(req.communityId, req.pageSize || DEFAULT_PAGE, req.pageToken);
      if (d.viewers) for (const s of page.streams) s.viewerCount = await d.viewers(s.id);
      return page;
    },

    async endStream(req, hctx) {
      const me = BigInt(requireUser(hctx).userId);
      const row = await streams.owned(req.streamId, me);
      if (row.state === StreamState.ENDED) return { stream: streams.toApi(row) };
      const ended = await streams.markEnded(row.id, "ended");
      // The publisher (if on this node) is cut; its key no longer authorizes.
      d.node()?.end(String(row.id), "ended");
      return { stream: streams.toApi(ended ?? (await streams.get(row.id))) };
    },

    async rotateKey(req, hctx) {
      const me = BigInt(requireUser(hctx).userId);
      const ingestUrl = await d.urls.ingestUrl();
      const { row, key } = await streams.rotate(req.streamId, me);
      if (row.state === StreamState.LIVE) await streams.markEnded(row.id, "key-rotated");
      // A publisher using the old key is disconnected; the stream is scheduled until the new key publishes.
      d.node()?.end(String(row.id), "key-rotated");
      return {
        stream: streams.toApi(await streams.get(row.id)),
        ingestUrl,
        streamKey: key.key,
        keyExpiresAtMs: key.expiresAtMs,
      };
    },
  };
}
