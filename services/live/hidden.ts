/**
 * live.moderation: a stream a moderator hid (moderation.content_hidden with
 * kind STREAM) is ended as EndStream ends it, with end_reason "hidden": its
 * state is ENDED (live.stream_state_changed is published), its key stops
 * authorizing and a publisher on this node is cut. markEnded runs its own
 * transaction, so the group commits its position afterwards (at least once;
 * ending an ended stream changes nothing). A publisher on another node is
 * cut by that node's live.cut consumer (cuts.ts), which reads the state change.
 */
import { isMessage } from "@bufbuild/protobuf";
import { ContentHiddenSchema } from "../../gen/orbit/moderation/v1/events_pb.js";
import { TargetKind } from "../../gen/orbit/moderation/v1/moderation_pb.js";
import type { ConsumerOptions } from "../../platform/events/consumer-options.js";
import type { LiveNode } from "./node.js";
import type { LiveStreams } from "./streams.js";

export const MODERATION_GROUP = "live.moderation";
export const HIDDEN_REASON = "hidden";

export function moderationConsumer(streams: LiveStreams, node: () => LiveNode | undefined): ConsumerOptions {
  return {
    group: MODERATION_GROUP,
    events: [ContentHiddenSchema],
    commit: "after",
    async handle(event) {
      const m = event.message;
      if (!isMessage(m, ContentHiddenSchema) || m.kind !== TargetKind.STREAM) return;
      await streams.markEnded(m.targetId, HIDDEN_REASON);
      node()?.end(String(m.targetId), HIDDEN_REASON);
    },
  };
}
