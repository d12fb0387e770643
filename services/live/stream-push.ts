/**
 * live.stream_push: every stream state change (StreamStateChanged: created →
 * scheduled, live, ended; RotateKey's live → scheduled) pushed as
 * StreamUpdate (push field 24) to the durable streams of the streamer, the
 * streamer's followers (graph: ListFollowerIds, paged) and, when the stream
 * belongs to a community, its members (community: ListMembers, paged).
 *
 * A consumer of the event the state change publishes in its own transaction,
 * so a change is pushed even if the process stops right after the commit.
 * Commit "after": at-least-once — a batch retried after a failure may push a
 * recipient the same state twice (the state is the same; clients keep the
 * latest per stream). Each user gets one update per change even when they
 * both follow the streamer and belong to the community. Appends go out in
 * batches of PUSH_BATCH users (ctx.push.toUsers: three statements per batch).
 */
import { create, isMessage } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import type { CommunityService } from "../../gen/orbit/community/v1/community_pb.js";
import type { GraphService } from "../../gen/orbit/graph/v1/graph_pb.js";
import { StreamStateChangedSchema } from "../../gen/orbit/live/v1/events_pb.js";
import { StreamState, StreamUpdateSchema } from "../../gen/orbit/live/v1/live_pb.js";
import type { ConsumerOptions } from "../../platform/events/consumer-options.js";
import type { PushView } from "../../platform/kernel/parts/push.js";
import type { Logger } from "../../platform/log.js";
import type { LiveStreams } from "./streams.js";

export const STREAM_PUSH_GROUP = "live.stream_push";
export const PUSH_BATCH = 500;
const FOLLOWER_PAGE = 1000;
const MEMBER_PAGE = 100;

export interface StreamPushDeps {
  readonly streams: LiveStreams;
  readonly graph: Client<typeof GraphService>;
  readonly communities: Client<typeof CommunityService>;
  readonly push: PushView;
  readonly log: Logger;
}

/** Everyone a stream's change goes to, once each, in pages. */
export async function* streamAudience(
  d: Pick<StreamPushDeps, "graph" | "communities">,
  ownerId: bigint,
  communityId: bigint,
): AsyncGenerator<bigint[]> {
  const seen = new Set<bigint>([ownerId]);
  yield [ownerId];
  const fresh = (ids: readonly bigint[]) => ids.filter((id) => !seen.has(id) && seen.add(id));
  let token = "";
  do {
    const page = await d.graph.listFollowerIds({ userId: ownerId, pageSize: FOLLOWER_PAGE, pageToken: token });
    yield fresh(page.userIds);
    token = page.nextPageToken;
  } while (token);
  if (!communityId) return;
  do {
    const page = await d.communities.listMembers({ communityId, pageSize: MEMBER_PAGE, pageToken: token });
    yield fresh(page.members.map((m) => m.userId));
    token = page.nextPageToken;
  } while (token);
}

export function streamPushConsumer(d: StreamPushDeps): ConsumerOptions {
  return {
    group: STREAM_PUSH_GROUP,
    events: [StreamStateChangedSchema],
    commit: "after",
    // A new deployment does not replay the states of past streams to everyone.
    startFrom: "latest",
    async handle(event) {
      const e = event.message;
      if (!isMessage(e, StreamStateChangedSchema)) return;
      const row = await d.streams.get(e.streamId).catch((err: unknown) => {
        if (ConnectError.from(err).code === Code.NotFound) return undefined;
        throw err;
      });
      if (!row) return;
      // The state this event reports (a later change follows as its own event, in key order).
      const stream = d.streams.toApi(row);
      stream.state = e.state as StreamState;
      if (stream.state !== StreamState.ENDED) {
        stream.endedAtMs = 0n;
        stream.endReason = "";
      }
      const update = create(StreamUpdateSchema, { stream });
      let batch: bigint[] = [];
      let sent = 0;
      const flush = async () => {
        if (!batch.length) return;
        await d.push.toUsers(undefined, batch, { case: "stream", value: update });
        sent += batch.length;
        batch = [];
      };
      for await (const ids of streamAudience(d, e.ownerId, e.communityId)) {
        for (const id of ids) {
          batch.push(id);
          if (batch.length >= PUSH_BATCH) await flush();
        }
      }
      await flush();
      d.log.debug({ streamId: String(e.streamId), state: e.state, users: sent }, "stream update pushed");
    },
  };
}
