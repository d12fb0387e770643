/**
 * SendMessage's write path: sends that arrive while a write is running are
 * queued and written together, in one transaction per batch (group commit),
 * with a handful of statements whatever the batch's size:
 *
 *   lock the batch's conversations (ascending ids; SELECT … FOR UPDATE on MariaDB),
 *   read them, their active members and the batch's already-recorded client ids,
 *   then multi-row writes: the messages (wide table), the dedupe rows, the change log,
 *   the conversations (one upsert), the senders' read/delivery pointers (one UPDATE),
 *   and the pushes, appended together (ctx.push.toUsersMany): each conversation's
 *   members get the batch's changes of that conversation as one update
 *   (ChatUpdate.batch when there are several).
 *
 * Before its transaction, a batch asks the user service about blocks once for
 * all its direct sends (CheckBlocks); a blocked send fails alone.
 *
 * A free writer waits up to --chat-send-gather-ms after the first queued send
 * for others (until as many are queued as its last batch held), so senders
 * answered together are written together again instead of one alone first.
 *
 * Every guarantee of a single send holds: a conversation's changes take seqs one
 * after another under its row lock and commit with their rows, the change log and
 * the push, so devices see them in seq order, once; a client id seen twice (in the
 * store or twice in one batch) answers the first message. A send that fails its
 * checks in the batch (no longer a member) fails alone; a batch that fails as a
 * whole (a deadlock) is run again, up to three times. Several batches may be
 * in flight (`writers`): they take the conversations' locks in ascending
 * order and push heads in ascending user order, so they wait for each other
 * where they share a conversation or a user, and a batch reads its
 * conversations and recorded client ids after it holds their locks.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ChatUpdateSchema, ChatUpdatesSchema, type ChatUpdate, type Message } from "../../gen/orbit/chat/v1/chat_pb.js";
import type {
  ChatChangeRowDao,
  ChatChangeRowInit,
  ChatConversationRowDao,
  ChatSendRowDao,
  ChatSendRowInit,
} from "../../gen/orbit/chat/v1/tables_db.js";
import { ChatMessageRowSchema, type ChatMessageRow } from "../../gen/orbit/chat/v1/tables_pb.js";
import type { IdGenerator } from "../../platform/ids.js";
import { detached } from "../../platform/rpc/call-scope.js";
import type { SqlDb, SqlTx, SqlValue } from "../../platform/storage/driver.js";
import { toMessage } from "./convert.js";
import { bucketOf, type MessageStore } from "./messages.js";
import type { ChatPush } from "./push.js";

/** Sends written in one transaction at most. */
export const MAX_BATCH = 256;
const DEADLOCK_RETRIES = 3;

export interface SendRequest {
  readonly me: bigint;
  readonly conversationId: bigint;
  readonly clientMessageId: string;
  readonly text: string;
  readonly mediaIds: readonly bigint[];
  readonly replyToId: bigint;
  /** A direct conversation's other user: the send is refused if either blocked the other. */
  readonly other?: bigint;
}

/** A written send: the new message, or the id of the one a client id already made. */
export type SendOutcome = Message | bigint;

interface Pending {
  readonly req: SendRequest;
  /** When it was queued (performance.now()). */
  readonly at: number;
  resolve(out: SendOutcome): void;
  reject(err: unknown): void;
}

export interface SendDeps {
  readonly db: SqlDb;
  readonly ids: IdGenerator;
  readonly convs: ChatConversationRowDao;
  readonly sends: ChatSendRowDao;
  readonly changes: ChatChangeRowDao;
  readonly messages: MessageStore;
  readonly push: ChatPush;
  /** For each pair, whether either user blocked the other (the user service's CheckBlocks). */
  checkBlocks(pairs: readonly (readonly [bigint, bigint])[]): Promise<boolean[]>;
}

function isDeadlock(err: unknown): boolean {
  const e = err as { errno?: number; code?: string } | null;
  return e?.errno === 1213 || e?.code === "ER_LOCK_DEADLOCK";
}

/** Several changes of one conversation as one pushed update (a single one as itself). */
export function batchUpdate(updates: readonly ChatUpdate[]): ChatUpdate {
  if (updates.length === 1) return updates[0]!;
  const last = updates[updates.length - 1]!;
  return create(ChatUpdateSchema, {
    conversationId: last.conversationId,
    seq: last.seq,
    atMs: last.atMs,
    actorId: last.actorId,
    change: { case: "batch", value: create(ChatUpdatesSchema, { updates: [...updates] }) },
  });
}

/** A pushed update as the changes it carries, in seq order. */
export function unbatch(update: ChatUpdate): ChatUpdate[] {
  return update.change.case === "batch" ? update.change.value.updates : [update];
}

/** Batches written and sends in them, by every batcher of this process (for the bench). */
export const sendTotals = { batches: 0, sends: 0 };

export class SendBatcher {
  private queue: Pending[] = [];
  /** Writers running: each takes what is queued, writes it, and goes on while sends wait. */
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Sends of the batch written last: a batch starts as soon as as many are queued. */
  private lastSize = 1;
  /** When a writer last came free (performance.now()). */
  private freeAt = 0;
  /** Batches written and sends in them (for tests and the bench). */
  readonly stats = { batches: 0, sends: 0 };

  /**
   * `writers` (--chat-send-writers, default 1): batches in flight at once. On
   * MariaDB a batch's commit waits for its log flush; a second writer fills
   * the next batch meanwhile and InnoDB flushes concurrent commits together.
   * SQLite has one writer anyway.
   *
   * `gatherMs` (--chat-send-gather-ms): how long a free writer waits for
   * more sends after the first queued one (or after it came free, if later),
   * unless as many sends as the last batch held are queued already (then it
   * starts at once; 0: never waits). The senders of a batch answered
   * together send again together, but their next sends arrive one by one:
   * without the window the first of them would start a batch alone and the
   * others wait for it.
   */
  constructor(
    private readonly d: SendDeps,
    private readonly writers = 1,
    private readonly gatherMs = 0,
  ) {}

  send(req: SendRequest): Promise<SendOutcome> {
    return new Promise<SendOutcome>((resolve, reject) => {
      this.queue.push({ req, at: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Starts writers on what is queued when the batch is full enough or the window has passed. */
  private schedule(): void {
    while (this.running < this.writers && this.queue.length) {
      // The window opens with the first queued send, or when a writer came free if later.
      const wait = Math.max(this.queue[0]!.at, this.freeAt) + this.gatherMs - performance.now();
      if (this.queue.length < Math.min(this.lastSize, MAX_BATCH) && wait > 0) {
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.schedule();
        }, Math.ceil(wait));
        return;
      }
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      // Outside the call of whichever send started it: a batch's transaction and its
      // CheckBlocks call serve every send in it, so one caller's deadline or cancellation
      // must not roll back the others (a send is idempotent: a caller that gave up and
      // retries gets the message that was written).
      const batch = this.queue.splice(0, MAX_BATCH);
      void detached(() => this.run(batch));
    }
  }

  private async run(batch: Pending[]): Promise<void> {
    this.running += 1;
    this.lastSize = batch.length;
    try {
      await this.writeWithRetries(batch);
    } finally {
      this.running -= 1;
      this.freeAt = performance.now();
      this.schedule();
    }
  }

  /**
   * The batch's direct sends checked for blocks with one call: the blocked
   * ones are refused (PermissionDenied), the others returned. A block must
   * stop the very next send, so this is asked for every batch, never remembered.
   */
  private async unblocked(batch: Pending[]): Promise<Pending[]> {
    const pairs = new Map<string, readonly [bigint, bigint]>();
    for (const { req } of batch) {
      if (req.other === undefined) continue;
      const [lo, hi] = req.me < req.other ? [req.me, req.other] : [req.other, req.me];
      pairs.set(`${lo}/${hi}`, [lo, hi]);
    }
    if (pairs.size === 0) return batch;
    const keys = [...pairs.keys()];
    const answers = await this.d.checkBlocks([...pairs.values()]);
    const blocked = new Set(keys.filter((_, i) => answers[i]));
    if (blocked.size === 0) return batch;
    return batch.filter((p) => {
      const { me, other } = p.req;
      if (other === undefined || !blocked.has(me < other ? `${me}/${other}` : `${other}/${me}`)) return true;
      p.reject(new ConnectError("you cannot message this user", Code.PermissionDenied));
      return false;
    });
  }

  private async writeWithRetries(all: Pending[]): Promise<void> {
    let batch: Pending[];
    try {
      batch = await this.unblocked(all);
    } catch (err) {
      for (const p of all) p.reject(err);
      return;
    }
    if (batch.length === 0) return;
    for (let attempt = 1; ; attempt++) {
      try {
        const outcomes = await this.write(batch.map((p) => p.req));
        batch.forEach((p, i) => {
          const o = outcomes[i]!;
          if (o instanceof Error) p.reject(o);
          else p.resolve(o);
        });
        return;
      } catch (err) {
        if (isDeadlock(err) && attempt < DEADLOCK_RETRIES) continue;
        for (const p of batch) p.reject(err);
        return;
      }
    }
  }

  /** Writes the batch in one transaction; an outcome (or an Error) per request, in order. */
  async write(reqs: readonly SendRequest[]): Promise<(SendOutcome | Error)[]> {
    const d = this.d;
    this.stats.batches += 1;
    this.stats.sends += reqs.length;
    sendTotals.batches += 1;
    sendTotals.sends += reqs.length;
    return d.db.transaction(async (tx) => {
      const convIds = [...new Set(reqs.map((r) => r.conversationId))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const inList = convIds.map(() => "?").join(", ");
      if (tx.dialect === "mysql") {
        await tx.allValues(`SELECT id FROM chat_conversations WHERE id IN (${inList}) ORDER BY id FOR UPDATE`, convIds);
      }
      const convs = new Map((await d.convs.with(tx).getMany(convIds.map((id) => ({ id })))).map((c) => [c.id, c]));
      const members = new Map<bigint, bigint[]>();
      for (const [c, u] of await tx.allValues(
        `SELECT conversation_id, user_id FROM chat_members WHERE conversation_id IN (${inList}) AND active = 1`,
        convIds,
      )) {
        const id = BigInt(c as number | bigint);
        let list = members.get(id);
        if (!list) members.set(id, (list = []));
        list.push(BigInt(u as number | bigint));
      }
      const sent = await this.recorded(tx, reqs);
      const outcomes: (SendOutcome | Error)[] = [];
      const rows: ChatMessageRow[] = [];
      const sendRows: ChatSendRowInit[] = [];
      const changeRows: ChatChangeRowInit[] = [];
      const updates = new Map<bigint, ChatUpdate[]>();
      const pointers = new Map<string, { conv: bigint; user: bigint; seq: bigint; id: bigint }>();
      const now = BigInt(Date.now());
      for (const req of reqs) {
        const conv = convs.get(req.conversationId);
        if (!conv) {
          outcomes.push(new ConnectError("conversation not found", Code.NotFound));
          continue;
        }
        if (!members.get(conv.id)?.includes(req.me)) {
          outcomes.push(new ConnectError("you are no longer a member of this conversation", Code.PermissionDenied));
          continue;
        }
        const key = `${conv.id}/${req.me}/${req.clientMessageId}`;
        const before = sent.get(key);
        if (before !== undefined) {
          outcomes.push(before);
          continue;
        }
        const id = d.ids.next();
        const seq = conv.messageSeq + 1n;
        const row = create(ChatMessageRowSchema, {
          conversationId: conv.id,
          bucket: bucketOf(id),
          messageId: id,
          senderId: req.me,
          seq,
          text: req.text,
          mediaIds: [...req.mediaIds],
          replyToId: req.replyToId,
          clientMessageId: req.clientMessageId,
          createdAtMs: now,
        });
        const message = toMessage(row);
        rows.push(row);
        sent.set(key, id);
        sendRows.push({
          conversationId: conv.id,
          senderId: req.me,
          clientMessageId: req.clientMessageId,
          messageId: id,
        });
        conv.messageSeq = seq;
        conv.activityId = id;
        conv.lastMessage = message;
        conv.seq += 1n;
        const update = create(ChatUpdateSchema, {
          conversationId: conv.id,
          seq: BigInt(conv.seq),
          atMs: now,
          actorId: req.me,
          change: { case: "messageSent", value: message },
        });
        changeRows.push({ conversationId: conv.id, seq: conv.seq, onlyUserId: 0n, payload: update, atMs: now });
        let list = updates.get(conv.id);
        if (!list) updates.set(conv.id, (list = []));
        list.push(update);
        // Sending reads the conversation up to here.
        pointers.set(`${conv.id}/${req.me}`, { conv: conv.id, user: req.me, seq, id });
        outcomes.push(message);
      }
      if (rows.length === 0) return outcomes;
      await d.messages.putMany(tx, rows);
      await d.sends.with(tx).insertMany(sendRows);
      await d.changes.with(tx).insertMany(changeRows);
      await d.convs.with(tx).upsertMany([...updates.keys()].map((id) => convs.get(id)!));
      await this.movePointers(tx, [...pointers.values()]);
      await d.push.toUsersMany(
        tx,
        [...updates].map(([conv, list]) => ({ userIds: members.get(conv)!, update: batchUpdate(list) })),
      );
      return outcomes;
    });
  }

  /** Client ids of the batch already recorded: "conv/sender/client id" → message id. */
  private async recorded(tx: SqlTx, reqs: readonly SendRequest[]): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>();
    for (let i = 0; i < reqs.length; i += 200) {
      const chunk = reqs.slice(i, i + 200);
      const where = chunk.map(() => "(conversation_id = ? AND sender_id = ? AND client_message_id = ?)").join(" OR ");
      const params: SqlValue[] = chunk.flatMap((r) => [r.conversationId, r.me, r.clientMessageId]);
      for (const [c, s, m, id] of await tx.allValues(
        `SELECT conversation_id, sender_id, client_message_id, message_id FROM chat_sends WHERE ${where}`,
        params,
      )) {
        out.set(
          `${BigInt(c as number | bigint)}/${BigInt(s as number | bigint)}/${String(m)}`,
          BigInt(id as number | bigint),
        );
      }
    }
    return out;
  }

  /** The senders' read and delivery pointers to their last message, in one statement. */
  private async movePointers(
    tx: SqlTx,
    ps: readonly { conv: bigint; user: bigint; seq: bigint; id: bigint }[],
  ): Promise<void> {
    const when = (pick: (p: (typeof ps)[number]) => bigint) => {
      const params: SqlValue[] = [];
      const sql = ps
        .map((p) => {
          params.push(p.conv, p.user, pick(p));
          return "WHEN conversation_id = ? AND user_id = ? THEN ?";
        })
        .join(" ");
      return { sql: `CASE ${sql} END`, params };
    };
    const read = when((p) => p.seq);
    const readId = when((p) => p.id);
    const delivered = when((p) => p.seq);
    const where = ps.map(() => "(conversation_id = ? AND user_id = ?)").join(" OR ");
    await tx.run(
      `UPDATE chat_members SET read_seq = ${read.sql}, read_message_id = ${readId.sql}, delivered_seq = ${delivered.sql} WHERE ${where}`,
      [...read.params, ...readId.params, ...delivered.params, ...ps.flatMap((p) => [p.conv, p.user])],
    );
  }
}
