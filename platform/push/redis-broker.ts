/**
 * The broker on Redis (ioredis): pub/sub for messages between bundles, and
 * hashes for presence that every bundle can read.
 *
 * Why Redis rather than NATS: push needs two things across bundles, fan-out
 * of messages AND shared presence (who is in a channel, who is online, read
 * by any bundle); Redis gives both with one dependency (pub/sub, hashes with
 * expiring liveness keys), where core NATS has no shared state without
 * JetStream's key-value store. Neither needs to be durable here: the
 * streams are in SQL, and pub/sub only makes delivery immediate.
 *
 * Channels and keys (prefix `orbit:push:`):
 *   orbit:push:bus               the pub/sub channel (BrokerMessage, binary)
 *   orbit:push:node:<origin>     "1", expires after 30 s unless the process refreshes it (liveness)
 *   orbit:push:chan:<channel>    hash: <connection id> → "<user id>:<since ms>"
 *   orbit:push:user:<user id>    hash: <origin> → "1" while the user has a connection there
 * Entries of a process whose node key expired (it crashed) are ignored and
 * removed when read.
 *
 * Outages: publishing never waits (no offline queue); durable messages that
 * could not be published are kept (up to 10,000) and published when the
 * connection is back, and every process reads its sessions' streams again
 * then (PushEngine.afterBrokerOutage), so devices miss nothing.
 */
import { Redis } from "ioredis";
import type { Logger } from "../log.js";
import type { Broker, SharedPresence } from "./broker.js";

const BUS = "orbit:push:bus";
const NODE_TTL_S = 30;
const NODE_REFRESH_MS = 10_000;
const MAX_PENDING = 10_000;

export interface RedisBrokerOptions {
  readonly url: string;
  readonly origin: string;
  readonly log: Logger;
  /** How long the first connection may take before the bundle fails to start. */
  readonly connectTimeoutMs?: number;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "redis://?";
  }
}

export class RedisBroker implements Broker, SharedPresence {
  readonly name: string;
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly log: Logger;
  private readonly origin: string;
  private readonly nodeKey: string;
  private refresh: NodeJS.Timeout | undefined;
  private wasReady = false;
  private down = false;
  private closed = false;
  /** Durable messages that could not be published while the broker was down. */
  private pending: Uint8Array[] = [];
  private readonly connectTimeoutMs: number;

  constructor(opts: RedisBrokerOptions) {
    this.name = redact(opts.url);
    this.log = opts.log;
    this.origin = opts.origin;
    this.nodeKey = `orbit:push:node:${opts.origin}`;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
    const common = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    };
    this.pub = new Redis(opts.url, { ...common, connectionName: "orbit-push-pub" });
    this.sub = new Redis(opts.url, { ...common, connectionName: "orbit-push-sub", autoResubscribe: true });
    for (const c of [this.pub, this.sub]) c.on("error", (err) => this.log.debug({ err }, "push broker: redis error"));
  }

  get presence(): SharedPresence {
    return this;
  }

  get connected(): boolean {
    return this.pub.status === "ready" && this.sub.status === "ready";
  }

  async start(onMessage: (msg: Uint8Array) => void, onReconnect: () => void): Promise<void> {
    this.sub.on("messageBuffer", (_channel: Buffer, message: Buffer) => onMessage(message));
    const timeout = (what: string) =>
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error(`push broker: ${what} ${this.name} not reached in ${this.connectTimeoutMs} ms`)),
          this.connectTimeoutMs,
        ).unref(),
      );
    try {
      await Promise.race([Promise.all([this.pub.connect(), this.sub.connect()]), timeout("redis at")]);
      await this.sub.subscribe(BUS);
    } catch (err) {
      this.pub.disconnect();
      this.sub.disconnect();
      throw new Error(`push broker: cannot use redis at ${this.name}: ${(err as Error).message}`, { cause: err });
    }
    this.wasReady = true;
    await this.beat();
    this.refresh = setInterval(() => void this.beat(), NODE_REFRESH_MS);
    this.refresh.unref();
    // Durable messages appended before the broker was started.
    const early = this.pending;
    this.pending = [];
    for (const m of early) this.publish(m, true);
    const lost = () => {
      if (this.closed || this.down) return;
      this.down = true;
      this.log.warn(
        { broker: this.name },
        "push broker: connection to redis lost; updates stay durable, delivery across bundles waits",
      );
    };
    const back = () => {
      if (this.closed || !this.down || !this.connected) return;
      this.down = false;
      this.log.info({ broker: this.name, pending: this.pending.length }, "push broker: redis is back");
      void this.beat();
      const pending = this.pending;
      this.pending = [];
      for (const m of pending) this.publish(m, true);
      onReconnect();
    };
    for (const c of [this.pub, this.sub]) {
      c.on("close", lost);
      c.on("ready", back);
    }
  }

  publish(msg: Uint8Array, kept = false): void {
    if (this.closed) return;
    const keep = () => {
      if (!kept) return;
      if (this.pending.length >= MAX_PENDING) this.pending.shift();
      this.pending.push(msg);
    };
    if (!this.connected) {
      keep();
      return;
    }
    this.pub.publish(BUS, Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength)).catch(keep);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.refresh);
    if (this.wasReady && this.pub.status === "ready") await this.pub.del(this.nodeKey).catch(() => undefined);
    await Promise.all([
      this.pub.quit().catch(() => this.pub.disconnect()),
      this.sub.quit().catch(() => this.sub.disconnect()),
    ]);
  }

  // ── SharedPresence ─────────────────────────────────────────────────────

  async add(channel: string, conn: string, userId: bigint, sinceMs: number): Promise<void> {
    await this.pub.hset(`orbit:push:chan:${channel}`, conn, `${userId}:${sinceMs}`);
  }

  async remove(channel: string, conn: string): Promise<void> {
    await this.pub.hdel(`orbit:push:chan:${channel}`, conn);
  }

  async members(channel: string): Promise<Map<bigint, number>> {
    const key = `orbit:push:chan:${channel}`;
    const all = await this.pub.hgetall(key);
    const conns = Object.keys(all);
    const alive = await this.aliveOrigins(conns.map(originOf));
    const out = new Map<bigint, number>();
    const dead: string[] = [];
    for (const conn of conns) {
      if (!alive.has(originOf(conn))) {
        dead.push(conn);
        continue;
      }
      const [u, s] = all[conn]!.split(":");
      const userId = BigInt(u!);
      const since = Number(s);
      const prev = out.get(userId);
      if (prev === undefined || since < prev) out.set(userId, since);
    }
    if (dead.length) await this.pub.hdel(key, ...dead).catch(() => undefined);
    return out;
  }

  async setOnline(userId: bigint, online: boolean): Promise<void> {
    const key = `orbit:push:user:${userId}`;
    if (online) await this.pub.hset(key, this.origin, "1");
    else await this.pub.hdel(key, this.origin);
  }

  async online(userIds: readonly bigint[]): Promise<Set<bigint>> {
    const p = this.pub.pipeline();
    for (const u of userIds) p.hkeys(`orbit:push:user:${u}`);
    const results = (await p.exec()) ?? [];
    const origins = results.map(([, r]) => (Array.isArray(r) ? (r as string[]) : []));
    const alive = await this.aliveOrigins(origins.flat());
    const out = new Set<bigint>();
    userIds.forEach((u, i) => {
      if (origins[i]!.some((o) => alive.has(o))) out.add(u);
    });
    return out;
  }

  private async aliveOrigins(origins: readonly string[]): Promise<Set<string>> {
    const unique = [...new Set(origins)];
    if (unique.length === 0) return new Set();
    const flags = await this.pub.mget(...unique.map((o) => `orbit:push:node:${o}`));
    return new Set(unique.filter((_, i) => flags[i] !== null));
  }

  private async beat(): Promise<void> {
    if (this.closed || !this.connected) return;
    await this.pub.set(this.nodeKey, "1", "EX", NODE_TTL_S).catch(() => undefined);
  }
}

/** A connection id is "<origin>.<n>". */
function originOf(conn: string): string {
  const i = conn.lastIndexOf(".");
  return i < 0 ? conn : conn.slice(0, i);
}
