/**
 * The deadline of the call the current code runs for, as the storage layer
 * sees it: stores bound their work by it (MySQL statement timeouts and pool
 * waits, Cassandra read timeouts) without depending on the RPC layer, which
 * registers where the deadline comes from (rpc/call-scope.ts).
 */
let source: () => number | undefined = () => undefined;

/** Called once by the RPC layer: where the current call's deadline (epoch ms) is read. */
export function setDeadlineSource(fn: () => number | undefined): void {
  source = fn;
}

/** Milliseconds left before the current call's deadline (at least 1), or undefined outside a call with one. */
export function msLeft(): number | undefined {
  const deadline = source();
  return deadline === undefined ? undefined : Math.max(1, deadline - Date.now());
}

/** The current call's deadline (epoch ms), or undefined outside a call with one. */
export function deadlineAt(): number | undefined {
  return source();
}
