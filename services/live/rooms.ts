/**
 * Watch-together rooms: the room row in the database, and per room on this
 * bundle its authoritative clock (sync/room-clock.ts) and its members. The
 * host (or any member when `anyone_controls`) plays, pauses, seeks and sets
 * the rate; members report buffering (the room waits 3 s, never in a loop).
 * Every change — clock, buffering pause, members joining or leaving, the host
 * handing over — is handed to `onChange` (service.ts pushes it as RoomUpdate
 * on the gateway's ephemeral channel "room:<id>", which only members may join).
 *
 * A room's clock lives in the process that serves its RPCs (one bundle runs
 * the live service per deployment for now); after a restart a room starts
 * paused at 0 (not persisted).
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  ControlAction,
  type Room,
  type RoomMember,
  RoomMemberSchema,
  RoomSchema,
  type RoomState as RoomStateMsg,
  RoomStateSchema,
  type RoomUpdate,
  RoomUpdateSchema,
} from "../../gen/orbit/live/v1/room_pb.js";
import type { RoomRow } from "../../gen/orbit/live/v1/tables_pb.js";
import { RoomRowDao } from "../../gen/orbit/live/v1/tables_db.js";
import type { IdGenerator } from "../../platform/ids.js";
import type { SqlDb } from "../../platform/storage/driver.js";
import { RoomClock, RoomClockError, type RoomAction, type RoomState } from "./sync/room-clock.js";

interface Live {
  /** hostId changes when the host leaves (the longest-joined member takes over). */
  row: RoomRow;
  readonly clock: RoomClock;
  readonly members: Map<bigint, { joinedAtMs: bigint; buffering: boolean }>;
  /** The room chat being created for a room that had none (one creation per room). */
  chat?: Promise<bigint>;
}

export interface NewRoom {
  readonly hostId: bigint;
  readonly streamId: bigint;
  readonly mediaId: bigint;
  readonly communityId: bigint;
  readonly title: string;
  readonly mediaUrl: string;
  readonly anyoneControls: boolean;
  readonly durationMs: bigint;
  /** The room's chat (a chat conversation of kind ROOM), 0 if not created yet. */
  readonly conversationId: bigint;
  readonly slowModeMs: number;
}

const ACTIONS: Record<number, RoomAction> = {
  [ControlAction.PLAY]: "PLAY",
  [ControlAction.PAUSE]: "PAUSE",
  [ControlAction.SEEK]: "SEEK",
  [ControlAction.RATE]: "RATE",
};

export class Rooms {
  private readonly live = new Map<bigint, Live>();
  private readonly rows: RoomRowDao;

  constructor(
    db: SqlDb,
    private readonly ids: IdGenerator,
    private readonly onChange: (update: RoomUpdate) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.rows = new RoomRowDao(db);
  }

  async create(r: NewRoom): Promise<Room> {
    const row: RoomRow = {
      $typeName: "orbit.live.v1.RoomRow",
      id: this.ids.next(),
      ...r,
      createdAtMs: BigInt(this.now()),
    };
    await this.rows.insert(row);
    const live = this.open(row);
    live.members.set(r.hostId, { joinedAtMs: row.createdAtMs, buffering: false });
    return toRoom(row);
  }

  async get(id: bigint): Promise<Live> {
    const have = this.live.get(id);
    if (have) return have;
    const row = await this.rows.get({ id });
    if (!row) throw new ConnectError("room not found", Code.NotFound);
    return this.live.get(id) ?? this.open(row);
  }

  /** Whether `userId` joined room `roomId` (the push channel's authorization). */
  async isMember(roomId: string, userId: bigint): Promise<boolean> {
    if (!/^\d{1,20}$/.test(roomId)) return false;
    try {
      return (await this.get(BigInt(roomId))).members.has(userId);
    } catch {
      return false;
    }
  }

  room(l: Live): Room {
    return toRoom(l.row);
  }

  /**
   * The room's chat conversation: `create` makes it (the chat service) for a
   * room that has none yet — rooms made before room chat existed — and it is
   * stored on the room's row; concurrent joins share one creation.
   */
  async chatOf(l: Live, create: () => Promise<bigint>): Promise<bigint> {
    if (l.row.conversationId) return l.row.conversationId;
    l.chat ??= (async () => {
      const id = await create();
      await this.rows.update({ id: l.row.id }, { conversationId: id });
      l.row.conversationId = id;
      return id;
    })().finally(() => (l.chat = undefined));
    return l.chat;
  }

  async join(id: bigint, userId: bigint): Promise<Live> {
    const l = await this.get(id);
    if (!l.members.has(userId)) {
      l.members.set(userId, { joinedAtMs: BigInt(this.now()), buffering: false });
      this.changed(l);
    }
    return l;
  }

  /** The host leaving hands the room to the longest-joined member (if anyone is left). */
  async leave(id: bigint, userId: bigint): Promise<void> {
    const l = await this.get(id);
    if (!l.members.delete(userId)) return;
    l.clock.removeMember(String(userId));
    if (l.row.hostId === userId && l.members.size > 0) {
      const [next] = [...l.members.entries()].sort(([a, x], [b, y]) =>
        x.joinedAtMs === y.joinedAtMs ? (a < b ? -1 : 1) : x.joinedAtMs < y.joinedAtMs ? -1 : 1,
      )[0]!;
      await this.rows.update({ id }, { hostId: next });
      l.row = { ...l.row, hostId: next };
    }
    this.changed(l);
  }

  /** The rooms open on this bundle and their members. */
  *openRooms(): Iterable<[bigint, bigint[]]> {
    for (const l of this.live.values()) if (l.members.size) yield [l.row.id, [...l.members.keys()]];
  }

  /** The rooms open on this bundle that play stream `streamId` (its viewer count). */
  roomsOfStream(streamId: bigint): bigint[] {
    return [...this.live.values()].filter((l) => l.row.streamId === streamId).map((l) => l.row.id);
  }

  async control(
    id: bigint,
    userId: bigint,
    action: ControlAction,
    positionMs: bigint | undefined,
    rate: number,
  ): Promise<RoomStateMsg> {
    const l = await this.get(id);
    const isHost = l.row.hostId === userId;
    if (!isHost && !(l.row.anyoneControls && l.members.has(userId)))
      throw new ConnectError(
        l.row.anyoneControls ? "join the room to control it" : "only the room's host controls playback",
        Code.PermissionDenied,
      );
    const a = ACTIONS[action];
    if (!a) throw new ConnectError("action: must be PLAY, PAUSE, SEEK or RATE", Code.InvalidArgument);
    try {
      l.clock.control({
        action: a,
        positionMs: positionMs === undefined ? undefined : Number(positionMs),
        rate: a === "RATE" ? rate : undefined,
      });
    } catch (err) {
      if (err instanceof RoomClockError) throw new ConnectError(err.message, Code.InvalidArgument);
      throw err;
    }
    return this.changed(l);
  }

  async buffering(id: bigint, userId: bigint, buffering: boolean): Promise<RoomStateMsg> {
    const l = await this.get(id);
    const m = l.members.get(userId);
    if (!m) throw new ConnectError("join the room first", Code.FailedPrecondition);
    m.buffering = buffering;
    l.clock.reportBuffering(String(userId), buffering);
    return this.changed(l);
  }

  /** Applies the buffering grace of rooms with buffering members (a timer calls this). */
  tick(): void {
    for (const l of this.live.values()) {
      if (![...l.members.values()].some((m) => m.buffering)) continue;
      if (l.clock.tick()) this.changed(l);
    }
  }

  state(l: Live): RoomStateMsg {
    return toState(l.row.id, l.clock.state(), this.members(l));
  }

  members(l: Live): RoomMember[] {
    return [...l.members.entries()].map(([userId, m]) =>
      create(RoomMemberSchema, { userId, joinedAtMs: m.joinedAtMs, buffering: m.buffering }),
    );
  }

  private open(row: RoomRow): Live {
    const l: Live = {
      row,
      clock: new RoomClock({ now: this.now, durationMs: row.durationMs > 0n ? Number(row.durationMs) : undefined }),
      members: new Map(),
    };
    this.live.set(row.id, l);
    return l;
  }

  private changed(l: Live): RoomStateMsg {
    const s = this.state(l);
    this.onChange(create(RoomUpdateSchema, { roomId: l.row.id, state: s, hostId: l.row.hostId }));
    return s;
  }
}

function toRoom(row: RoomRow): Room {
  return create(RoomSchema, {
    id: row.id,
    hostId: row.hostId,
    streamId: row.streamId,
    mediaId: row.mediaId,
    communityId: row.communityId,
    title: row.title,
    mediaUrl: row.mediaUrl,
    anyoneControls: row.anyoneControls,
    createdAtMs: row.createdAtMs,
    durationMs: row.durationMs,
    conversationId: row.conversationId,
    slowModeMs: row.slowModeMs,
  });
}

export function toState(roomId: bigint, s: RoomState, members: RoomMember[]): RoomStateMsg {
  return create(RoomStateSchema, {
    roomId,
    playing: s.playing,
    positionMs: BigInt(Math.round(s.positionMs)),
    atServerTimeMs: BigInt(Math.round(s.atServerTimeMs)),
    rate: s.rate,
    seq: BigInt(s.seq),
    pausedFor: s.pausedFor ?? "",
    members,
  });
}
