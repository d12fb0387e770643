/**
 * Every Orbit module, as one table sorted by name (the dskit/Mimir habit).
 * A service is defined in services/<name>/service.ts; a group is a module
 * with no body that stands for others. `orbit bundle --services=<names>`
 * picks from this table, and `orbit services` prints it.
 *
 * Add a product service here AND to the `all` group.
 */
import { Registry } from "../platform/kernel/registry.js";
import { defineGroup, type ModuleDef } from "../platform/kernel/service.js";
import { chat } from "./chat/service.js";
import { community } from "./community/service.js";
import { discover } from "./discover/service.js";
import { echo } from "./echo/service.js";
import { feed } from "./feed/service.js";
import { graph } from "./graph/service.js";
import { live } from "./live/service.js";
import { media } from "./media/service.js";
import { moderation } from "./moderation/service.js";
import { notify } from "./notify/service.js";
import { post } from "./post/service.js";
import { push } from "./push/service.js";
import { relay } from "./relay/service.js";
import { user } from "./user/service.js";

export const MODULES: readonly ModuleDef[] = [
  defineGroup("all", "every product service (what `npm start` runs)", [
    "chat",
    "community",
    "discover",
    "live",
    "media",
    "moderation",
    "notify",
    "push",
    "social",
  ]),
  chat,
  community,
  discover,
  echo,
  feed,
  graph,
  live,
  media,
  moderation,
  notify,
  post,
  push,
  relay,
  defineGroup("social", "accounts, follows, posts, likes, comments and the home feed", [
    "user",
    "graph",
    "post",
    "feed",
  ]),
  defineGroup("testing", "kernel fixtures: echo, and relay which calls it", ["echo", "relay"]),
  user,
];

export const registry = new Registry(MODULES);
