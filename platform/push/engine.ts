/**
 * The push machinery of one process (knows nothing of the kernel): appends
 * to users' durable streams, delivers to the device sessions connected here,
 * fans out through the broker to other processes, keeps channel members and
 * presence, and asks the services that own a channel prefix whether a user
 * may join.
 *
 * Delivery of a durable update: the append commits (in the caller's
 * transaction), then the update goes to this process's sessions of each user
 * and, with a broker, to every other process, which hands it to its own. A
 * message lost on the way is harmless (session.ts reads gaps from the store).
 */
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { BrokerMessageSchema, type BrokerMessage } from "../../gen/orbit/push/v1/broker_pb.js";
import type { Logger } from "../log.js";
import type { SqlDb, SqlTx } from "../storage/driver.js";
import type { Broker } from "./broker.js";
import { control, encodePayload, frame, type PayloadInit } from "./codec.js";
import type { DeviceSession } from "./session.js";
import { PushStore } from "./store.js";

/** "room:12", "conv:7": a prefix of lowercase letters, digits, "-" and "_", a colon, then an id. */
export const CHANNEL = /^([a-z][a-z0-9_-]{0,31}):([A-Za-z0-9_.:=-]{1,100})$/;

export type ChannelAuthorizer = (userId: bigint, channel: string) => Promise<boolean>;

export interface ChannelMember {
  readonly userId: bigint;
  readonly sinceMs: number;
}

export interface PushEngineOptions {
  readonly db: SqlDb;
  readonly log: Logger;
  /** Unique per process: "<host>/<node>/<pid>". */
  readonly origin: string;
  readonly broker?: Broker;
  /** How long a remote channel authorization may take. */
  readonly authTimeoutMs?: number;
}

/**
 * How long connections with a revoked session are refused here: longer than
 * a remote token check remembers its answer (services/user/sessions.ts, 5 s).
 */
const REFUSE_ENDED_MS = 60_000;

/** Thrown by `mayJoin` for a malformed channel name. */
export class ChannelNameError extends Error {}

export class PushEngine {
  readonly store = new PushStore();
  readonly db: SqlDb;
  readonly log: Logger;
  readonly origin: string;
  readonly broker: Broker | undefined;
  private readonly users = new Map<bigint, Set<DeviceSession>>();
  /** channel → session → since (ms). */
  private readonly channels = new Map<string, Map<DeviceSession, number>>();
  private readonly authorizers = new Map<string, ChannelAuthorizer>();
  private readonly pendingAuth = new Map<string, (allowed: boolean) => void>();
  private readonly authTimeoutMs: number;
  private authCounter = 0;
  private stopped = false;
  /** Sessions ended lately → until when (ms) a connection with them is refused. */
  private readonly ended = new Map<bigint, number>();

  constructor(opts: PushEngineOptions) {
    this.db = opts.db;
    this.log = opts.log;
    this.origin = opts.origin;
    this.broker = opts.broker;
    this.authTimeoutMs = opts.authTimeoutMs ?? 3_000;
  }

  /** Connects the broker (if any). */
  async start(): Promise<void> {
    await this.broker?.start(
      (m) => this.fromBroker(m),
      () => this.afterBrokerOutage(),
    );
  }

  async close(): Promise<void> {
    this.stopped = true;
    for (const resolve of this.pendingAuth.values()) resolve(false);
    this.pendingAuth.clear();
    await this.broker?.close();
  }

  // ── what services call (ctx.push) ──────────────────────────────────────

  /** Appends `payload` to each user's stream (in `tx`, or a transaction of its own), then delivers it. */
  async toUsers(tx: SqlTx | undefined, userIds: readonly bigint[], payload: PayloadInit): Promise<void> {
    if (userIds.length === 0) return;
    const bytes = encodePayload(payload);
    const atMs = BigInt(Date.now());
    const append = async (t: SqlTx) => {
      const r = await this.store.append(t, userIds, atMs, bytes);
      t.afterCommit(() => this.appended(r.userIds, r.sequences, atMs, bytes, true));
    };
    if (tx) await append(tx);
    else await this.db.transaction(append);
  }

  /**
   * Several durable updates, each to its own users, appended together in `tx`
   * (a few statements whatever their number), then delivered in order.
   */
  async toUsersMany(
    tx: SqlTx | undefined,
    entries: readonly { readonly userIds: readonly bigint[]; readonly payload: PayloadInit }[],
  ): Promise<void> {
    const encoded = entries
      .filter((e) => e.userIds.length > 0)
      .map((e) => ({ userIds: e.userIds, payload: encodePayload(e.payload) }));
    if (encoded.length === 0) return;
    const atMs = BigInt(Date.now());
    const append = async (t: SqlTx) => {
      const rs = await this.store.appendMany(t, encoded, atMs);
      t.afterCommit(() => rs.forEach((r, i) => this.appended(r.userIds, r.sequences, atMs, encoded[i]!.payload, true)));
    };
    if (tx) await append(tx);
    else await this.db.transaction(append);
  }

  /** Sends an update to every session in `channel`, here and elsewhere; never stored. */
  async ephemeral(channel: string, payload: PayloadInit): Promise<void> {
    if (!CHANNEL.test(channel)) throw new ChannelNameError(`bad channel name ${JSON.stringify(channel)}`);
    const bytes = frame(0n, BigInt(Date.now()), encodePayload(payload, channel));
    this.toChannel(channel, bytes);
    this.publish({ case: "ephemeral", value: { channel, update: bytes } });
  }

  /** Who is in `channel` (earliest join per user), across processes when the broker shares presence. */
  async presence(channel: string): Promise<ChannelMember[]> {
    const byUser = new Map<bigint, number>();
    for (const [s, since] of this.channels.get(channel) ?? []) {
      const prev = byUser.get(s.userId);
      if (prev === undefined || since < prev) byUser.set(s.userId, since);
    }
    const shared = this.broker?.presence;
    if (shared && this.broker?.connected) {
      try {
        for (const [u, since] of await shared.members(channel)) {
          const prev = byUser.get(u);
          if (prev === undefined || since < prev) byUser.set(u, since);
        }
      } catch (err) {
        this.log.warn({ err, channel }, "push: shared presence could not be read; answering with this process's");
      }
    }
    return [...byUser].map(([userId, sinceMs]) => ({ userId, sinceMs })).sort((a, b) => a.sinceMs - b.sinceMs);
  }

  /** A service decides who may join channels with `prefix`. */
  authorizeChannels(prefix: string, may: ChannelAuthorizer): void {
    if (!/^[a-z][a-z0-9_-]{0,31}$/.test(prefix)) throw new Error(`bad channel prefix ${JSON.stringify(prefix)}`);
    if (this.authorizers.has(prefix))
      throw new Error(`channel prefix ${prefix} is already authorized by another service`);
    this.authorizers.set(prefix, may);
  }

  // ── the gateway's side ─────────────────────────────────────────────────

  /** Whether `userId` may join `channel`: the prefix's authorizer here, else one in another process (broker). */
  async mayJoin(userId: bigint, channel: string): Promise<boolean> {
    const m = CHANNEL.exec(channel);
    if (!m) throw new ChannelNameError(`bad channel name ${JSON.stringify(channel)}`);
    const local = this.authorizers.get(m[1]!);
    if (local) return local(userId, channel);
    if (!this.broker?.connected) return false;
    const requestId = `${this.origin}#${++this.authCounter}`;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.pendingAuth.delete(requestId);
        resolve(false);
      }, this.authTimeoutMs);
      this.pendingAuth.set(requestId, (allowed) => {
        clearTimeout(timer);
        this.pendingAuth.delete(requestId);
        resolve(allowed);
      });
      this.publish({ case: "authRequest", value: { requestId, prefix: m[1]!, channel, userId } });
    });
  }

  attach(s: DeviceSession): void {
    let set = this.users.get(s.userId);
    if (!set) {
      this.users.set(s.userId, (set = new Set()));
      void this.broker?.presence?.setOnline(s.userId, true).catch(() => undefined);
    }
    set.add(s);
  }

  detach(s: DeviceSession): void {
    for (const c of [...s.channels]) this.leave(s, c);
    const set = this.users.get(s.userId);
    if (!set?.delete(s) || set.size > 0) return;
    this.users.delete(s.userId);
    void this.broker?.presence?.setOnline(s.userId, false).catch(() => undefined);
    if (this.stopped) return;
    this.store.touch(this.db, [s.userId], BigInt(Date.now())).catch((err) => {
      this.log.warn({ err, userId: String(s.userId) }, "push: last-seen time not recorded");
    });
  }

  /** Sessions of a user connected here. */
  sessionsOf(userId: bigint): ReadonlySet<DeviceSession> {
    return this.users.get(userId) ?? new Set();
  }

  /** Every session connected here. */
  *sessions(): Iterable<DeviceSession> {
    for (const set of this.users.values()) yield* set;
  }

  get sessionCount(): number {
    let n = 0;
    for (const set of this.users.values()) n += set.size;
    return n;
  }

  /** Adds `s` to `channel` (already authorized); tells the members when the user was not in it yet. */
  join(s: DeviceSession, channel: string): void {
    if (s.channels.has(channel)) return;
    let members = this.channels.get(channel);
    if (!members) this.channels.set(channel, (members = new Map()));
    const first = !this.userIn(members, s.userId);
    const since = Date.now();
    members.set(s, since);
    s.channels.add(channel);
    void this.broker?.presence?.add(channel, s.id, s.userId, since).catch(() => undefined);
    if (first) this.presenceChanged(channel, s.userId, true, since);
  }

  leave(s: DeviceSession, channel: string): void {
    const members = this.channels.get(channel);
    if (!members?.delete(s)) return;
    s.channels.delete(channel);
    if (members.size === 0) this.channels.delete(channel);
    void this.broker?.presence?.remove(channel, s.id).catch(() => undefined);
    if (!this.userIn(members, s.userId)) this.presenceChanged(channel, s.userId, false, Date.now());
  }

  /**
   * Takes a user's connections out of `channel`, here and (through the broker) elsewhere: each
   * is sent Left{channel, reason}, and the channel's members a PresenceChange (a user who left a
   * room). The user may join again if the channel's owner allows it.
   */
  removeFromChannel(channel: string, userId: bigint, reason: string): void {
    this.removedHere(channel, userId, reason);
    this.publish({ case: "removed", value: { channel, userId, reason } });
  }

  private removedHere(channel: string, userId: bigint, reason: string): void {
    for (const s of [...(this.users.get(userId) ?? [])]) {
      if (!s.channels.has(channel)) continue;
      this.leave(s, channel);
      s.push(control({ case: "left", value: { channel, reason } }));
    }
  }

  /** Whether the users have a connection open (here, or on any gateway with shared presence). */
  async online(userIds: readonly bigint[]): Promise<Set<bigint>> {
    const out = new Set(userIds.filter((u) => this.users.has(u)));
    const shared = this.broker?.presence;
    if (shared && this.broker?.connected && out.size < userIds.length) {
      try {
        for (const u of await shared.online(userIds)) out.add(u);
      } catch (err) {
        this.log.warn({ err }, "push: shared presence could not be read");
      }
    }
    return out;
  }

  /**
   * Closes every connection of a session, here and (through the broker)
   * elsewhere, and refuses new ones with it for a while (a bundle that checks
   * tokens remotely remembers an answer for a few seconds).
   */
  revokeSession(userId: bigint, sessionId: bigint, reason = "the session was revoked"): void {
    this.revokedHere(userId, sessionId, reason);
    this.publish({ case: "revoked", value: { userId, sessionId, reason } });
  }

  /** Whether `sessionId` was revoked lately (a connection with it must be refused). */
  isRevoked(sessionId: bigint | undefined): boolean {
    if (sessionId === undefined) return false;
    const until = this.ended.get(sessionId);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.ended.delete(sessionId);
    return false;
  }

  /** After the broker was down: sessions may have missed updates; read their streams again. */
  afterBrokerOutage(): void {
    this.log.info({ sessions: this.sessionCount }, "push: broker is back; catching sessions up from the store");
    for (const s of this.sessions()) s.refresh();
  }

  // ── internals ──────────────────────────────────────────────────────────

  private userIn(members: Map<DeviceSession, number>, userId: bigint): boolean {
    for (const m of members.keys()) if (m.userId === userId) return true;
    return false;
  }

  private presenceChanged(channel: string, userId: bigint, online: boolean, sinceMs: number): void {
    const bytes = frame(
      0n,
      BigInt(sinceMs),
      encodePayload({ case: "presence", value: { channel, userId, online, sinceMs: BigInt(sinceMs) } }, channel),
    );
    this.toChannel(channel, bytes);
    this.publish({ case: "ephemeral", value: { channel, update: bytes } });
  }

  private appended(userIds: bigint[], sequences: bigint[], atMs: bigint, payload: Uint8Array, publish: boolean): void {
    for (let i = 0; i < userIds.length; i++) {
      const set = this.users.get(userIds[i]!);
      if (!set) continue;
      const framed = frame(sequences[i]!, atMs, payload);
      for (const s of set) s.onDurable(sequences[i]!, framed);
    }
    if (publish) this.publish({ case: "durable", value: { userIds, sequences, atMs, payload } });
  }

  private toChannel(channel: string, bytes: Uint8Array): void {
    const members = this.channels.get(channel);
    if (!members) return;
    for (const s of members.keys()) s.push(bytes);
  }

  private revokedHere(userId: bigint, sessionId: bigint, reason: string): void {
    const now = Date.now();
    if (this.ended.size >= 100_000) {
      for (const [id, until] of this.ended) if (until <= now) this.ended.delete(id);
      // Still full: the oldest entries go (a Map iterates in insertion order).
      for (const id of this.ended.keys()) {
        if (this.ended.size < 90_000) break;
        this.ended.delete(id);
      }
    }
    this.ended.set(sessionId, now + REFUSE_ENDED_MS);
    for (const s of [...(this.users.get(userId) ?? [])]) {
      if (s.sessionId === sessionId) s.close("revoked", reason);
    }
  }

  private publish(kind: MessageInitShape<typeof BrokerMessageSchema>["kind"]): void {
    if (!this.broker) return;
    const keep = kind?.case === "durable" || kind?.case === "revoked";
    this.broker.publish(
      toBinary(BrokerMessageSchema, create(BrokerMessageSchema, { origin: this.origin, kind })),
      keep,
    );
  }

  private fromBroker(bytes: Uint8Array): void {
    let m: BrokerMessage;
    try {
      m = fromBinary(BrokerMessageSchema, bytes);
    } catch (err) {
      this.log.warn({ err }, "push: a broker message that does not parse");
      return;
    }
    if (m.origin === this.origin) return;
    const k = m.kind;
    switch (k.case) {
      case "durable":
        this.appended(k.value.userIds, k.value.sequences, k.value.atMs, k.value.payload, false);
        break;
      case "ephemeral":
        this.toChannel(k.value.channel, k.value.update);
        break;
      case "removed":
        this.removedHere(k.value.channel, k.value.userId, k.value.reason);
        break;
      case "revoked":
        this.revokedHere(k.value.userId, k.value.sessionId, k.value.reason || "the session was revoked");
        break;
      case "authRequest": {
        const may = this.authorizers.get(k.value.prefix);
        if (!may) break;
        const { requestId, channel, userId } = k.value;
        may(userId, channel).then(
          (allowed) => this.publish({ case: "authReply", value: { requestId, allowed, to: m.origin } }),
          (err) => {
            this.log.warn({ err, channel }, "push: a channel authorizer failed");
            this.publish({ case: "authReply", value: { requestId, allowed: false, to: m.origin } });
          },
        );
        break;
      }
      case "authReply":
        if (k.value.to === this.origin) this.pendingAuth.get(k.value.requestId)?.(k.value.allowed);
        break;
      default:
        break;
    }
  }
}
