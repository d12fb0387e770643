/**
 * A store that cannot answer right now — its nodes are down, unreachable,
 * overloaded or timed out — as opposed to a bug or bad input. RPCs turn it
 * into Connect's Unavailable (retry later), and event consumers wait for the
 * store to come back instead of counting the failure as an attempt.
 * Checked by name (`isStoreUnavailable`), so that layers above storage need
 * not import it.
 */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
  constructor(
    /** Which store: "cassandra", "mysql", … */
    readonly store: string,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True when `err` (or an error it wraps, through `cause`) is a StoreUnavailableError. */
export function isStoreUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e.name === "StoreUnavailableError") return true;
  }
  return false;
}
