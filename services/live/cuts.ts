/**
 * live.cut.n<node id>: EndStream, RotateKey (and a moderator's hide) cut the
 * publisher on the node holding the publish, whichever bundle served the
 * call. Every live node consumes StreamStateChanged in a consumer group of
 * its own (one position per node id, starting from the latest event: past
 * ends need no cut) and ends the stream's publish if it holds one that
 * started before the change — a publish that started after a RotateKey is
 * the new key's and stays. The bundle serving the RPC also cuts at once
 * (handlers.ts); a second cut finds nothing.
 *
 * The event says the stream is `ended` (end_reason: ended, hidden, node-lost,
 * or the ingest's own reason — then nothing is publishing here any more) or
 * `scheduled` again with reason `key-rotated`.
 */
import { isMessage } from "@bufbuild/protobuf";
import { StreamStateChangedSchema } from "../../gen/orbit/live/v1/events_pb.js";
import { StreamState } from "../../gen/orbit/live/v1/live_pb.js";
import type { ConsumerOptions } from "../../platform/events/consumer-options.js";
import type { StopReason } from "./ingest.js";
import type { LiveNode } from "./node.js";

export const cutGroup = (nodeId: number) => `live.cut.n${nodeId}`;

export function cutConsumer(nodeId: number, node: () => LiveNode | undefined): ConsumerOptions {
  return {
    group: cutGroup(nodeId),
    events: [StreamStateChangedSchema],
    commit: "after",
    startFrom: "latest",
    handle(event) {
      const m = event.message;
      if (!isMessage(m, StreamStateChangedSchema)) return;
      let reason: StopReason | undefined;
      if (m.state === StreamState.ENDED) reason = m.reason === "hidden" ? "hidden" : "ended";
      else if (m.state === StreamState.SCHEDULED && m.reason === "key-rotated") reason = "key-rotated";
      if (reason) node()?.endIfStartedBefore(String(m.streamId), reason, Number(m.atMs));
    },
  };
}
