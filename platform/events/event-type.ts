/**
 * What makes a proto message an event: the `(orbit.options.v1.event)` option
 * (topic, key_field), read by reflection. `eventType(schema)` validates the
 * option once per schema and caches the result.
 */
import { getOption, hasOption } from "@bufbuild/protobuf";
import type { DescField, DescMessage, MessageShape } from "@bufbuild/protobuf";
import { event as eventOption } from "../../gen/orbit/options/v1/options_pb.js";
import { EventDefinitionError } from "./errors.js";

/** Topic names: lower-case words joined by dots, dashes or underscores. */
const TOPIC_PATTERN = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
export const MAX_TOPIC_LENGTH = 128;
/** Longest ordering key, in UTF-8 bytes (the key column is varchar(255)). */
export const MAX_KEY_BYTES = 255;

export interface EventType<Desc extends DescMessage = DescMessage> {
  readonly schema: Desc;
  /** Fully qualified message name, e.g. "orbit.post.v1.PostCreated". */
  readonly typeName: string;
  readonly topic: string;
  /** The key field, or undefined when the event has no ordering key. */
  readonly keyField: DescField | undefined;
  /** The ordering key of a message ("" when the event has no key field). */
  keyOf(message: MessageShape<Desc>): string;
}

const cache = new WeakMap<DescMessage, EventType>();

/** Checks a topic name; returns it or throws EventDefinitionError. */
export function checkTopic(topic: string, where: string): string {
  if (!topic) throw new EventDefinitionError(`${where}: the event option has no topic`);
  if (topic.length > MAX_TOPIC_LENGTH || !TOPIC_PATTERN.test(topic)) {
    throw new EventDefinitionError(
      `${where}: topic "${topic}" is not valid (use lower-case words joined by ".", "_" or "-", ` +
        `at most ${MAX_TOPIC_LENGTH} characters, e.g. "post.created")`,
    );
  }
  return topic;
}

/** The event definition of `schema`; throws EventDefinitionError if it is not an event. */
export function eventType<Desc extends DescMessage>(schema: Desc): EventType<Desc> {
  const hit = cache.get(schema);
  if (hit) return hit as unknown as EventType<Desc>;
  if (schema?.kind !== "message") {
    throw new EventDefinitionError(`expected a message schema (e.g. PostCreatedSchema), got ${describe(schema)}`);
  }
  const where = `message ${schema.typeName}`;
  if (!hasOption(schema, eventOption)) {
    throw new EventDefinitionError(
      `${where} is not an event: it has no (orbit.options.v1.event) option. ` +
        `Add: option (orbit.options.v1.event) = { topic: "…" key_field: "…" };`,
    );
  }
  const opt = getOption(schema, eventOption);
  const topic = checkTopic(opt.topic, where);
  const keyField = opt.keyField ? findKeyField(schema, opt.keyField, where) : undefined;
  const type: EventType<Desc> = {
    schema,
    typeName: schema.typeName,
    topic,
    keyField,
    keyOf: keyField ? (m) => keyString((m as Record<string, unknown>)[keyField.localName]) : () => "",
  };
  cache.set(schema, type as unknown as EventType);
  return type;
}

function findKeyField(schema: DescMessage, name: string, where: string): DescField {
  const field = schema.fields.find((f) => f.name === name);
  if (!field) {
    const names = schema.fields.map((f) => f.name).join(", ");
    throw new EventDefinitionError(`${where}: key_field "${name}" is not a field of the message (fields: ${names})`);
  }
  if ((field.fieldKind !== "scalar" && field.fieldKind !== "enum") || field.oneof) {
    throw new EventDefinitionError(
      `${where}: key_field "${name}" must be a plain scalar or enum field (not a message, list, map or oneof member)`,
    );
  }
  return field;
}

function keyString(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
  return String(v);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === "object" && "kind" in v) return `a ${(v as { kind: string }).kind} descriptor`;
  return typeof v;
}
