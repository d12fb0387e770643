/**
 * `npm run bench -- chat [--seconds S] [--inflight N] [--writers W] [--gather-ms G] [--only sqlite|mariadb[,…]]
 *   [--warmup-seconds W] [--direct-only] [--cpu-prof DIR]`
 *
 * Chat sends on SQLite and on MariaDB (a fresh database, dropped at the end),
 * in one run, with a bundle running `chat` (and the user service) in this
 * process, called over HTTP/2 with Connect clients and real bearer tokens
 * from a process of their own (tools/bench/_chat-load.ts: the users' clients
 * and devices do not take the bundle's core; the CPU per message of both
 * processes is reported):
 *  - 1:1: 100 direct conversations, SendMessage with N in flight (default 64)
 *    spread over them, for S seconds (default 5): messages/s accepted
 *    (committed: message row, conversation, sender's pointers, change log,
 *    dedupe row, and each member's push stream row), p50/p99;
 *  - group: one 100-member group, the same with senders among its members;
 *  - delivered: the bundle runs the push gateway too and every user has one
 *    device on /ws (200 sockets): send→delivered p50/p99 over every delivery
 *    (both users of a pair; the 100 members of the group), deliveries/s.
 * Baselines in the same run, with the same number in flight: the raw driver
 * writing the same rows per message (wide message row, change row, dedupe row,
 * conversation update, sender's member update) in one transaction each, and
 * the raw driver with group commit (the calls of the moment in one
 * transaction, multi-row statements), as the service does; `ratio` is 1:1
 * against the first, `ratioGroupCommit` against the second (100 conversations),
 * `groupRatioGroupCommit` the group against raw group commit on one conversation.
 * Goal: ≥ 5,000 messages/s accepted on MariaDB (1:1) with p99 send→delivered ≤ 100 ms.
 *
 * `--writers` and `--gather-ms` set --chat-send-writers and --chat-send-gather-ms;
 * `--warmup-seconds W` (default 1): 1:1 sends before measuring, not counted;
 * `--direct-only`: the 1:1 phase alone (quick direction runs);
 * `--cpu-prof DIR`: this process (the bundle) is profiled during the
 * 1:1 phase only; the profile is written to DIR and summarized (_cpu-profile.ts).
 */
import { fork } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { ChatUpdateSchema, MessageSchema } from "../../gen/orbit/chat/v1/chat_pb.js";
import { ChatMessageRowTable } from "../../gen/orbit/chat/v1/tables_wide.js";
import type { SqlDb } from "../../platform/storage/driver.js";
import { openSqlStore } from "../../platform/storage/open.js";
import { wideSql } from "../../platform/storage/wide/sql-text.js";
import { chatUsers, startChatBundle } from "../../test/support/chat-client.js";
import { IdGenerator } from "../../platform/ids.js";
import { bucketOf } from "../../services/chat/messages.js";
import { sendTotals } from "../../services/chat/sends.js";
import type { ChatDriveResult, ChatFigures, ChatLoadCommand } from "./_chat-load.js";
import { summarize } from "./_cpu-profile.js";
import { drive, fmt } from "./_measure.js";
import { scratchMysql } from "./_mysql-db.js";

type Figures = ChatFigures;

/** The clients' process (_chat-load.ts): one command at a time. */
class Load {
  private readonly child = fork(fileURLToPath(new URL("./_chat-load.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    serialization: "advanced", // bigint ids
  });

  ask<T>(c: ChatLoadCommand): Promise<T> {
    return new Promise((resolve, reject) => {
      this.child.once("message", (m: { ok?: T; error?: string }) =>
        m.error !== undefined ? reject(new Error(m.error)) : resolve(m.ok as T),
      );
      this.child.send(c);
    });
  }

  close(): void {
    if (this.child.connected) this.child.disconnect();
  }
}

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}

/** Shared by every raw run: conversation seqs and client ids never repeat. */
const seqs = new Map<bigint, bigint>();
let rawCount = 0;

/** One raw message: the rows an accepted send writes (next seq of its conversation, a fresh client id). */
function rawMessage(ids: IdGenerator, conversations: bigint[], senders: bigint[], j: number) {
  const i = rawCount++;
  const conv = conversations[j % conversations.length]!;
  const sender = senders[j % senders.length]!;
  const id = ids.next();
  const seq = (seqs.get(conv) ?? 0n) + 1n;
  seqs.set(conv, seq);
  const text = `message ${i}`;
  const clientId = `raw-${i}`;
  const msg = create(MessageSchema, {
    id,
    conversationId: conv,
    senderId: sender,
    seq,
    text,
    clientMessageId: clientId,
  });
  const update = toBinary(
    ChatUpdateSchema,
    create(ChatUpdateSchema, { conversationId: conv, seq, change: { case: "messageSent", value: msg } }),
  );
  const wideRow = [
    conv,
    bucketOf(id),
    id,
    sender,
    seq,
    text,
    new Uint8Array(),
    0n,
    clientId,
    BigInt(Date.now()),
    0n,
    0,
    new Uint8Array(),
    0, // hidden
    null,
  ];
  return { conv, sender, id, seq, clientId, wideRow, update, last: toBinary(MessageSchema, msg) };
}

/** The raw driver writing what one accepted send writes, in one transaction. */
function rawSender(db: SqlDb, conversations: bigint[], senders: bigint[]) {
  const ids = new IdGenerator(1023);
  const wide = wideSql(ChatMessageRowTable, db.dialect);
  return async (j: number) => {
    const m = rawMessage(ids, conversations, senders, j);
    await db.transaction(async (tx) => {
      if (tx.dialect === "mysql") await tx.get("SELECT id FROM raw_conversations WHERE id = ? FOR UPDATE", [m.conv]);
      await tx.run(wide.put, m.wideRow);
      await tx.run("INSERT INTO raw_changes (conversation_id, seq, payload) VALUES (?, ?, ?)", [
        m.conv,
        m.seq,
        m.update,
      ]);
      await tx.run(
        "INSERT INTO raw_sends (conversation_id, sender_id, client_message_id, message_id) VALUES (?, ?, ?, ?)",
        [m.conv, m.sender, m.clientId, m.id],
      );
      await tx.run(
        "UPDATE raw_conversations SET seq = seq + 1, message_seq = message_seq + 1, last_message = ? WHERE id = ?",
        [m.last, m.conv],
      );
      await tx.run("UPDATE raw_members SET read_seq = ? WHERE conversation_id = ? AND user_id = ?", [
        m.seq,
        m.conv,
        m.sender,
      ]);
    });
  };
}

/**
 * The raw driver with group commit, the service's design without the service:
 * calls that arrive while a transaction runs wait and are written together in
 * the next one (at most 256), with multi-row statements (lock the
 * conversations, the wide rows, the change rows, the dedupe rows, one upsert
 * of the conversations, one of the senders' pointers), `writers` batches in
 * flight as the service's --chat-send-writers; each call is answered after
 * the commit that holds its message.
 */
function rawGroupSender(db: SqlDb, conversations: bigint[], senders: bigint[], writers: number) {
  const ids = new IdGenerator(1022);
  const wide = wideSql(ChatMessageRowTable, db.dialect);
  type Raw = ReturnType<typeof rawMessage>;
  let queue: { m: Raw; done: (err?: unknown) => void }[] = [];
  let running = 0;
  const tuples = (n: number, one: string) => new Array<string>(n).fill(one).join(", ");
  const write = async (ms: Raw[]) => {
    await db.transaction(async (tx) => {
      const convs = [...new Set(ms.map((m) => m.conv))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (tx.dialect === "mysql") {
        await tx.allValues(
          `SELECT id FROM raw_conversations WHERE id IN (${tuples(convs.length, "?")}) ORDER BY id FOR UPDATE`,
          convs,
        );
      }
      await tx.run(
        wide.putRows(ms.length),
        ms.flatMap((m) => m.wideRow),
      );
      await tx.run(
        `INSERT INTO raw_changes (conversation_id, seq, payload) VALUES ${tuples(ms.length, "(?, ?, ?)")}`,
        ms.flatMap((m) => [m.conv, m.seq, m.update]),
      );
      await tx.run(
        `INSERT INTO raw_sends (conversation_id, sender_id, client_message_id, message_id) VALUES ${tuples(ms.length, "(?, ?, ?, ?)")}`,
        ms.flatMap((m) => [m.conv, m.sender, m.clientId, m.id]),
      );
      // One upsert each for the conversations (seq, last message) and the senders' pointers.
      const lastOf = new Map(ms.map((m) => [m.conv, m]));
      const upsert = (key: string, set: string[]) =>
        tx.dialect === "mysql"
          ? ` ON DUPLICATE KEY UPDATE ${set.map((c) => `${c} = VALUES(${c})`).join(", ")}`
          : ` ON CONFLICT (${key}) DO UPDATE SET ${set.map((c) => `${c} = excluded.${c}`).join(", ")}`;
      await tx.run(
        `INSERT INTO raw_conversations (id, seq, message_seq, last_message) VALUES ${tuples(convs.length, "(?, ?, ?, ?)")}` +
          upsert("id", ["seq", "message_seq", "last_message"]),
        convs.flatMap((c) => {
          const m = lastOf.get(c)!;
          return [c, m.seq, m.seq, m.last];
        }),
      );
      const pointers = [...new Map(ms.map((m) => [`${m.conv}/${m.sender}`, m])).values()];
      await tx.run(
        `INSERT INTO raw_members (conversation_id, user_id, read_seq) VALUES ${tuples(pointers.length, "(?, ?, ?)")}` +
          upsert("conversation_id, user_id", ["read_seq"]),
        pointers.flatMap((m) => [m.conv, m.sender, m.seq]),
      );
    });
  };
  const drain = async () => {
    running += 1;
    while (queue.length) {
      const batch = queue.slice(0, 256);
      queue = queue.slice(256);
      try {
        await write(batch.map((b) => b.m));
        for (const b of batch) b.done();
      } catch (err) {
        for (const b of batch) b.done(err);
      }
    }
    running -= 1;
  };
  return (j: number) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ m: rawMessage(ids, conversations, senders, j), done: (err) => (err ? reject(err) : resolve()) });
      if (running < writers) void drain();
    });
}

async function rawTables(db: SqlDb, conversations: bigint[], senders: bigint[]): Promise<void> {
  const blob = db.dialect === "mysql" ? "LONGBLOB" : "BLOB";
  await db.exec(
    `CREATE TABLE raw_changes (conversation_id BIGINT NOT NULL, seq BIGINT NOT NULL, payload ${blob}, PRIMARY KEY (conversation_id, seq))`,
  );
  await db.exec(
    "CREATE TABLE raw_sends (conversation_id BIGINT NOT NULL, sender_id BIGINT NOT NULL, client_message_id VARCHAR(64) NOT NULL, message_id BIGINT NOT NULL, PRIMARY KEY (conversation_id, sender_id, client_message_id))",
  );
  await db.exec(
    `CREATE TABLE raw_conversations (id BIGINT NOT NULL PRIMARY KEY, seq BIGINT NOT NULL, message_seq BIGINT NOT NULL, last_message ${blob})`,
  );
  await db.exec(
    "CREATE TABLE raw_members (conversation_id BIGINT NOT NULL, user_id BIGINT NOT NULL, read_seq BIGINT NOT NULL, PRIMARY KEY (conversation_id, user_id))",
  );
  for (const c of conversations)
    await db.run("INSERT INTO raw_conversations (id, seq, message_seq) VALUES (?, 0, 0)", [c]);
  for (const c of conversations)
    for (const u of senders)
      await db.run("INSERT INTO raw_members (conversation_id, user_id, read_seq) VALUES (?, ?, 0)", [c, u]);
}

interface Options {
  readonly seconds: number;
  readonly inflight: number;
  readonly writers: number;
  readonly gatherMs: number | undefined;
  readonly cpuProf: string | undefined;
  /** `--direct-only`: the 1:1 phase alone (no group, no raw baselines), for quick direction runs. */
  readonly directOnly: boolean;
  /** `--warmup-seconds` (default 1): 1:1 sends before the measured phases, not counted. */
  readonly warmupSeconds: number;
}

/** Profiles `fn` (this process) when `dir` is set: the profile goes to dir/<label>.cpuprofile, summarized. */
async function profiled<T>(dir: string | undefined, label: string, fn: () => Promise<T>): Promise<T> {
  if (!dir) return fn();
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  try {
    return await fn();
  } finally {
    const { profile } = await session.post("Profiler.stop");
    session.disconnect();
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${label}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    console.log(`  CPU profile ${file} (the bundle):`);
    console.log(summarize(profile as Parameters<typeof summarize>[0], 30));
  }
}

async function engine(name: string, db: SqlDb, o: Options) {
  const { seconds, inflight, writers } = o;
  // 200 sockets and 200 clients from one address: no per-address cap here.
  // Every user signs up from this one address: the per-address sign-up limit is off here.
  const bundle = await startChatBundle(
    db,
    {},
    {
      services: ["chat", "push"],
      maxConnectionsPerAddress: 0,
      settings: {
        user: { scryptLogN: 10, signUpPerAddress: 0 },
        chat: { sendWriters: writers, ...(o.gatherMs !== undefined ? { sendGatherMs: o.gatherMs } : {}) },
      },
    },
  );
  const url = bundle.url!;
  // The users' clients and devices run in a process of their own: this one is the bundle's.
  const load = new Load();
  try {
    const users = await chatUsers(url, `b${process.pid}_`, 200);
    await load.ask({ op: "setup", url, users: users.map((u) => ({ id: u.id, token: u.token })) });
    // 1:1: user 2k talks to 2k+1.
    const pairs: { a: number; b: number; conv: bigint }[] = [];
    for (let k = 0; k < 100; k++) {
      const a = users[2 * k]!;
      const b = users[2 * k + 1]!;
      pairs.push({ a: 2 * k, b: 2 * k + 1, conv: (await a.chat.openDirect({ userId: b.id })).conversation!.id });
    }
    // Warm-up (not measured): the first sends compile the hot paths and fill the caches.
    if (o.warmupSeconds > 0) {
      await load.ask({ op: "drive", phase: "warmup", seconds: o.warmupSeconds, inflight, pairs });
    }
    const before = { ...sendTotals };
    const cpu0 = process.cpuUsage();
    const directRun = await profiled(o.cpuProf, `${name}-1to1`, () =>
      load.ask<ChatDriveResult>({ op: "drive", phase: "direct", seconds, inflight, pairs }),
    );
    const direct = directRun.figures;
    // CPU per accepted message of this process (the bundle) and of the clients' process.
    const cpu = process.cpuUsage(cpu0);
    const cpuUsPerMessage = Math.round((cpu.user + cpu.system) / direct.sent);
    const clientCpuUsPerMessage = Math.round((directRun.cpuMs * 1000) / direct.sent);
    const batches = sendTotals.batches - before.batches;
    const sendsPerBatch = +((sendTotals.sends - before.sends) / batches).toFixed(1);
    if (o.directOnly) {
      console.log(
        `${name.padEnd(8)} 1:1 SendMessage ${fmt(direct.perSec)} msg/s  p50 ${direct.p50Ms} ms  p99 ${direct.p99Ms} ms  delivered p50 ${direct.delivered!.p50Ms} ms  p99 ${direct.delivered!.p99Ms} ms  (${fmt(direct.sent)} sent; ${batches} batches, ${sendsPerBatch} sends each; ${cpuUsPerMessage} µs bundle CPU/message, clients ${clientCpuUsPerMessage} µs)`,
      );
      return { direct, sendsPerBatch, cpuUsPerMessage, clientCpuUsPerMessage };
    }
    const members = users.slice(0, 100);
    const g = (await members[0]!.chat.createGroup({ title: "bench", memberIds: members.slice(1).map((u) => u.id) }))
      .conversation!.id;
    const group = (
      await load.ask<ChatDriveResult>({
        op: "drive",
        phase: "group",
        seconds,
        inflight,
        group: { conv: g, members: members.map((_, i) => i) },
      })
    ).figures;
    // Baseline: the same rows through the raw driver.
    const convs = pairs.map((p) => p.conv);
    await rawTables(db, convs, [1n, 2n]);
    const raw = await drive(rawSender(db, convs, [1n, 2n]), seconds, inflight);
    const rawGroup = await drive(rawSender(db, [convs[0]!], [1n, 2n]), seconds, inflight);
    const w = name === "mariadb" ? writers : 1;
    const rawBatched = await drive(rawGroupSender(db, convs, [1n, 2n], w), seconds, inflight);
    const rawBatchedGroup = await drive(rawGroupSender(db, [convs[0]!], [1n, 2n], w), seconds, inflight);
    const row = (label: string, f: Figures) =>
      console.log(
        `${name.padEnd(8)} ${label.padEnd(28)} ${fmt(f.perSec).padStart(7)} msg/s  p50 ${f.p50Ms} ms  p99 ${f.p99Ms} ms  (${fmt(f.sent)} sent)`,
      );
    row("1:1 SendMessage", direct);
    console.log(
      `${name.padEnd(8)} 1:1 ${batches} send batches, ${sendsPerBatch} sends each; CPU per message: bundle ${cpuUsPerMessage} µs, clients (their own process) ${clientCpuUsPerMessage} µs`,
    );
    row("100-member SendMessage", group);
    row("raw rows, 100 conversations", raw);
    row("raw rows, 1 conversation", rawGroup);
    row("raw group commit, 100 conv.", rawBatched);
    row("raw group commit, 1 conv.", rawBatchedGroup);
    const r = (a: Figures, b: Figures) => +(a.perSec / b.perSec).toFixed(3);
    return {
      direct,
      sendsPerBatch,
      cpuUsPerMessage,
      clientCpuUsPerMessage,
      group,
      raw,
      rawGroup,
      rawBatched,
      rawBatchedGroup,
      // 1:1 against the raw writes of one message per transaction, and against raw group commit.
      ratio: r(direct, raw),
      ratioGroupCommit: r(direct, rawBatched),
      groupRatioGroupCommit: r(group, rawBatchedGroup),
    };
  } finally {
    await load.ask({ op: "close" }).catch(() => undefined);
    load.close();
    await bundle.stop();
  }
}

export async function main(args: string[]): Promise<void> {
  const seconds = Number(arg(args, "--seconds", "5"));
  const inflight = Number(arg(args, "--inflight", "64"));
  const writers = Number(arg(args, "--writers", "1"));
  const gather = arg(args, "--gather-ms", "");
  const cpuProf = arg(args, "--cpu-prof", "") || undefined;
  const o: Options = {
    seconds,
    inflight,
    writers,
    gatherMs: gather === "" ? undefined : Number(gather),
    cpuProf,
    directOnly: args.includes("--direct-only"),
    warmupSeconds: Number(arg(args, "--warmup-seconds", "1")),
  };
  const only = arg(args, "--only", "sqlite,mariadb").split(",");
  const out: Record<string, unknown> = {};
  if (only.includes("sqlite")) {
    const dir = mkdtempSync(join(tmpdir(), "orbit-bench-chat-"));
    const db = openSqlStore(`sqlite:${join(dir, "orbit.db")}`);
    try {
      out.sqlite = await engine("sqlite", db, o);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (only.includes("mariadb")) {
    const scratch = await scratchMysql(`orbit_bench_chat_${process.pid}`, { pool: 32 });
    try {
      out.mariadb = await engine("mariadb", scratch.db, o);
    } finally {
      await scratch.dispose();
    }
  }
  const m = out.mariadb as { direct: Figures } | undefined;
  const goals = m
    ? {
        mariadb5000PerSec: m.direct.perSec >= 5000,
        mariadbP99Under100Ms: (m.direct.delivered?.p99Ms ?? m.direct.p99Ms) <= 100,
      }
    : {};
  console.log(JSON.stringify({ scenario: "chat", seconds, inflight, writers, ...out, goals }));
}
