/**
 * `firstDelivery(tx, scope, eventId)`: the inbox helper for idempotent
 * handlers whose writes do not commit with the group's position (commit
 * "after", or a projection in another transaction). Call it inside the
 * handler's own transaction: it records (scope, event id) and says whether
 * this is the first time; on a redelivery it returns false and the handler
 * skips its writes. Retention deletes inbox rows together with their events.
 */
import { isDuplicateKey, type SqlExecutor } from "../storage/driver.js";
import { PROCESSED } from "./tables.js";

export async function firstDelivery(tx: SqlExecutor, scope: string, eventId: bigint): Promise<boolean> {
  try {
    await tx.run(`INSERT INTO ${PROCESSED} (scope, event_id) VALUES (?, ?)`, [scope, eventId]);
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}
