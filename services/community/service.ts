/**
 * community: one community per anime series — the series catalogue (seeded
 * from series.json, creatable by admins), members with roles (owner,
 * moderator, member), bans with a moderation log, and the community feed
 * (posts tagged to the community, hot and new; hot kept up to date from
 * like and comment events by the community.posts consumer).
 */
import { CommunityService } from "../../gen/orbit/community/v1/community_pb.js";
import { MembershipChangedSchema } from "../../gen/orbit/community/v1/events_pb.js";
import {
  BanRowTable,
  CommunityPostRowTable,
  CommunityRowTable,
  MemberRowTable,
  ModLogRowTable,
  SeriesRowTable,
} from "../../gen/orbit/community/v1/tables_db.js";
import { defineService } from "../../platform/kernel/service.js";
import { Catalogue, DEFAULT_SERIES_FILE } from "./catalogue.js";
import { communityHandlers } from "./handlers.js";
import { postsConsumer } from "./posts.js";
import { adminIds, communitySettings } from "./settings.js";

export const community = defineService({
  name: "community",
  description: "communities per anime series: catalogue, members, roles, bans, modlog, hot/new community feed",
  api: [CommunityService],
  settings: communitySettings,
  tables: [SeriesRowTable, CommunityRowTable, MemberRowTable, BanRowTable, ModLogRowTable, CommunityPostRowTable],
  publishes: [MembershipChangedSchema],
  build(ctx) {
    const catalogue = new Catalogue(ctx.db, ctx.ids);
    let seeded: () => void = () => undefined;
    const ready = new Promise<void>((r) => (seeded = r));
    return {
      rpc: [communityHandlers(ctx, catalogue, adminIds(ctx.settings.admins), ready)],
      consumers: [postsConsumer()],
      jobs: [
        {
          name: "community.seed",
          async run() {
            const added = await catalogue.seed(ctx.settings.seriesFile || DEFAULT_SERIES_FILE);
            if (added) ctx.log.info({ added }, "series catalogue seeded");
            seeded();
          },
        },
      ],
    };
  },
});
