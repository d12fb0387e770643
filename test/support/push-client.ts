/**
 * A push client for tests and the bench: a real WebSocket to /ws that
 * records every Update it receives (binary protobuf, or JSON), and how the
 * connection closed.
 */
import { create, fromBinary, fromJsonString, toBinary, toJsonString, type MessageInitShape } from "@bufbuild/protobuf";
import WebSocket from "ws";
import { ClientFrameSchema, type Update, UpdateSchema } from "../../gen/orbit/push/v1/push_pb.js";

export interface PushClientOptions {
  readonly token: string;
  /** The last sequence the device has (?after=). */
  readonly after?: bigint;
  /** JSON text frames (the subprotocol orbit.push.v1.json). */
  readonly json?: boolean;
  /** Send the token as the first frame instead of a header. */
  readonly firstFrame?: boolean;
}

export class PushClient {
  readonly updates: Update[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly closedP: Promise<{ code: number; reason: string }>;
  /** The HTTP status of a refused upgrade. */
  refusedStatus: number | undefined;

  private constructor(
    readonly ws: WebSocket,
    private readonly json: boolean,
  ) {
    ws.on("message", (data, isBinary) => {
      const buf = data as Buffer;
      this.updates.push(isBinary ? fromBinary(UpdateSchema, buf) : fromJsonString(UpdateSchema, buf.toString("utf8")));
    });
    ws.on("unexpected-response", (_req, res) => {
      this.refusedStatus = res.statusCode;
      ws.terminate();
    });
    ws.on("error", () => undefined);
    this.closedP = new Promise((resolve) =>
      ws.on("close", (code, reason) => {
        this.closed = { code, reason: reason.toString() };
        resolve(this.closed);
      }),
    );
  }

  /** Opens /ws on `baseUrl` (http://host:port). Resolves once open (not once Hello came). */
  static async connect(baseUrl: string, o: PushClientOptions): Promise<PushClient> {
    const url = `${baseUrl.replace(/^http/, "ws")}/ws${o.after !== undefined ? `?after=${o.after}` : ""}`;
    const ws = new WebSocket(url, o.json ? ["orbit.push.v1.json"] : [], {
      headers: o.firstFrame ? {} : { authorization: `Bearer ${o.token}` },
    });
    const c = new PushClient(ws, o.json === true);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("close", () => resolve());
      ws.once("error", (err) => (c.refusedStatus !== undefined ? resolve() : reject(err)));
    });
    if (o.firstFrame && ws.readyState === ws.OPEN) ws.send(`Bearer ${o.token}`);
    return c;
  }

  /** Sends a ClientFrame (binary, or JSON text on a JSON connection). */
  send(frame: MessageInitShape<typeof ClientFrameSchema>): void {
    const msg = create(ClientFrameSchema, frame);
    this.ws.send(this.json ? toJsonString(ClientFrameSchema, msg) : toBinary(ClientFrameSchema, msg));
  }

  /** The durable updates received, in order. */
  durable(): Update[] {
    return this.updates.filter((u) => u.sequence > 0n);
  }

  sequences(): bigint[] {
    return this.durable().map((u) => u.sequence);
  }

  /** The last durable sequence received (0 if none). */
  last(): bigint {
    const d = this.durable();
    return d.length ? d[d.length - 1]!.sequence : 0n;
  }

  of<K extends NonNullable<Update["payload"]["case"]>>(kind: K): Extract<Update["payload"], { case: K }>["value"][] {
    return this.updates.filter((u) => u.payload.case === kind).map((u) => u.payload.value) as never;
  }

  close(): Promise<{ code: number; reason: string }> {
    if (!this.closed) this.ws.close();
    return this.closedP;
  }
}
