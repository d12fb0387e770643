/**
 * A session that ends (LogOut, RevokeSession, a new sign-in on the same
 * device: user.session_ended, published in the user service's transaction)
 * closes its open connections: /ws with 4401 and the reason, Subscribe with
 * Unauthenticated. The gateway that consumes the event closes its own and
 * tells the others through the broker (engine.revokeSession); the event log
 * is shared by the bundles, so the user service may run in any of them.
 */
import { isMessage } from "@bufbuild/protobuf";
import { SessionEndReason, SessionEndedSchema } from "../../gen/orbit/user/v1/events_pb.js";
import type { ConsumerOptions } from "../../platform/events/consumer-options.js";
import type { PushEngine } from "../../platform/push/engine.js";

export const SESSIONS_GROUP = "push.sessions";

const REASONS: Record<SessionEndReason, string> = {
  [SessionEndReason.UNSPECIFIED]: "the session has ended; sign in again",
  [SessionEndReason.LOGGED_OUT]: "the session has ended: logged out",
  [SessionEndReason.REVOKED]: "the session has ended: revoked from another device",
  [SessionEndReason.REPLACED]: "the session has ended: signed in again on this device",
  [SessionEndReason.SUSPENDED]: "the session has ended: the account is suspended",
};

export function sessionsConsumer(engine: PushEngine): ConsumerOptions {
  return {
    group: SESSIONS_GROUP,
    events: [SessionEndedSchema],
    // Nothing is written: closing sockets is the effect, and a redelivery closes nothing twice.
    commit: "after",
    // A gateway that starts has no connections of sessions that ended before it.
    startFrom: "latest",
    async handle(event) {
      const m = event.message;
      if (!isMessage(m, SessionEndedSchema)) return;
      engine.revokeSession(m.userId, m.sessionId, REASONS[m.reason] ?? REASONS[SessionEndReason.UNSPECIFIED]);
    },
  };
}
