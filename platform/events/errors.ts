/**
 * Errors the event bus throws for bad input or misuse. Each names what was
 * wrong and how to fix it.
 */

/** A message cannot be used as an event (no event option, bad topic or key field). */
export class EventDefinitionError extends Error {
  override readonly name = "EventDefinitionError";
}

/** A topic is not known to the bus's registry. */
export class UnknownTopicError extends Error {
  override readonly name = "UnknownTopicError";
}

/** An event's encoded payload or key is larger than the bus accepts. */
export class EventTooLargeError extends Error {
  override readonly name = "EventTooLargeError";
}

/** A consumer group does not exist in the store. */
export class UnknownGroupError extends Error {
  override readonly name = "UnknownGroupError";
}

/** Options passed to the bus or a consumer are inconsistent. */
export class EventBusConfigError extends Error {
  override readonly name = "EventBusConfigError";
}

/** The bus was closed; no more publishes or consumers. */
export class EventBusClosedError extends Error {
  override readonly name = "EventBusClosedError";
}

/**
 * A consumer no longer holds its group's lease (another process took it, or
 * the group was replayed): the work in progress is rolled back, not committed.
 */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
}
