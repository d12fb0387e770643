/**
 * Error handling shared by both call paths, so that a caller sees the same
 * ConnectError (code, message, details, metadata) whether its callee ran in
 * its own process or in another one.
 */
import { clone, create, type DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { isStoreUnavailable } from "../storage/unavailable.js";

/**
 * What a handler's failure becomes on the wire: a ConnectError as thrown, the
 * call's abort reason when the handler failed because its signal was aborted
 * (deadline, cancellation, shutdown), Unavailable when a store is down or
 * overloaded (StoreUnavailableError: retry later), and otherwise Internal
 * with the message "internal error" (the original is kept as `cause` and
 * logged, never sent).
 */
/** Error names the storage layer throws for bad input (PageOptionError, WideInputError, SqlInputError, DeleteLimitError). */
const CALLER_ERRORS = new Set(["PageOptionError", "WideInputError", "SqlInputError", "DeleteLimitError"]);

export function handlerError(err: unknown, signal?: AbortSignal): ConnectError {
  if (err instanceof ConnectError) return err;
  if (signal?.aborted && signal.reason instanceof ConnectError) return signal.reason;
  // Bad input caught by the storage layer (a garbled page token, a limit or
  // value out of range) is the caller's mistake, not ours.
  if (err instanceof Error && CALLER_ERRORS.has(err.name)) {
    return new ConnectError(err.message, Code.InvalidArgument, undefined, undefined, err);
  }
  // A store gave up on a statement at the call's deadline (platform/deadline.ts).
  if (err instanceof Error && err.name === "StoreDeadlineError") {
    return new ConnectError("the call's deadline passed", Code.DeadlineExceeded, undefined, undefined, err);
  }
  // Which store and why stays in the logs: the caller learns only to retry.
  if (isStoreUnavailable(err)) {
    return new ConnectError(
      "a store this call needs is unavailable; retry later",
      Code.Unavailable,
      undefined,
      undefined,
      err,
    );
  }
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}

/**
 * A fresh copy of `err` for another party: same code, message and details
 * (deep-copied), with `metadata` merged from the given headers (response
 * headers and trailers, as a network client would see them).
 */
export function copyError(err: ConnectError, ...metadata: Headers[]): ConnectError {
  const md = new Headers();
  for (const h of [...metadata, err.metadata]) h.forEach((v, k) => md.set(k, v));
  const copy = new ConnectError(err.rawMessage, err.code, md);
  copy.details = err.details.map((d) =>
    "desc" in d
      ? { desc: d.desc, value: clone(d.desc as DescMessage, create(d.desc as DescMessage, d.value)) }
      : { type: d.type, value: d.value.slice(), debug: d.debug },
  );
  return copy;
}

const CODE_LABELS = new Map<number, string>();
for (const [name, value] of Object.entries(Code)) {
  if (typeof value === "number") {
    CODE_LABELS.set(value, name[0]!.toLowerCase() + name.slice(1).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
  }
}

/** "ok", or the Connect name of an error code ("deadline_exceeded"). */
export function codeLabel(code: Code | undefined): string {
  return code === undefined ? "ok" : (CODE_LABELS.get(code) ?? String(code));
}

/** Codes that say the caller did something wrong, not the server. */
const CLIENT_CODES = new Set<Code>([
  Code.Canceled,
  Code.InvalidArgument,
  Code.NotFound,
  Code.AlreadyExists,
  Code.PermissionDenied,
  Code.ResourceExhausted,
  Code.FailedPrecondition,
  Code.Aborted,
  Code.OutOfRange,
  Code.Unauthenticated,
]);

export function isClientError(code: Code): boolean {
  return CLIENT_CODES.has(code);
}

const TRANSPORT_CODES = new Set<Code>([Code.Unavailable, Code.Aborted, Code.Internal, Code.Unknown]);

/**
 * The call failed without an answer from the peer: connection refused or
 * reset, HTTP/2 session failure. Such errors are made on the client side
 * from a Node.js error (kept as `cause`); an error the peer sent has none.
 */
export function isTransportFailure(err: unknown): boolean {
  if (!(err instanceof ConnectError)) return false;
  return err.cause !== undefined && !(err.cause instanceof ConnectError) && TRANSPORT_CODES.has(err.code);
}
