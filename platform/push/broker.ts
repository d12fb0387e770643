/**
 * How push reaches other bundles: a pub/sub broker (Redis, --redis; see
 * redis-broker.ts). One bundle alone needs none. The broker carries
 * BrokerMessage (proto/internal/orbit/push/v1/broker.proto): durable updates
 * after they committed, ephemeral updates, session revocations, channel
 * authorization requests, presence changes. Losing a durable message is
 * harmless: a gateway notices the gap by sequence, or sweeps its connected
 * users' streams after the broker comes back, and reads the store.
 */
export interface Broker {
  /** For logs and health: "redis://host:6379". */
  readonly name: string;
  /** Connects and subscribes; rejects if the broker cannot be reached at all. */
  start(onMessage: (msg: Uint8Array) => void, onReconnect: () => void): Promise<void>;
  /**
   * Publishes; never throws. While the broker is down a message is dropped,
   * unless `keep` (durable updates, revocations): those are published once it is back.
   */
  publish(msg: Uint8Array, keep?: boolean): void;
  /** Whether the broker is connected now. */
  readonly connected: boolean;
  /** Shared presence: the members of channels across gateways (undefined when the broker keeps none). */
  readonly presence?: SharedPresence;
  close(): Promise<void>;
}

/** Presence kept where every bundle can read it. */
export interface SharedPresence {
  /** `member` ("<userId>") joined `channel` through connection `conn` of this process. */
  add(channel: string, conn: string, userId: bigint, sinceMs: number): Promise<void>;
  remove(channel: string, conn: string): Promise<void>;
  /** Members of `channel` across live processes: user → earliest since. */
  members(channel: string): Promise<Map<bigint, number>>;
  /** Whether each user has a connection open on any live gateway. */
  online(userIds: readonly bigint[]): Promise<Set<bigint>>;
  /** This process's users with a connection open (refreshed by the engine). */
  setOnline(userId: bigint, online: boolean): Promise<void>;
}
