/**
 * The event bus: a batched, durable event log in the SQL store, with
 * consumer groups, retries, dead letters, replay and retention.
 * See docs/events.md.
 */
export { EventBus, type EventBusOptions, type EventBusStats, type EventItem } from "./bus.js";
export type { Consumer, ConsumerState } from "./consumer.js";
export type { CommitMode, ConsumerOptions, Delivered, HandlerContext } from "./consumer-options.js";
export type { DeadLetter, DeadLetterState } from "./dead-letters.js";
export type { EventInput } from "./encode.js";
export {
  EventBusClosedError,
  EventBusConfigError,
  EventDefinitionError,
  EventTooLargeError,
  LeaseLostError,
  UnknownGroupError,
  UnknownTopicError,
} from "./errors.js";
export { eventType, type EventType } from "./event-type.js";
export type { GroupRow } from "./group-store.js";
export { firstDelivery } from "./inbox.js";
export type { GroupLag } from "./lag.js";
export type { EventLogger } from "./logger.js";
export { EventRegistry } from "./registry.js";
export type { RetentionOptions, RetentionResult } from "./retention.js";
export { ensureEventTables, eventTablesDdl } from "./tables.js";
