/**
 * Turns a message into a log row (topic, key, protobuf binary payload) and a
 * log row back into a message, with the size checks that keep bad input out
 * of the log.
 */
import { create, isMessage } from "@bufbuild/protobuf";
import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { EventDefinitionError, EventTooLargeError } from "./errors.js";
import { codecFor } from "./codec.js";
import { eventType, type EventType, MAX_KEY_BYTES } from "./event-type.js";
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
  input ??= {} as EventInput<Desc>; // what create(schema, undefined) makes: the zero message
  const other = (input as { $typeName?: unknown }).$typeName;
  if (other !== undefined && other !== schema.typeName) {
    throw new EventDefinitionError(`publish: the message is a ${String(other)}, not a ${schema.typeName}`);
  }
  // An init object is encoded as is (no create(): the codec reads absent
  // fields as zero values), exactly the bytes of toBinary(create(init)).
  const payload = codecFor(schema).encode(input);
  if (payload.byteLength > maxPayloadBytes) {
    throw new EventTooLargeError(
      `${type.typeName} on topic "${type.topic}" encodes to ${payload.byteLength} bytes, over the bus limit of ` +
        `${maxPayloadBytes} bytes: store large content elsewhere (e.g. the media store) and publish a reference`,
    );
  }
  const key = keyOf(type, schema, input);
  if (key.length > MAX_KEY_BYTES && Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new EventTooLargeError(
      `${type.typeName}: ordering key from field "${type.keyField?.name}" is ${Buffer.byteLength(key)} bytes, over ${MAX_KEY_BYTES}`,
    );
  }
  return { topic: type.topic, key, payload, createdMs: nowMs };
}

/** The ordering key of a message or an init object: what keyOf(create(schema, input)) gives. */
function keyOf<Desc extends DescMessage>(type: EventType<Desc>, schema: Desc, input: EventInput<Desc>): string {
  const field = type.keyField;
  if (!field) return "";
  if (isMessage(input, schema)) return type.keyOf(input);
  const v = (input as Record<string, unknown>)[field.localName];
  const t = typeof v;
  if (t === "string" || t === "bigint" || t === "number" || t === "boolean") {
    return type.keyOf(input as MessageShape<Desc>);
  }
  // Absent (the zero value's key) or a value create() converts (bytes from an array).
  return type.keyOf(create(schema, input as MessageInitShape<Desc>));
}

export function decodeEvent<Desc extends DescMessage>(schema: Desc, payload: Uint8Array): MessageShape<Desc> {
  return codecFor(schema).decode(payload);
}
