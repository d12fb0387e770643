/**
 * The event types a bus knows, by topic. One topic carries one message type:
 * registering a second type under a taken topic is an error, so a consumer
 * can always decode what it reads.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import { EventDefinitionError, UnknownTopicError } from "./errors.js";
import { eventType, type EventType } from "./event-type.js";

export class EventRegistry {
  private readonly byTopicMap = new Map<string, EventType>();

  constructor(schemas: Iterable<DescMessage> = []) {
    for (const s of schemas) this.add(s);
  }

  /** Adds an event type (idempotent for the same type); returns its definition. */
  add<Desc extends DescMessage>(schema: Desc): EventType<Desc> {
    const type = eventType(schema);
    const had = this.byTopicMap.get(type.topic);
    if (had && had.typeName !== type.typeName) {
      throw new EventDefinitionError(
        `topic "${type.topic}" is declared by both ${had.typeName} and ${type.typeName}; a topic carries one message type`,
      );
    }
    if (!had) this.byTopicMap.set(type.topic, type as unknown as EventType);
    return type;
  }

  /** The type of a topic; throws UnknownTopicError naming the known topics. */
  byTopic(topic: string): EventType {
    const t = this.byTopicMap.get(topic);
    if (!t) {
      const known = [...this.byTopicMap.keys()].sort();
      throw new UnknownTopicError(
        `unknown topic "${topic}": no registered event type publishes it` +
          (known.length ? ` (known topics: ${known.join(", ")})` : " (no event types are registered)"),
      );
    }
    return t;
  }

  has(topic: string): boolean {
    return this.byTopicMap.has(topic);
  }

  topics(): string[] {
    return [...this.byTopicMap.keys()].sort();
  }
}
