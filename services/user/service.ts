/**
 * user: accounts, sessions (one per device, bearer tokens stored hashed),
 * profiles with counts, blocks. It is the bundle's token verifier.
 */
import { UserService } from "../../gen/orbit/user/v1/user_pb.js";
import { UserBlockedSchema, UserUnblockedSchema } from "../../gen/orbit/user/v1/events_pb.js";
import { FollowedSchema, UnfollowedSchema } from "../../gen/orbit/graph/v1/events_pb.js";
import { PostCreatedSchema, PostDeletedSchema } from "../../gen/orbit/post/v1/events_pb.js";
import {
  BlockRowTable,
  ProfileCounterRowTable,
  SessionRowTable,
  UserRowTable,
} from "../../gen/orbit/user/v1/tables_db.js";
import { defineService, implement } from "../../platform/kernel/service.js";
import { countersConsumer } from "./counters.js";
import { userHandlers } from "./handlers.js";
import { remoteVerifier, sessionVerifier } from "./sessions.js";
import { Code, ConnectError } from "@connectrpc/connect";

export const user = defineService({
  name: "user",
  description: "accounts, sessions, profiles with counts, blocks; verifies bearer tokens",
  rpc: [implement(UserService, (ctx) => userHandlers(ctx))],
  tables: [UserRowTable, SessionRowTable, BlockRowTable, ProfileCounterRowTable],
  publishes: [UserBlockedSchema.typeName, UserUnblockedSchema.typeName],
  consumes: [
    FollowedSchema.typeName,
    UnfollowedSchema.typeName,
    PostCreatedSchema.typeName,
    PostDeletedSchema.typeName,
  ],
  tokenVerifier: (ctx) => sessionVerifier(ctx.db),
  remoteTokenVerifier: (client) => {
    const users = client(UserService);
    return remoteVerifier(async (token, signal) => {
      try {
        return await users.verifyToken({ token }, { signal });
      } catch (err) {
        if (ConnectError.from(err).code === Code.Unauthenticated) return undefined;
        throw err;
      }
    });
  },
  start: (ctx) => {
    ctx.events.consume(countersConsumer);
  },
});
