/**
 * Turns a message into a log row (topic, key, protobuf binary payload) and a
 * log row back into a message, with the size checks that keep bad input out
 * of the log.
 */
import { create, fromBinary, isMessage, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { EventDefinitionError, EventTooLargeError } from "./errors.js";
import { eventType, MAX_KEY_BYTES } from "./event-type.js";
import type { LogRow } from "./log-writer.js";

/** Default largest payload: 1 MiB (the MySQL column holds 16 MiB). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1 << 20;

/** A message, or the init object `create(schema, init)` accepts. */
export type EventInput<Desc extends DescMessage> = MessageShape<Desc> | MessageInitShape<Desc>;

export function encodeEvent<Desc extends DescMessage>(
  schema: Desc,
  input: EventInput<Desc>,
  maxPayloadBytes: number = DEFAULT_MAX_PAYLOAD_BYTES,
  nowMs: number = Date.now(),
): LogRow {
  const type = eventType(schema);
  let message: MessageShape<Desc>;
  if (isMessage(input, schema)) {
    message = input;
  } else {
    const other = (input as { $typeName?: unknown } | null)?.$typeName;
    if (other !== undefined) {
      throw new EventDefinitionError(`publish: the message is a ${String(other)}, not a ${schema.typeName}`);
    }
    message = create(schema, input as MessageInitShape<Desc>);
  }
  const payload = toBinary(schema, message);
  if (payload.byteLength > maxPayloadBytes) {
    throw new EventTooLargeError(
      `${type.typeName} on topic "${type.topic}" encodes to ${payload.byteLength} bytes, over the bus limit of ` +
        `${maxPayloadBytes} bytes: store large content elsewhere (e.g. the media store) and publish a reference`,
    );
  }
  const key = type.keyOf(message);
  if (key.length > MAX_KEY_BYTES && Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new EventTooLargeError(
      `${type.typeName}: ordering key from field "${type.keyField?.name}" is ${Buffer.byteLength(key)} bytes, over ${MAX_KEY_BYTES}`,
    );
  }
  return { topic: type.topic, key, payload, createdMs: nowMs };
}

export function decodeEvent<Desc extends DescMessage>(schema: Desc, payload: Uint8Array): MessageShape<Desc> {
  return fromBinary(schema, payload);
}
