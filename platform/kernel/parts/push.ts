/**
 * The push gateway's platform part: every service's `ctx.push`, in every
 * bundle, whether or not it runs the push service (which serves /ws and
 * Subscribe from the same engine). The durable append works wherever a
 * service calls it: the part's tables (PUSH_TABLES) are migrated by every
 * bundle. Delivery reaches the sessions connected to this process, and with
 * a broker (--redis) those connected to any other (docs/push.md).
 */
import { hostname } from "node:os";
import type { SqlTx } from "../../storage/driver.js";
import type { PayloadInit } from "../../push/codec.js";
import { PushEngine, type ChannelAuthorizer } from "../../push/engine.js";
import { IpcBroker } from "../../push/ipc-broker.js";
import { RedisBroker } from "../../push/redis-broker.js";
import type { ServiceDef } from "../service.js";
import type { PartHost, PlatformPart } from "./index.js";

export type { PayloadInit as UpdatePayload } from "../../push/codec.js";

/** What every service sees as `ctx.push` (the contract: docs/push.md). */
export interface PushView {
  /**
   * Durable: appended to each user's ordered stream (in `tx` when given, so it
   * commits with the caller's write, or in its own transaction), then
   * delivered to every device of each user, in-process or across bundles
   * through the broker.
   */
  toUsers(tx: SqlTx | undefined, userIds: readonly bigint[], payload: PayloadInit): Promise<void>;
  toUser(tx: SqlTx | undefined, userId: bigint, payload: PayloadInit): Promise<void>;
  /** Several durable updates, each to its own users, appended together (in `tx` when given), delivered in order. */
  toUsersMany(
    tx: SqlTx | undefined,
    entries: readonly { readonly userIds: readonly bigint[]; readonly payload: PayloadInit }[],
  ): Promise<void>;
  /** Ephemeral: never stored; to every connection that joined `channel` (e.g. "room:<id>", "conv:<id>"). */
  ephemeral(channel: string, payload: PayloadInit): Promise<void>;
  /** Who is in `channel` now (connections that joined it), across bundles (with --redis). */
  presence(channel: string): Promise<readonly { userId: bigint; sinceMs: number }[]>;
  /** Takes a user's connections out of a channel, on every gateway (each gets Left{channel, reason}). */
  removeFromChannel(channel: string, userId: bigint, reason: string): void;
  /** A service decides who may join channels with its prefix ("room", "conv", …). */
  authorizeChannels(prefix: string, may: (userId: bigint, channelId: string) => Promise<boolean>): void;
}

/** The tables every bundle migrates for the part. */
export { PUSH_TABLES } from "../../push/tables.js";

const ENGINE = Symbol("push engine");

/** The push service's view: the engine behind ctx.push (for the gateway only). */
export function gatewayOf(view: PushView): PushEngine {
  const engine = (view as { [ENGINE]?: PushEngine })[ENGINE];
  if (!engine) throw new Error("ctx.push has no gateway engine: only the push service may serve connections");
  return engine;
}

export interface PushPart extends PlatformPart<PushView> {
  readonly engine: PushEngine;
}

export async function openPushPart(host: PartHost): Promise<PushPart> {
  const log = host.log.child({ component: "push" });
  const origin = `${hostname()}/${host.ids.nodeId}/${process.pid}/${Math.random().toString(36).slice(2, 8)}`;
  // Between hosts through Redis; between the workers of one bundle (--workers) through the primary.
  const broker = host.config.redis
    ? new RedisBroker({ url: host.config.redis, origin, log })
    : host.worker.count > 1
      ? new IpcBroker()
      : undefined;
  const engine = new PushEngine({ db: host.db, log, origin, broker });
  const view = (def: ServiceDef): PushView => {
    const v: PushView = {
      toUsers: (tx, userIds, payload) => engine.toUsers(tx, userIds, payload),
      toUser: (tx, userId, payload) => engine.toUsers(tx, [userId], payload),
      toUsersMany: (tx, entries) => engine.toUsersMany(tx, entries),
      ephemeral: (channel, payload) => engine.ephemeral(channel, payload),
      presence: (channel) => engine.presence(channel),
      removeFromChannel: (channel, userId, reason) => engine.removeFromChannel(channel, userId, reason),
      authorizeChannels: (prefix, may: ChannelAuthorizer) => engine.authorizeChannels(prefix, may),
    };
    if (def.name === "push") Object.defineProperty(v, ENGINE, { value: engine });
    return Object.freeze(v);
  };
  return {
    engine,
    view,
    start: () => engine.start(),
    stop: () => engine.close(),
  };
}
