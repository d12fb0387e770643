/**
 * The moderator role: a row in moderation_moderators per account. It is
 * granted by an operator (`orbit moderator grant <handle>`, cmd/commands/
 * moderator.ts), never through the public API, so there is no first-moderator
 * problem to solve over the network and no escalation path for users.
 *
 * Granting and revoking publish moderation.moderator_changed in the same
 * transaction as the row (a grant of an existing moderator publishes it
 * again): post keeps its own list of moderators from it (it shows them hidden
 * posts) since it cannot ask this service.
 */
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { ModeratorChangedSchema } from "../../gen/orbit/moderation/v1/events_pb.js";
import { ModeratorRowDao } from "../../gen/orbit/moderation/v1/tables_db.js";
import type { EventBus } from "../../platform/events/bus.js";
import { requireUser } from "../../platform/rpc/call-scope.js";
import type { SqlDb, SqlExecutor } from "../../platform/storage/driver.js";

/** What publishes the role's changes: the event bus on the store. */
export type RolePublisher = Pick<EventBus, "publish">;

export async function isModerator(db: SqlExecutor, userId: bigint): Promise<boolean> {
  return (await new ModeratorRowDao(db).get({ userId })) !== undefined;
}

/** The caller, if a moderator: Unauthenticated when anonymous, PermissionDenied otherwise. */
export async function requireModerator(db: SqlExecutor, hctx: HandlerContext): Promise<bigint> {
  const me = BigInt(requireUser(hctx).userId);
  if (!(await isModerator(db, me))) throw new ConnectError("moderators only", Code.PermissionDenied);
  return me;
}

export async function grantModerator(db: SqlDb, bus: RolePublisher, userId: bigint, by: string): Promise<boolean> {
  const now = BigInt(Date.now());
  return db.transaction(async (tx) => {
    const added = await new ModeratorRowDao(tx).insertIfAbsent({ userId, grantedAtMs: now, grantedBy: by });
    await bus.publish(tx, ModeratorChangedSchema, { userId, moderator: true, atMs: now });
    return added;
  });
}

export async function revokeModerator(db: SqlDb, bus: RolePublisher, userId: bigint): Promise<boolean> {
  return db.transaction(async (tx) => {
    const removed = await new ModeratorRowDao(tx).delete({ userId });
    await bus.publish(tx, ModeratorChangedSchema, { userId, moderator: false, atMs: BigInt(Date.now()) });
    return removed;
  });
}
