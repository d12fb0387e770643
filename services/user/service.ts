/**
 * user: accounts, sessions (one per device, bearer tokens stored hashed),
 * profiles with counts, blocks. It is the bundle's token verifier. It ends a
 * suspended account's sessions (moderation.account_suspended, suspensions.ts).
 */
import {
  ProfileChangedSchema,
  SessionEndedSchema,
  UserBlockedSchema,
  UserUnblockedSchema,
} from "../../gen/orbit/user/v1/events_pb.js";
import {
  BlockRowTable,
  HandleSkeletonRowTable,
  ProfileCounterRowTable,
  SessionRowTable,
  UserRowTable,
} from "../../gen/orbit/user/v1/tables_db.js";
import { UserService } from "../../gen/orbit/user/v1/user_pb.js";
import { defineService } from "../../platform/kernel/service.js";
import { countersConsumer } from "./counters.js";
import { userHandlers } from "./handlers.js";
import { userSettings } from "./settings.js";
import { suspensionsConsumer } from "./suspensions.js";
import { userTokens } from "./token-check.js";

export const user = defineService({
  name: "user",
  description: "accounts, sessions, profiles with counts, blocks; verifies bearer tokens",
  // Avatars must be the user's READY images: checked with media's CheckMedia.
  deps: ["media"],
  api: [UserService],
  settings: userSettings,
  tables: [UserRowTable, HandleSkeletonRowTable, SessionRowTable, BlockRowTable, ProfileCounterRowTable],
  publishes: [UserBlockedSchema, UserUnblockedSchema, ProfileChangedSchema, SessionEndedSchema],
  verifiesTokens: userTokens,
  build: (ctx) => ({ rpc: [userHandlers(ctx)], consumers: [countersConsumer, suspensionsConsumer(ctx.events)] }),
});
