/**
 * The user service verifies the bundle's bearer tokens (the kernel's token
 * capability, platform/kernel/tokens.ts): with its sessions when it runs in
 * the bundle, and through its VerifyToken RPC when it runs in another
 * (`--peer user=URL`). Both remember verified tokens for the session cache's
 * TTL (`--user-session-cache-ms`, read in either bundle) and forget a session
 * once user.session_ended reaches the process (`revocations`: every bundle
 * and worker consumes it in `user.sessions.n<node id>`).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { isMessage } from "@bufbuild/protobuf";
import { SessionEndedSchema } from "../../gen/orbit/user/v1/events_pb.js";
import { UserService } from "../../gen/orbit/user/v1/user_pb.js";
import type { TokenCapability } from "../../platform/kernel/service.js";
import { sessionCacheFor } from "./session-cache.js";
import { remoteVerifier, sessionVerifier } from "./sessions.js";
import type { UserConfig } from "./settings.js";

export const userTokens: TokenCapability = {
  local: (ctx) => sessionVerifier(ctx.db, sessionCacheFor(ctx.events, (ctx.settings as UserConfig).sessionCacheMs)),
  remote: (client, settings) => {
    const users = client(UserService);
    return remoteVerifier(
      async (token, signal) => {
        try {
          return await users.verifyToken({ token }, { signal });
        } catch (err) {
          if (ConnectError.from(err).code === Code.Unauthenticated) return undefined;
          throw err;
        }
      },
      (settings as Partial<UserConfig>).sessionCacheMs,
    );
  },
  revocations: {
    group: "user.sessions",
    events: [SessionEndedSchema],
    sessionOf: (m) => (isMessage(m, SessionEndedSchema) ? m.sessionId.toString() : undefined),
  },
};
