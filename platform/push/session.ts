/**
 * One device's connection to its user's stream, whatever carries it (a
 * WebSocket, a Subscribe stream): the cursor that makes delivery exact.
 *
 * The session registers for live updates BEFORE it reads where the stream
 * is, so nothing committed in between is missed. It then holds `last`, the
 * sequence the device has: a live update at last+1 is sent at once; one at
 * or below `last` is a duplicate and dropped; one beyond last+1 (a message
 * the broker lost or reordered) makes the session read the gap from the
 * store, which has it (sequences of a user commit in order). While a
 * catch-up runs, live updates only mark it to read again.
 */
import { encodePayload, frame, control } from "./codec.js";
import type { PushEngine } from "./engine.js";

export type CloseKind = "slow" | "revoked" | "idle" | "rate" | "drain" | "error" | "malformed";

/** Where a session's frames go. */
export interface Sink {
  /** Queues an encoded Update. Returns false if the consumer is too slow: the sink has cut it off. */
  send(bytes: Uint8Array): boolean;
  /** Resolves once the sink can take more (paces a backlog); rejects or never resolves only if closed. */
  writable(): Promise<void>;
  /** Ends the connection with a reason. */
  close(kind: CloseKind, reason: string): void;
}

/** Updates read from the store per query while catching up. */
const PAGE = 256;

let counter = 0;

export class DeviceSession {
  readonly id: string;
  /** The sequence the device has. */
  last = 0n;
  closed = false;
  readonly channels = new Set<string>();
  /** ms of the last frame from / to the client (the gateway's heartbeat sweep reads them). */
  lastIn = Date.now();
  lastOut = Date.now();
  private catching = true;
  private again = false;

  constructor(
    private readonly engine: PushEngine,
    readonly userId: bigint,
    readonly sessionId: bigint | undefined,
    private readonly sink: Sink,
  ) {
    this.id = `${engine.origin}.${(++counter).toString(36)}`;
  }

  /**
   * Registers the session and sends Hello, then the backlog after `after`
   * (or a Resync). `after` 0: a new device, no backlog.
   */
  async open(after: bigint, timing: { heartbeatMs: number; idleTimeoutMs: number }): Promise<void> {
    const { engine } = this;
    engine.attach(this);
    try {
      const b = await engine.store.bounds(engine.db, this.userId);
      if (this.closed) return;
      let resync: { reason: string } | undefined;
      if (after === 0n || after === b.last) this.last = b.last;
      else if (after > b.last) resync = { reason: "ahead" };
      else if (b.firstKept !== undefined && b.firstKept <= after + 1n) this.last = after;
      else resync = { reason: "retention" };
      if (resync) this.last = b.last;
      this.push(
        control({
          case: "hello",
          value: {
            connectionId: this.id,
            userId: this.userId,
            lastSequence: b.last,
            resumed: resync === undefined && after !== 0n,
            heartbeatMs: timing.heartbeatMs,
            idleTimeoutMs: timing.idleTimeoutMs,
          },
        }),
      );
      if (resync) {
        this.push(
          control({
            case: "resync",
            value: { reason: resync.reason, lastSequence: b.last, firstKeptSequence: b.firstKept ?? 0n },
          }),
        );
      }
      // Read what came after `last` (the backlog, and anything committed meanwhile).
      await this.catchUp();
    } catch (err) {
      this.fail(err);
    }
  }

  /** A durable update of this user (live, from this process or the broker). */
  onDurable(sequence: bigint, framed: Uint8Array): void {
    if (this.closed) return;
    if (this.catching) {
      this.again = true;
      return;
    }
    if (sequence <= this.last) return;
    if (sequence === this.last + 1n) {
      this.last = sequence;
      this.push(framed);
      return;
    }
    void this.catchUp().catch((err) => this.fail(err));
  }

  /** Reads the store for anything after `last` (after a broker outage). */
  refresh(): void {
    if (this.closed) return;
    if (this.catching) this.again = true;
    else void this.catchUp().catch((err) => this.fail(err));
  }

  /** An ephemeral update of a channel this session joined (or a control frame). */
  push(bytes: Uint8Array): void {
    if (this.closed) return;
    this.lastOut = Date.now();
    if (!this.sink.send(bytes)) this.closed = true;
  }

  /** Reads the store from `last` until nothing new came in meanwhile. */
  async catchUp(): Promise<void> {
    this.catching = true;
    try {
      for (;;) {
        this.again = false;
        const rows = await this.engine.store.read(this.engine.db, this.userId, this.last, PAGE);
        for (const r of rows) {
          if (this.closed) return;
          if (r.sequence !== this.last + 1n) {
            // A hole in the stored stream (rows swept meanwhile): the device must resync.
            throw new Error(`stream of user ${this.userId} jumps from ${this.last} to ${r.sequence}`);
          }
          this.last = r.sequence;
          this.push(frame(r.sequence, r.atMs, r.payload));
        }
        if (this.closed) return;
        if (rows.length === PAGE) await this.sink.writable();
        else if (!this.again) break;
      }
    } finally {
      this.catching = false;
    }
  }

  /** Closes the connection (revocation, drain, limits). */
  close(kind: CloseKind, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.close(kind, reason);
  }

  /** The transport ended: leave channels, unregister. */
  ended(): void {
    this.closed = true;
    this.engine.detach(this);
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    this.engine.log.warn(
      { err, userId: String(this.userId), session: this.id },
      "push: closing a session after an error",
    );
    this.close("error", "the stream could not be read; reconnect with your last sequence");
  }
}

/** A channel-less ephemeral control frame for one session. */
export function ephemeralFrame(
  channel: string,
  payload: Parameters<typeof encodePayload>[0],
  atMs: bigint,
): Uint8Array {
  return frame(0n, atMs, encodePayload(payload, channel));
}
