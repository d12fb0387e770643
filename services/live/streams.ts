/**
 * Streams and their keys in the database, and the state machine the ingest
 * drives:
 *
 *   CreateStream ─▶ scheduled ──(first segment ready)──▶ live ──(publisher left,
 *   silent, a cap, EndStream)──▶ ended
 *                   ▲                                     │
 *                   └──────────── RotateKey ──────────────┘ (the stream may be published again)
 *
 * Keys are stored as SHA-256 with an expiry and a revocation time;
 * `authorize` is the ingest's hook (keys.ts `checkKey` over these rows). Each
 * change publishes StreamStateChanged in its transaction and is handed to
 * `onChange` after commit (the push of StreamUpdate).
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { StreamStateChangedSchema } from "../../gen/orbit/live/v1/events_pb.js";
import { type Stream, StreamSchema, StreamState } from "../../gen/orbit/live/v1/live_pb.js";
import type { StreamRow } from "../../gen/orbit/live/v1/tables_pb.js";
import { StreamKeyRowDao, StreamRowDao } from "../../gen/orbit/live/v1/tables_db.js";
import type { ServiceEvents } from "../../platform/events/service-events.js";
import type { IdGenerator } from "../../platform/ids.js";
import type { Logger } from "../../platform/log.js";
import type { SqlDb, SqlTx } from "../../platform/storage/driver.js";
import type { Authorization } from "./ingest.js";
import { checkKey, hashStreamKey, newStreamKey } from "./keys.js";

export interface StreamUrls {
  /** Base of viewers' URLs ("" = paths on this bundle's port). */
  readonly publicUrl: string;
  /** rtmp://host:port/live, once the ingest listens. */
  ingestUrl(): Promise<string>;
}

/** end_reason of a stream whose node died while it was live. */
export const NODE_LOST = "node-lost";

export interface IssuedKey {
  readonly key: string;
  readonly expiresAtMs: bigint;
}

export class LiveStreams {
  private readonly streams: StreamRowDao;
  private readonly keys: StreamKeyRowDao;

  constructor(
    private readonly db: SqlDb,
    private readonly events: ServiceEvents,
    private readonly ids: IdGenerator,
    private readonly urls: StreamUrls,
    private readonly keyTtlMs: number,
    private readonly log: Logger,
    private readonly onChange: (stream: Stream) => void = () => undefined,
  ) {
    this.streams = new StreamRowDao(db);
    this.keys = new StreamKeyRowDao(db);
  }

  toApi(row: StreamRow): Stream {
    const base = `${this.urls.publicUrl.replace(/\/$/, "")}/live/${row.id}`;
    return create(StreamSchema, {
      id: row.id,
      state: row.state as StreamState,
      hlsUrl: `${base}/index.m3u8`,
      flvUrl: `${base}.flv`,
      ownerId: row.ownerId,
      title: row.title,
      communityId: row.communityId,
      createdAtMs: row.createdAtMs,
      startedAtMs: row.startedAtMs,
      endedAtMs: row.endedAtMs,
      endReason: row.endReason,
      recordingMediaId: row.recordingMediaId,
    });
  }

  async get(id: bigint): Promise<StreamRow> {
    const row = await this.streams.get({ id });
    if (!row) throw new ConnectError("stream not found", Code.NotFound);
    return row;
  }

  /** The stream, if `userId` owns it: NotFound / PermissionDenied otherwise. */
  async owned(id: bigint, userId: bigint): Promise<StreamRow> {
    const row = await this.get(id);
    if (row.ownerId !== userId) throw new ConnectError("only the stream's owner may do this", Code.PermissionDenied);
    return row;
  }

  async create(ownerId: bigint, title: string, communityId: bigint): Promise<{ row: StreamRow; key: IssuedKey }> {
    const now = BigInt(Date.now());
    const row: StreamRow = {
      $typeName: "orbit.live.v1.StreamRow",
      id: this.ids.next(),
      ownerId,
      title,
      communityId,
      state: StreamState.SCHEDULED,
      createdAtMs: now,
      startedAtMs: 0n,
      endedAtMs: 0n,
      endReason: "",
      recordingMediaId: 0n,
      nodeId: 0,
    };
    const key = await this.db.transaction(async (tx) => {
      await new StreamRowDao(tx).insert(row);
      const k = await this.issueKey(tx, row.id, now);
      await this.publish(tx, row, "created");
      return k;
    });
    this.onChange(this.toApi(row));
    return { row, key };
  }

  /** Revokes every key of the stream and issues a new one (refused once the stream has ended). */
  async rotate(id: bigint, userId: bigint): Promise<{ row: StreamRow; key: IssuedKey }> {
    const row = await this.owned(id, userId);
    if (row.state === StreamState.ENDED)
      throw new ConnectError("the stream has ended; create a new one", Code.FailedPrecondition);
    const now = BigInt(Date.now());
    const key = await this.db.transaction(async (tx) => {
      const keys = new StreamKeyRowDao(tx);
      let token = "";
      do {
        const page = await keys.listByStreamId({ streamId: id }, { limit: 100, pageToken: token });
        for (const k of page.rows)
          if (k.revokedAtMs === 0n) await keys.update({ keyHash: k.keyHash }, { revokedAtMs: now });
        token = page.nextPageToken;
      } while (token);
      return this.issueKey(tx, id, now);
    });
    return { row, key };
  }

  /** The ingest's authorization hook: a key's stream, or why it is refused. */
  authorize = async (_streamPath: string, key: string): Promise<Authorization> => {
    const k = await this.keys.get({ keyHash: hashStreamKey(key) });
    if (!k) return checkKey(undefined, Date.now());
    const s = await this.streams.get({ id: k.streamId });
    return checkKey(
      {
        streamId: String(k.streamId),
        keyHash: k.keyHash,
        revokedAt: k.revokedAtMs ? Number(k.revokedAtMs) : undefined,
        expiresAt: Number(k.expiresAtMs),
        streamEnded: !s || s.state === StreamState.ENDED,
      },
      Date.now(),
    );
  };

  /** The ingest of node `nodeId` says the stream is playable. */
  async markLive(id: bigint, nodeId: number): Promise<StreamRow | undefined> {
    return this.transition(id, (row) =>
      row.state === StreamState.ENDED
        ? undefined
        : { state: StreamState.LIVE, startedAtMs: BigInt(Date.now()), endReason: "", nodeId },
    );
  }

  /** Media accepted the stream's recording (the latest publish's, after a RotateKey). */
  async setRecording(id: bigint, mediaId: bigint): Promise<void> {
    await this.streams.update({ id }, { recordingMediaId: mediaId });
  }

  /**
   * The publish ended (`reason` from the ingest, or "ended" by EndStream):
   * ended for good, except after RotateKey, which only disconnects the
   * publisher of the old key (scheduled again).
   */
  async markEnded(id: bigint, reason: string): Promise<StreamRow | undefined> {
    return this.transition(id, (row) => {
      if (row.state === StreamState.ENDED) return undefined;
      if (reason === "key-rotated")
        return row.state === StreamState.SCHEDULED ? undefined : { state: StreamState.SCHEDULED, nodeId: 0 };
      return { state: StreamState.ENDED, endedAtMs: BigInt(Date.now()), endReason: reason, nodeId: 0 };
    });
  }

  /**
   * Ends (reason `node-lost`, pushed like any end) the streams left `live` by a node that is gone:
   * one whose node-id lease has ended (`expired`), or this node's own id from before this process
   * started (`restartedAtMs`: a previous holder of the id died and it was leased again).
   */
  async sweepLost(
    myNodeId: number,
    restartedAtMs: number,
    expired: (nodeIds: number[]) => Promise<Set<number>>,
  ): Promise<bigint[]> {
    const live: StreamRow[] = [];
    let token = "";
    do {
      const page = await this.streams.listByState({ state: StreamState.LIVE }, { limit: 500, pageToken: token });
      live.push(...page.rows.filter((r) => r.nodeId !== 0));
      token = page.nextPageToken;
    } while (token);
    const others = [...new Set(live.map((r) => r.nodeId).filter((n) => n !== myNodeId))];
    const gone = await expired(others);
    const lost = live.filter((r) =>
      r.nodeId === myNodeId ? r.startedAtMs < BigInt(restartedAtMs) : gone.has(r.nodeId),
    );
    const ended: bigint[] = [];
    for (const r of lost) {
      const done = await this.transition(r.id, (row) =>
        row.state === StreamState.LIVE && row.nodeId === r.nodeId
          ? { state: StreamState.ENDED, endedAtMs: BigInt(Date.now()), endReason: NODE_LOST, nodeId: 0 }
          : undefined,
      );
      if (done) ended.push(r.id);
    }
    return ended;
  }

  async listLive(communityId: bigint, pageSize: number, pageToken: string) {
    const page = communityId
      ? await this.streams.listByCommunityIdState(
          { communityId, state: StreamState.LIVE },
          { limit: pageSize, pageToken, order: "desc" },
        )
      : await this.streams.listByState({ state: StreamState.LIVE }, { limit: pageSize, pageToken, order: "desc" });
    return { streams: page.rows.map((r) => this.toApi(r)), nextPageToken: page.nextPageToken };
  }

  private async transition(
    id: bigint,
    change: (
      row: StreamRow,
    ) => Partial<Pick<StreamRow, "state" | "startedAtMs" | "endedAtMs" | "endReason" | "nodeId">> | undefined,
  ): Promise<StreamRow | undefined> {
    const next = await this.db.transaction(async (tx) => {
      const dao = new StreamRowDao(tx);
      const row = await dao.get({ id });
      if (!row) return undefined;
      const patch = change(row);
      if (!patch) return undefined;
      await dao.update({ id }, patch);
      const updated = { ...row, ...patch };
      await this.publish(tx, updated, updated.endReason);
      return updated;
    });
    if (next) {
      this.log.info({ streamId: String(id), state: StreamState[next.state], reason: next.endReason }, "stream state");
      this.onChange(this.toApi(next));
    }
    return next;
  }

  private async issueKey(tx: SqlTx, streamId: bigint, now: bigint): Promise<IssuedKey> {
    const key = newStreamKey();
    const expiresAtMs = now + BigInt(this.keyTtlMs);
    await new StreamKeyRowDao(tx).insert({
      keyHash: hashStreamKey(key),
      streamId,
      createdAtMs: now,
      expiresAtMs,
      revokedAtMs: 0n,
    });
    return { key, expiresAtMs };
  }

  private publish(tx: SqlTx, row: StreamRow, reason: string): Promise<void> {
    return this.events.publish(tx, StreamStateChangedSchema, {
      streamId: row.id,
      ownerId: row.ownerId,
      communityId: row.communityId,
      state: row.state,
      atMs: BigInt(Date.now()),
      reason,
    });
  }
}
