/**
 * Suspensions: the user service hears moderation.account_suspended and, in
 * the group's transaction, marks the account suspended (users.suspended_at_ms)
 * and ends every one of its sessions, publishing user.session_ended
 * (SUSPENDED) for each as LogOut does, so the push gateway closes their
 * sockets and streams and the tokens stop working. LogIn refuses a suspended
 * account (handlers.ts). The row is written before the sessions are listed
 * (with a locking read): on MySQL/MariaDB that waits for the row lock a
 * concurrent LogIn takes before it opens a session, so a session opened just
 * before the suspension is ended here, and a LogIn just after sees the mark
 * and is refused. moderation.account_unsuspended clears the mark (LogIn works
 * again; ended sessions stay ended).
 */
import { isMessage } from "@bufbuild/protobuf";
import { AccountSuspendedSchema, AccountUnsuspendedSchema } from "../../gen/orbit/moderation/v1/events_pb.js";
import { SessionEndReason } from "../../gen/orbit/user/v1/events_pb.js";
import { UserRowDao } from "../../gen/orbit/user/v1/tables_db.js";
import type { ConsumerOptions } from "../../platform/events/consumer-options.js";
import type { ServiceEvents } from "../../platform/events/service-events.js";
import { endSession } from "./sessions.js";

export const SUSPENSIONS_GROUP = "user.suspensions";

export function suspensionsConsumer(events: ServiceEvents): ConsumerOptions {
  return {
    group: SUSPENSIONS_GROUP,
    events: [AccountSuspendedSchema, AccountUnsuspendedSchema],
    async handle(event, { tx }) {
      const m = event.message;
      if (isMessage(m, AccountUnsuspendedSchema)) {
        // LogIn works again; the sessions the suspension ended stay ended.
        await new UserRowDao(tx).update({ id: m.userId }, { suspendedAtMs: null });
        return;
      }
      if (!isMessage(m, AccountSuspendedSchema)) return;
      const users = new UserRowDao(tx);
      const row = await users.get({ id: m.userId });
      if (!row) return;
      // Written even when already suspended (the same value): the row lock orders it against LogIn.
      const at = row.suspendedAtMs ?? (m.atMs > 0n ? m.atMs : BigInt(event.publishedAtMs));
      await users.update({ id: row.id }, { suspendedAtMs: at });
      // A locking read on MySQL/MariaDB: it sees sessions committed after this transaction's
      // snapshot (a LogIn that held the row lock just before), which a plain read would miss.
      const lock = tx.dialect === "mysql" ? " FOR UPDATE" : "";
      const ids = (await tx.allValues(`SELECT id FROM user_sessions WHERE user_id = ?${lock}`, [row.id])).map((r) =>
        BigInt(String(r[0])),
      );
      for (const id of ids) await endSession(tx, events, row.id, id, SessionEndReason.SUSPENDED);
    },
  };
}
