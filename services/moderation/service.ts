/**
 * moderation: reports on users, posts, comments, messages and streams; the
 * review queue for moderators (a role granted by `orbit moderator grant`);
 * actions published as events (moderation.content_hidden,
 * moderation.account_suspended, moderation.community_banned, and their undoing:
 * moderation.content_unhidden, moderation.account_unsuspended) that post,
 * feed, discover, notify and user consume; the modlog. docs/moderation.md.
 */
import {
  AccountSuspendedSchema,
  AccountUnsuspendedSchema,
  CommunityBannedSchema,
  ContentHiddenSchema,
  ContentUnhiddenSchema,
  ModeratorChangedSchema,
} from "../../gen/orbit/moderation/v1/events_pb.js";
import { ModerationService } from "../../gen/orbit/moderation/v1/moderation_pb.js";
import { ModeratorRowTable, ModlogRowTable, ReportRowTable } from "../../gen/orbit/moderation/v1/tables_db.js";
import { defineService } from "../../platform/kernel/service.js";
import { moderationHandlers } from "./handlers.js";

export const moderation = defineService({
  name: "moderation",
  description: "reports, the moderators' review queue, actions as events, the modlog",
  // Reported comments, messages and streams are checked with their owners (post, chat, live).
  deps: ["user", "post", "chat", "live"],
  api: [ModerationService],
  tables: [ReportRowTable, ModeratorRowTable, ModlogRowTable],
  // moderator_changed is published by `orbit moderator grant|revoke` (roles.ts), declared here as the role's owner.
  publishes: [
    ContentHiddenSchema,
    AccountSuspendedSchema,
    CommunityBannedSchema,
    ModeratorChangedSchema,
    ContentUnhiddenSchema,
    AccountUnsuspendedSchema,
  ],
  build: (ctx) => ({ rpc: [moderationHandlers(ctx)] }),
});
