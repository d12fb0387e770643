/**
 * The moderator role: a row in moderation_moderators per account. It is
 * granted by an operator (`orbit moderator grant <handle>`, cmd/commands/
 * moderator.ts), never through the public API, so there is no first-moderator
 * problem to solve over the network and no escalation path for users.
 */
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { ModeratorRowDao } from "../../gen/orbit/moderation/v1/tables_db.js";
import { requireUser } from "../../platform/rpc/call-scope.js";
import type { SqlExecutor } from "../../platform/storage/driver.js";

export async function isModerator(db: SqlExecutor, userId: bigint): Promise<boolean> {
  return (await new ModeratorRowDao(db).get({ userId })) !== undefined;
}

/** The caller, if a moderator: Unauthenticated when anonymous, PermissionDenied otherwise. */
export async function requireModerator(db: SqlExecutor, hctx: HandlerContext): Promise<bigint> {
  const me = BigInt(requireUser(hctx).userId);
  if (!(await isModerator(db, me))) throw new ConnectError("moderators only", Code.PermissionDenied);
  return me;
}

export async function grantModerator(db: SqlExecutor, userId: bigint, by: string): Promise<boolean> {
  return new ModeratorRowDao(db).insertIfAbsent({ userId, grantedAtMs: BigInt(Date.now()), grantedBy: by });
}

export async function revokeModerator(db: SqlExecutor, userId: bigint): Promise<boolean> {
  return new ModeratorRowDao(db).delete({ userId });
}
