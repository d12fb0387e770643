/**
 * Frames of the push protocol. A durable update is stored as its payload
 * (an encoded Update with only the oneof and channel set) and framed for a
 * device by prepending `sequence` and `at_ms`: protobuf fields may come in any
 * order, so the stored bytes are never decoded on the way to a binary client.
 */
import { create, fromBinary, toBinary, toJsonString, type MessageInitShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { type Update, UpdateSchema } from "../../gen/orbit/push/v1/push_pb.js";

export type UpdatePayload = Update["payload"];
/** A payload as an init shape (plain objects for the message). */
export type PayloadInit = MessageInitShape<typeof UpdateSchema>["payload"];

/** Encodes a payload (and a channel, for ephemeral updates) without sequence and time. */
export function encodePayload(payload: PayloadInit, channel = ""): Uint8Array {
  return toBinary(UpdateSchema, create(UpdateSchema, { payload, channel }));
}

/** An encoded Update: `sequence` and `at_ms` followed by the stored payload bytes. */
export function frame(sequence: bigint, atMs: bigint, payload: Uint8Array): Uint8Array {
  const w = new BinaryWriter();
  if (sequence !== 0n) w.tag(1, WireType.Varint).uint64(sequence);
  if (atMs !== 0n) w.tag(2, WireType.Varint).int64(atMs);
  const head = w.finish();
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

/** A control update (hello, resync, heartbeat, …), encoded. */
export function control(payload: PayloadInit, atMs = BigInt(Date.now())): Uint8Array {
  return toBinary(UpdateSchema, create(UpdateSchema, { atMs, payload }));
}

/** The JSON text of an encoded Update (for JSON connections). */
export function toJsonFrame(bytes: Uint8Array): string {
  return toJsonString(UpdateSchema, fromBinary(UpdateSchema, bytes));
}

export function decodeUpdate(bytes: Uint8Array): Update {
  return fromBinary(UpdateSchema, bytes);
}
